# save_best with validation switched off (val_cfg=None) | expect: default_hooks.checkpoint.save_best
_base_ = ['_base_/base.py']
val_cfg = None
default_hooks = dict(checkpoint=dict(save_best='mse', rule='less'))
