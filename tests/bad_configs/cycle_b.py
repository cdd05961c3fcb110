# cycle: b -> a -> b

_base_ = './cycle_a.py'
y = 2
