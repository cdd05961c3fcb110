# A hostile config: every line would create a file if it were executed.
marker = '/tmp/lightning_runtime_should_not_exist'
handle = open(marker, 'w').write('pwned')
