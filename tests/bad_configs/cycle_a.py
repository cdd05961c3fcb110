# cycle: a -> b -> a
_base_ = ['cycle_b.py']
x = 1
