# typo in the optimizer type (AdamWW) | expect: optim_wrapper.optimizer.type
_base_ = ['_base_/base.py']
optim_wrapper = dict(optimizer=dict(_delete_=True, type='AdamWW', lr=0.001))
