"""MMEngine's ``tools/train.py``, reduced to what a plain run does: ``python mm_train.py CONFIG --work-dir DIR``."""

import argparse
import os

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description="Train a model (MMEngine)")
    parser.add_argument("config")
    parser.add_argument("--work-dir")
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == "__main__":
    main()
