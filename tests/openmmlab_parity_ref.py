"""The reference side of ``test_openmmlab_parity``: one real MMSeg config through MMEngine 0.10.7's ``Runner``.

Usage: ``python openmmlab_parity_ref.py RUN WORK_DIR OUT_JSON DATA_ROOT`` (under
``torch.distributed.run --nproc_per_node=2`` for a run of
:data:`openmmlab_parity_common.DDP_RUNS`). What MMSeg's ``tools/train.py`` does:
``Config.fromfile`` of the installed config, ``merge_from_dict`` of the dotted overrides (and of
the second, recording config file), ``Runner.from_cfg(cfg).train()``.

Facts of the reference side: ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (MMEngine loads its
checkpoints with ``weights_only=False``); ``time.sleep`` patched out (``IterBasedTrainLoop`` sleeps
2 s per pass over the data). Distributed on CPU, two more: MMEngine's ``init_dist`` calls
``torch.cuda.set_device(LOCAL_RANK)`` and ``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to
``MMDistributedDataParallel``, both of which a CPU-only torch refuses; the first is made a no-op and
the second dropped (what DDP does with a CPU module and ``device_ids=None``).
"""

from __future__ import annotations

import os

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

time.sleep = lambda seconds: None  # IterBasedTrainLoop's 2 s pause at each pass over the data

import torch  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.model import MMDistributedDataParallel  # noqa: E402
from mmengine.registry import HOOKS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import openmmlab_parity_common as common  # noqa: E402  (the script's folder is on sys.path)

common.make_hooks(Hook, HOOKS)


def _cpu_distributed() -> None:
    """Let MMEngine's ``launcher='pytorch'`` run on a CPU-only torch (see the module docstring)."""
    torch.cuda.set_device = lambda device: None
    init = MMDistributedDataParallel.__init__

    def __init__(self, module, detect_anomalous_params=False, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.pop("device_ids", None)
        init(self, module=module, detect_anomalous_params=detect_anomalous_params, **kwargs)

    MMDistributedDataParallel.__init__ = __init__  # type: ignore[method-assign]


def main(name: str, work_dir: str, out: str, data_root: str) -> None:
    cfg = Config.fromfile(str(common.config_path(name)))
    cfg.merge_from_dict(common.overrides(name, data_root, work_dir))
    instrument = common.write_instrument_config(name, out, Path(work_dir).parent / "instrument")
    cfg.merge_from_dict(Config.fromfile(str(instrument), import_custom_modules=False).to_dict())
    if cfg.get("launcher", "none") != "none":
        _cpu_distributed()
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == "__main__":
    main(*sys.argv[1:5])
