# Demo: a tiny ViT segmentor on the generated shapes dataset, trained with the seed tutorial's
# runtime settings scaled down to a few minutes on 2 CPU cores.
#   python -m lightning_runtime.demo                     (this config)
#   lightning-runtime fit --config configs/demo/seg_vit_shapes.py
_base_ = ['../_base_/default_runtime.py', '../_base_/schedules/schedule_20k.py']

# "Step 2: Import the new hook": registers the seed's NewHook in HOOKS.
custom_imports = dict(imports=['lightning_runtime.demo.hooks'], allow_failed_imports=False)

work_dir = 'work_dirs/seg_vit_shapes'
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))

num_classes = 4
crop_size = 32
max_iters = 600
warmup_iters = 60
val_interval = 200

# Data and model in LightningCLI form (class_path + init_args).
data = dict(
    class_path='lightning_runtime.demo.datamodule.ShapesDataModule',
    init_args=dict(batch_size=16, num_train=4096, num_val=256, image_size=crop_size,
                   num_classes=num_classes, seed=0))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
test_evaluator = val_evaluator
model = dict(
    class_path='lightning_runtime.demo.module.SegModule',
    init_args=dict(
        arch='tiny_vit',
        arch_args=dict(img_size=crop_size, patch_size=2, embed_dims=32, depth=2, num_heads=2,
                       head_channels=32),
        num_classes=num_classes,
        aux_loss_weight=0.4,
        val_evaluator=val_evaluator,
        test_evaluator=test_evaluator))

# Optimizer: AdamW with MAE's custom_keys (no weight decay on position embedding, class token and
# norms), bf16 autocast on CPU (fp16 + dynamic loss scale on GPU), gradient clipping.
optimizer = dict(type='AdamW', lr=0.002, betas=(0.9, 0.999), weight_decay=0.05)
optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    optimizer=optimizer,
    paramwise_cfg=dict(
        custom_keys={
            'pos_embed': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.),
            'norm': dict(decay_mult=0.),  # the seed's key; MMSeg's ViT names its LayerNorms ln1/ln2
            'ln': dict(decay_mult=0.),
        }),
    grad_clip=dict(max_norm=1, norm_type=2))

# Linear warmup, then poly decay to the end of training.
param_scheduler = [
    dict(type='LinearLR', by_epoch=False, start_factor=0.1, begin=0, end=warmup_iters),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=warmup_iters, end=max_iters, by_epoch=False),
]

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=val_interval)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=val_interval, max_keep_ckpts=2,
                    save_best='mIoU'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook', draw=True, interval=4))

# "Step 3: Modify the config": the seed's NewHook, run before the NORMAL hooks.
custom_hooks = [dict(type='NewHook', a=2, b=1, priority='ABOVE_NORMAL')]
