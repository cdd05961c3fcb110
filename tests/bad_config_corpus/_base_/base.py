# A small VALID base for the bad-config corpus: 8 iterations, validation at 4 and 8, CPU, no visualizer.
train_cfg = dict(type='IterBasedTrainLoop', max_iters=8, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005),
                     paramwise_cfg=dict(custom_keys={'norm': dict(decay_mult=0.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=2, end=8, by_epoch=False),
]
log_processor = dict(by_epoch=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=4, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=None)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
randomness = dict(seed=0)
model = dict(class_path='tiny_mod.TinyModule', init_args=dict(width=8))
data = dict(class_path='tiny_mod.TinyData', init_args=dict(n=32, batch_size=8))
trainer = dict(enable_progress_bar=False, enable_model_summary=False)
