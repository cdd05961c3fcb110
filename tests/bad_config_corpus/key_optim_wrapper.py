# unknown key in optim_wrapper (clip_grads) | expect: optim_wrapper.clip_grads
_base_ = ['_base_/base.py']
optim_wrapper = dict(clip_grads=dict(max_norm=1.0))
