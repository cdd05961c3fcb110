# typo in a custom hook type (EMAHok) | expect: custom_hooks[0].type
_base_ = ['_base_/base.py']
custom_hooks = [dict(type='EMAHok')]
