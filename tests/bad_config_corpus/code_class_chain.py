# tries a __class__ attribute chain | expect: x
_base_ = ['_base_/base.py']
x = ().__class__.__base__.__subclasses__()
