# tries to call open() | expect: secret
_base_ = ['_base_/base.py']
secret = open('/etc/passwd').read()
