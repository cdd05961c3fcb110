# negative logger interval | expect: default_hooks.logger.interval
_base_ = ['_base_/base.py']
default_hooks = dict(logger=dict(interval=-10))
