# calls a builtin that is not config data (globals) | expect: names
_base_ = ['_base_/base.py']
names = sorted(globals())
