# param_scheduler entry with end < begin | expect: param_scheduler[1].end
_base_ = ['_base_/base.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=6, end=4, by_epoch=False),
]
