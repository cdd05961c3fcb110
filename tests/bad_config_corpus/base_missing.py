# a _base_ file that does not exist | expect: _base_
_base_ = ['_base_/no_such_runtime.py']
