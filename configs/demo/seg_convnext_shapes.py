# Demo: a tiny ConvNeXt segmentor on the shapes dataset with the seed's stage-wise learning-rate
# decay (LearningRateDecayOptimizerConstructor, decay_type='stage_wise'), AmpOptimWrapper and
# warmup-then-poly. Everything else (loops, hooks, NewHook, data) comes from seg_vit_shapes.py.
#   python -m lightning_runtime.demo --config configs/demo/seg_convnext_shapes.py
_base_ = ['./seg_vit_shapes.py']

work_dir = 'work_dirs/seg_convnext_shapes'
crop_size = 64  # ConvNeXt downsamples 32x: 64 px in gives a 2x2 feature map

data = dict(init_args=dict(image_size=crop_size))
model = dict(
    init_args=dict(
        _delete_=True,
        arch='tiny_convnext',
        arch_args=dict(depths=(1, 1, 3, 1), dims=(16, 32, 64, 128), head_channels=32),
        num_classes=4,
        aux_loss_weight=0.4,
        val_evaluator={{_base_.val_evaluator}},
        test_evaluator={{_base_.test_evaluator}}))

# The seed's SimCLR/ConvNeXt example scaled down: 4 stages -> num_layers=4 (stage ids 1..4, the
# heads get id 5 and the full lr; stage s gets lr * 0.9 ** (5 - s)).
optimizer = dict(type='AdamW', lr=0.002, betas=(0.9, 0.999), weight_decay=0.05)
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=optimizer,
    paramwise_cfg={
        'decay_rate': 0.9,
        'decay_type': 'stage_wise',
        'num_layers': 4
    },
    constructor='LearningRateDecayOptimizerConstructor',
    loss_scale='dynamic',
    grad_clip=dict(max_norm=1, norm_type=2))
