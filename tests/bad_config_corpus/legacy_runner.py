# legacy 0.x key runner | expect: runner
_base_ = ['_base_/base.py']
runner = dict(type='IterBasedRunner', max_iters=8)
