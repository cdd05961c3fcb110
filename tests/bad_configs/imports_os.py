import os
os.system('touch /tmp/lightning_runtime_pwned')
