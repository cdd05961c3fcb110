# Python syntax error | expect: <file>:3
_base_ = ['_base_/base.py']
train_cfg = dict(max_iters=8
