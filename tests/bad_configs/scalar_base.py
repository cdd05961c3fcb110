optimizer = dict(type='SGD', lr=0.01)
param_scheduler = [dict(type='PolyLR', end=1000)]
