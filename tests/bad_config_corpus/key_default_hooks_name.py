# unknown default_hooks key (checkpointt) | expect: default_hooks.checkpointt
_base_ = ['_base_/base.py']
default_hooks = dict(checkpointt=dict(type='CheckpointHook', interval=4))
