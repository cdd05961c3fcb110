# Seed-like runtime config for the start-up benchmark: MMSegmentation's default_runtime and
# 160k schedule, with the seed tutorial's LinearLR warmup + PolyLR schedule and its NewHook.
# No model/data sections: bench_startup.py gives the Runtime a tiny model and in-memory batches.
_base_ = ['../../configs/_base_/default_runtime.py', '../../configs/_base_/schedules/schedule_160k.py']

custom_imports = dict(imports=['lightning_runtime.demo.hooks'], allow_failed_imports=False)
work_dir = 'work_dirs/bench_seed_160k'

# The seed's "Step 2: modify the config" schedule (customize_runtime.md).
param_scheduler = [
    dict(type='LinearLR', by_epoch=False, start_factor=0.1, begin=0, end=1000),
    dict(
        type='PolyLR',
        eta_min=1e-4,
        power=0.9,
        begin=1000,
        end=160000,
        by_epoch=False,
    )
]

default_hooks = dict(visualization=None)
custom_hooks = [dict(type='NewHook', a=2, b=1, priority='ABOVE_NORMAL')]
