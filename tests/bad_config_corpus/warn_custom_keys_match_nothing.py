# custom_keys entry that matches no parameter (a WARNING, not an error: exit 0) | warns: paramwise_cfg.custom_keys['pos_embed'] matches no trainable parameter
_base_ = ['_base_/base.py']
optim_wrapper = dict(paramwise_cfg=dict(custom_keys={'pos_embed': dict(decay_mult=0.)}))
