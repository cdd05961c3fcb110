# unknown key in paramwise_cfg (bias_decay_mul) | expect: optim_wrapper.paramwise_cfg.bias_decay_mul
_base_ = ['_base_/base.py']
optim_wrapper = dict(paramwise_cfg=dict(bias_decay_mul=0.))
