# memory bomb 'a' * 10**12 | expect: s
_base_ = ['_base_/base.py']
s = 'a' * 10 ** 12
