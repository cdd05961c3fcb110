# unknown EMAHook argument (momentumm) | expect: custom_hooks[0].momentumm
_base_ = ['_base_/base.py']
custom_hooks = [dict(type='EMAHook', momentumm=0.001)]
