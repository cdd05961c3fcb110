# helper for base_cyclic.py: bases back on it
_base_ = ['../base_cyclic.py']
y = 2
