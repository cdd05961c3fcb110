"""Demo pieces (tiny models, generated data) for configs, notebooks, tests and benchmarks.

Submodules are imported on use: ``from lightning_runtime.demo.models import tiny_vit_segmentor``.
"""

__all__: list[str] = []
