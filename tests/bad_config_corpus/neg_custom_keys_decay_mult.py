# negative weight decay through a custom_keys multiplier | expect: optim_wrapper.paramwise_cfg.custom_keys.norm.decay_mult
_base_ = ['_base_/base.py']
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=-1.0)}))
