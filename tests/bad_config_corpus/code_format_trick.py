# tries str.format attribute access ({0.__class__}) | expect: tag
_base_ = ['_base_/base.py']
tag = '{0.__class__.__init__.__globals__}'.format(1)
