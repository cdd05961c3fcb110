# unknown key in randomness (sed) | expect: randomness.sed
_base_ = ['_base_/base.py']
randomness = dict(sed=0)
