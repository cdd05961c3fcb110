# negative optimizer weight decay | expect: optim_wrapper.optimizer.weight_decay
_base_ = ['_base_/base.py']
optim_wrapper = dict(optimizer=dict(weight_decay=-0.0005))
