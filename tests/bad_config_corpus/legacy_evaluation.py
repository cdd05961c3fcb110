# legacy 0.x key evaluation | expect: evaluation
_base_ = ['_base_/base.py']
evaluation = dict(interval=4, metric='mIoU', pre_eval=True)
train_cfg = None  # a 0.x config: no 1.x section beside the 0.x key
val_cfg = None
