# legacy 0.x key lr_config | expect: lr_config
_base_ = ['_base_/base.py']
lr_config = dict(policy='poly', power=0.9, min_lr=1e-4, by_epoch=False)
param_scheduler = None  # a 0.x config: no 1.x section beside the 0.x key
