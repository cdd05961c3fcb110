# unknown key in log_processor (window_sizee) | expect: log_processor.window_sizee
_base_ = ['_base_/base.py']
log_processor = dict(window_sizee=10)
