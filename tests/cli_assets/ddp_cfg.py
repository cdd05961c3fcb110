# Two ranks on CPU (gloo) under torchrun, launcher='pytorch', the tutorial's NewHook. (sync_bn='torch' cannot run on CPU: torch's DDP refuses SyncBatchNorm without CUDA.)
custom_imports = dict(imports=['lightning_runtime.demo.hooks', 'ddp_mod'], allow_failed_imports=False)
launcher = 'pytorch'
env_cfg = dict(dist_cfg=dict(backend='gloo'))
randomness = dict(seed=3, deterministic=True)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=12, val_interval=4)
val_cfg = dict(type='ValLoop')
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.25, by_epoch=False, begin=0, end=4),
    dict(type='PolyLR', eta_min=1e-3, power=1.0, begin=4, end=12, by_epoch=False),
]
log_processor = dict(by_epoch=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=4, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=4),
    visualization=None)
custom_hooks = [dict(type='NewHook', a=2, b=5, priority='ABOVE_NORMAL'), dict(type='DDPRecorderHook')]
model = dict(class_path='ddp_mod.DDPModule', init_args=dict(width=8))
data = dict(class_path='ddp_mod.DDPData', init_args=dict(batch_size=4))
trainer = dict(enable_progress_bar=False, enable_model_summary=False)
