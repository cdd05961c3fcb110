# float16 AMP requested on a CPU-only machine | expect: optim_wrapper.dtype
_base_ = ['_base_/base.py']
optim_wrapper = dict(type='AmpOptimWrapper', dtype='float16', loss_scale='dynamic')
