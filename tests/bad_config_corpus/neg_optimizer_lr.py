# negative optimizer lr | expect: optim_wrapper.optimizer.lr
_base_ = ['_base_/base.py']
optim_wrapper = dict(optimizer=dict(lr=-0.01))
