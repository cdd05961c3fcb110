optimizer = dict(type='AdamW', lr=0.001)
