# checkpoint rule is neither 'greater' nor 'less' | expect: default_hooks.checkpoint.rule
_base_ = ['_base_/base.py']
default_hooks = dict(checkpoint=dict(save_best='mse', rule='smaller'))
