# Runtime defaults shared by every config (MMSegmentation 1.x numbers).
# Inherit with: _base_ = ['../_base_/default_runtime.py']
default_scope = 'mmseg'

# Environment: cudnn autotuning, worker start method and the distributed backend.
env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

# Visualization: predictions are written by the local backend.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='SegLocalVisualizer', vis_backends=vis_backends, name='visualizer')

# Logging is counted in iterations.
log_processor = dict(by_epoch=False)
log_level = 'INFO'

# Start from scratch unless load_from / resume say otherwise.
load_from = None
resume = False

# Test-time augmentation wrapper.
tta_model = dict(type='SegTTAModel')
