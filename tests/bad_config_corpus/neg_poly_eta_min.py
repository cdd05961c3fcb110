# negative lr floor: PolyLR(eta_min=-1.0) | expect: param_scheduler[1].eta_min
_base_ = ['_base_/base.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', eta_min=-1.0, power=0.9, begin=2, end=8, by_epoch=False),
]
