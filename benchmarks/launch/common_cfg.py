# The run both sides of bench_launch.py train: the seed's runtime on a tiny MLP (model and data per side).
default_scope = 'mmengine'
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=16000)
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0005))
param_scheduler = [
    dict(type='LinearLR', by_epoch=False, start_factor=0.1, begin=0, end=1000),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=1000, end=160000, by_epoch=False),
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=16000),
    sampler_seed=dict(type='DistSamplerSeedHook'))
custom_hooks = [dict(type='FirstIterExit')]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='gloo'))
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
