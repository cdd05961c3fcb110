# tries to define a lambda | expect: f
_base_ = ['_base_/base.py']
f = lambda: 1
