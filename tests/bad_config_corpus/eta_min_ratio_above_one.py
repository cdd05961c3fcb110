# eta_min_ratio outside [0, 1] (1.5) | expect: param_scheduler[0].eta_min_ratio
_base_ = ['_base_/base.py']
param_scheduler = [
    dict(type='CosineAnnealingLR', eta_min_ratio=1.5, T_max=8, begin=0, end=8, by_epoch=False),
]
