# del of an inherited key that does not exist (typo) | expect: <file>:3
_base_ = ['_base_/base.py']
del _base_.param_schedulr
param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=8)]
