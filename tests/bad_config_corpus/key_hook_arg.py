# unknown CheckpointHook argument (intervall) | expect: default_hooks.checkpoint.intervall
_base_ = ['_base_/base.py']
default_hooks = dict(checkpoint=dict(intervall=4))
