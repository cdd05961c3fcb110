_base_ = 'scalar_base.py'
# lr is a number in the base; a dict cannot merge into it
optimizer = dict(
    lr=dict(base=0.01),
)
