# imports a codebase's function (the config needs code execution) | expect: <file>:3
_base_ = ['_base_/base.py']
from mmpretrain.models import build_classifier
model = build_classifier(dict(type='ImageClassifier'))
