# the config's own assert fails | expect: <file>:4
_base_ = ['_base_/base.py']
max_iters = 8
assert max_iters % 16 == 0, 'max_iters must be a multiple of 16'
train_cfg = dict(max_iters=max_iters)
