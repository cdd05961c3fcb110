# tutorial grad_clip snippet with _delete_=True lost its optimizer | expect: optim_wrapper
_base_ = ['_base_/base.py']
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    grad_clip=dict(max_norm=1, norm_type=2))
