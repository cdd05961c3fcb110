model = dict(type='A')


lr = 0.01 *
