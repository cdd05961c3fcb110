# cyclic _base_: this file -> _base_/cycle_b.py -> this file | expect: _base_
_base_ = ['_base_/cycle_b.py']
x = 1
