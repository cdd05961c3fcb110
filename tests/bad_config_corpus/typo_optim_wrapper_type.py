# typo in the optim_wrapper type (OptimWraper) | expect: optim_wrapper.type
_base_ = ['_base_/base.py']
optim_wrapper = dict(type='OptimWraper')
