# unknown optimizer argument (momentun) | expect: optim_wrapper.optimizer.momentun
_base_ = ['_base_/base.py']
optim_wrapper = dict(optimizer=dict(momentun=0.9))
