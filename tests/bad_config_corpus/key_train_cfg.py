# unknown key in train_cfg (max_iter) | expect: train_cfg.max_iter
_base_ = ['_base_/base.py']
train_cfg = dict(max_iter=8)
