x = 1

_base_ = ['../does_not_exist/schedule.py']
