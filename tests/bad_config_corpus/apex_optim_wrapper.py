# ApexOptimWrapper (NVIDIA Apex) is not supported | expect: optim_wrapper.type
_base_ = ['_base_/base.py']
optim_wrapper = dict(type='ApexOptimWrapper', opt_level='O1')
