# helper for base_duplicate_keys.py: defines optim_wrapper a second time
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=0.001))
