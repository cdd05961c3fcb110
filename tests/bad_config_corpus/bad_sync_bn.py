# sync_bn='mmcv' needs MMCV | expect: sync_bn
_base_ = ['_base_/base.py']
sync_bn = 'mmcv'
