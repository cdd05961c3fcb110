# negative weight-decay floor in a scheduler | expect: param_scheduler[0].eta_min
_base_ = ['_base_/base.py']
param_scheduler = [
    dict(type='CosineAnnealingParamScheduler', param_name='weight_decay', eta_min=-1e-4, begin=0, end=8,
         by_epoch=False),
]
