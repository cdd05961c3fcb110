# typo in a default hook type (CheckpointHok) | expect: default_hooks.checkpoint.type
_base_ = ['_base_/base.py']
default_hooks = dict(checkpoint=dict(type='CheckpointHok'))
