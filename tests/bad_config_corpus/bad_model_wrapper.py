# unsupported model wrapper (FSDP via model_wrapper_cfg) | expect: model_wrapper_cfg.type
_base_ = ['_base_/base.py']
launcher = 'pytorch'
model_wrapper_cfg = dict(type='MMFullyShardedDataParallel')
