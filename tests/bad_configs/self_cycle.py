_base_ = ['self_cycle.py']
