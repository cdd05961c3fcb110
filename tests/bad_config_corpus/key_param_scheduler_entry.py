# unknown argument in a param_scheduler entry (eta_minn) | expect: param_scheduler[1].eta_minn
_base_ = ['_base_/base.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', eta_minn=1e-4, power=0.9, begin=2, end=8, by_epoch=False),
]
