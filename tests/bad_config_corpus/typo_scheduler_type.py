# typo in a scheduler type (PolyLRR) | expect: param_scheduler[1].type
_base_ = ['_base_/base.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLRR', eta_min=1e-4, power=0.9, begin=2, end=8, by_epoch=False),
]
