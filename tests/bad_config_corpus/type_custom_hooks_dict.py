# wrong type: custom_hooks is a dict, not a list | expect: custom_hooks
_base_ = ['_base_/base.py']
custom_hooks = dict(type='EMAHook')
