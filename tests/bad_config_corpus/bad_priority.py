# bad priority name in custom_hooks (ABOVE_NORMALL) | expect: custom_hooks[0].priority
_base_ = ['_base_/base.py']
custom_hooks = [dict(type='EMAHook', priority='ABOVE_NORMALL')]
