# wrong type: default_hooks is a list, not a dict | expect: default_hooks
_base_ = ['_base_/base.py']
default_hooks = [dict(type='LoggerHook')]
