# unknown key in visualizer (vis_backend) | expect: visualizer.vis_backend
_base_ = ['_base_/base.py']
visualizer = dict(type='Visualizer', vis_backend=[dict(type='LocalVisBackend')])
