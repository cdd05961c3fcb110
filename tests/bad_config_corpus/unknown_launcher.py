# unknown launcher (pytorh) | expect: launcher
_base_ = ['_base_/base.py']
launcher = 'pytorh'
