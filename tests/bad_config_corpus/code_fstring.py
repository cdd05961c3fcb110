# tries to call code from inside an f-string | expect: tag
_base_ = ['_base_/base.py']
tag = f"{open('/etc/passwd').read()}"
