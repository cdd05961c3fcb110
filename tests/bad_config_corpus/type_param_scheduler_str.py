# wrong type: param_scheduler is a string, not a list of dicts | expect: param_scheduler
_base_ = ['_base_/base.py']
param_scheduler = 'poly'
