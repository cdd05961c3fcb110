# MMEngine's side of bench_launch.py (run by mm_train.py): the seed's runtime on a tiny MLP.
_base_ = ['./common_cfg.py']
custom_imports = dict(imports=['mm_side'], allow_failed_imports=False)
work_dir = 'work_dirs/bench_launch_mmengine'
model = dict(type='BenchMLP')
train_dataloader = dict(
    batch_size=8, num_workers=0,
    dataset=dict(type='BenchData'),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
