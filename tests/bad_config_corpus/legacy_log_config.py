# legacy 0.x key log_config | expect: log_config
_base_ = ['_base_/base.py']
log_config = dict(interval=50, hooks=[dict(type='TextLoggerHook', by_epoch=False)])
default_hooks = None  # a 0.x config: no 1.x section beside the 0.x key
