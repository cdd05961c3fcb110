# tries __import__ | expect: x
_base_ = ['_base_/base.py']
x = __import__('os').system('touch /tmp/pwned_by_config')
