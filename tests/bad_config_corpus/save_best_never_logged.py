# save_best names a metric the model never logs (mIoU; TinyModule logs 'mse') | expect: default_hooks.checkpoint.save_best
_base_ = ['_base_/base.py']
default_hooks = dict(checkpoint=dict(save_best='mIoU', rule='greater'))
