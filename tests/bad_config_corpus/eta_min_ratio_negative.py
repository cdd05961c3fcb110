# eta_min_ratio outside [0, 1] (-0.1) | expect: param_scheduler[1].eta_min_ratio
_base_ = ['_base_/base.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLRRatio', eta_min_ratio=-0.1, power=1.0, begin=2, end=8, by_epoch=False),
]
