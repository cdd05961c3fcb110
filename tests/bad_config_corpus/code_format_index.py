# str.format reaching into a value with an index field ({0[...]}) | expect: tag
_base_ = ['_base_/base.py']
secrets = dict(token='abc')
tag = 'run-{0[token]}'.format(secrets)
