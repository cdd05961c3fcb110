# calls a copy-module function other than deepcopy/copy | expect: patched
_base_ = ['_base_/base.py']
import copy
patched = copy.replace(dict(a=1), a=2)
