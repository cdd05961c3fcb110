# legacy 0.x key optimizer_config | expect: optimizer_config
_base_ = ['_base_/base.py']
optimizer_config = dict(grad_clip=dict(max_norm=1, norm_type=2))
optim_wrapper = None  # a 0.x config: no 1.x section beside the 0.x key
