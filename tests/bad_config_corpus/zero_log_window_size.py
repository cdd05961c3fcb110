# log_processor window of 0 iterations | expect: log_processor.window_size
_base_ = ['_base_/base.py']
log_processor = dict(by_epoch=False, window_size=0)
