# negative checkpoint interval (-5; only -1 means "never", as in MMEngine) | expect: default_hooks.checkpoint.interval
_base_ = ['_base_/base.py']
default_hooks = dict(checkpoint=dict(interval=-5))
