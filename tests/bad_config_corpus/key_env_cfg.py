# unknown key in env_cfg (cudnn_benchmarks) | expect: env_cfg.cudnn_benchmarks
_base_ = ['_base_/base.py']
env_cfg = dict(cudnn_benchmarks=True)
