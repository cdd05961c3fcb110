# legacy 0.x key runner | expect: runner
_base_ = ['_base_/base.py']
runner = dict(type='IterBasedRunner', max_iters=8)
train_cfg = None  # a 0.x config: no 1.x section beside the 0.x key
