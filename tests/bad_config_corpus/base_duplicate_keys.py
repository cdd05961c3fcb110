# two bases both define optim_wrapper (the message names the key and both files) | expect: _base_
_base_ = ['_base_/base.py', '_base_/dup_optim.py']
