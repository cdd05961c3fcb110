# wrong type: max_iters is a string | expect: train_cfg.max_iters
_base_ = ['_base_/base.py']
train_cfg = dict(max_iters='8')
