# an MMEngine new-style config (read_base, imported classes) | expect: <file>:2
from mmengine.config import read_base
with read_base():
    from ._base_.base import *
from torch.optim import SGD
optim_wrapper.update(optimizer=dict(type=SGD, lr=0.02))
