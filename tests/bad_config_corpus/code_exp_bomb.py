# integer exponent bomb 10**10**10 | expect: n
_base_ = ['_base_/base.py']
n = 10 ** 10 ** 10
