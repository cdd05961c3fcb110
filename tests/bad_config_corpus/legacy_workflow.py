# legacy 0.x key workflow | expect: workflow
_base_ = ['_base_/base.py']
workflow = [('train', 1)]
