# negative val_interval | expect: train_cfg.val_interval
_base_ = ['_base_/base.py']
train_cfg = dict(val_interval=-4)
