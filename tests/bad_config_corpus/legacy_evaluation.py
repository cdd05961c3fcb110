# legacy 0.x key evaluation | expect: evaluation
_base_ = ['_base_/base.py']
evaluation = dict(interval=4, metric='mIoU', pre_eval=True)
