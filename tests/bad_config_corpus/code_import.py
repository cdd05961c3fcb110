# tries to import os | expect: <file>:2
import os
_base_ = ['_base_/base.py']
work_dir = os.getcwd()
