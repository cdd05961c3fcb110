# typo in the optimizer constructor name | expect: optim_wrapper.constructor
_base_ = ['_base_/base.py']
optim_wrapper = dict(constructor='LayerDecayOptimizerConstructr',
                     paramwise_cfg=dict(_delete_=True, num_layers=2, layer_decay_rate=0.9))
