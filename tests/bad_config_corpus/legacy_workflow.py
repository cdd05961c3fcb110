# legacy 0.x key workflow | expect: workflow
_base_ = ['_base_/base.py']
workflow = [('train', 1)]
train_cfg = None  # a 0.x config: no 1.x section beside the 0.x key
