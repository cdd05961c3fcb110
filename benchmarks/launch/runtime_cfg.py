# lightning_runtime's side of bench_launch.py (lightning-runtime fit --config ...): the same run.
_base_ = ['./common_cfg.py']
custom_imports = dict(imports=['lit_side'], allow_failed_imports=False)
work_dir = 'work_dirs/bench_launch_runtime'
model = dict(class_path='lit_side.Net')
data = dict(class_path='lit_side.Data')
