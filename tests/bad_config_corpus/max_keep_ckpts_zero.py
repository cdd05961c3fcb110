# max_keep_ckpts=0 would delete every checkpoint | expect: default_hooks.checkpoint.max_keep_ckpts
_base_ = ['_base_/base.py']
default_hooks = dict(checkpoint=dict(max_keep_ckpts=0))
