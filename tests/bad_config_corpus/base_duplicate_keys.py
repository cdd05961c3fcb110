# two bases both define optim_wrapper | expect: optim_wrapper
_base_ = ['_base_/base.py', '_base_/dup_optim.py']
