# negative ReduceOnPlateau floor | expect: param_scheduler[0].min_value
_base_ = ['_base_/base.py']
param_scheduler = [dict(type='ReduceOnPlateauLR', monitor='loss', min_value=-0.1, by_epoch=False)]
