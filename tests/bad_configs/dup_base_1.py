optimizer = dict(type='SGD', lr=0.01)
model = dict(type='A')
