"""``load_from``: load the weights of a checkpoint into a module, as MMEngine's ``load_checkpoint``.

Accepted files, all read with ``torch.load(weights_only=True)``:

* a Lightning checkpoint (``.ckpt``, or the ``.pth`` files written by this package's
  ``CheckpointHook``): ``{'state_dict': ..., 'optimizer_states': ..., ...}``;
* an MMEngine checkpoint (``.pth``): ``{'meta': ..., 'state_dict': ..., 'optimizer': ...}``;
* a bare state dict (``{'backbone.conv.weight': tensor, ...}``).

Only the weights are used (never optimizer, scheduler or loop state). Keys go through
``revise_keys`` first (default ``[(r'^module\\.', '')]``: strip DataParallel/DDP's ``module.``
prefix, as MMEngine does). Missing and unexpected keys are reported as MMEngine's
``load_state_dict`` reports them (a warning, or a ``RuntimeError`` with ``strict=True``);
``num_batches_tracked`` buffers are never reported missing.

MMEngine checkpoints store the *segmentor's* keys (``backbone.*``, ``decode_head.*``). When your
LightningModule holds the network as an attribute (``self.model = ...``), its keys carry that
prefix (``model.backbone.*``): pass ``revise_keys=[(r'^module\\.', ''), (r'^', 'model.')]``, or
load into the attribute itself (``load_weights(module.model, path)``). When no key matches at
all, the error says which prefix would make them match.

Example:
    >>> report = load_weights(module, "pretrain/segformer_mit-b0.pth")  # doctest: +SKIP
    >>> report.missing_keys, report.unexpected_keys                      # doctest: +SKIP
    ([], [])
"""

from __future__ import annotations

import logging
import os
import re
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch
import torch.nn as nn

from lightning_runtime.checkpoint._io import (
    CorruptCheckpointError,
    UnsafeCheckpointError,
    read_checkpoint,
    safe_load,
)
from lightning_runtime.errors import ConfigError
from lightning_runtime.utils import unwrap_model

__all__ = ["load_weights", "load_weights_into", "extract_state_dict", "LoadReport", "DEFAULT_REVISE_KEYS"]

logger = logging.getLogger(__name__)

DEFAULT_REVISE_KEYS: tuple[tuple[str, str], ...] = ((r"^module\.", ""),)
"""MMEngine's default ``revise_keys``: strip the ``module.`` prefix DataParallel/DDP add."""


class LoadReport(NamedTuple):
    """What :func:`load_weights` did.

    Attributes:
        missing_keys: Module keys the file did not provide (``num_batches_tracked`` left out).
        unexpected_keys: File keys the module does not have.
        message: MMEngine's mismatch message, ``''`` when everything matched.
        meta: The file's ``meta`` dict (MMEngine) or ``{}``.
    """

    missing_keys: list[str]
    unexpected_keys: list[str]
    message: str
    meta: dict[str, Any]


def extract_state_dict(checkpoint: Any, path: str = "<checkpoint>") -> "OrderedDict[str, torch.Tensor]":
    """The model weights held by a loaded checkpoint (``state_dict`` key, or the dict itself)."""
    if not isinstance(checkpoint, Mapping):
        raise TypeError(f"{path} holds a {type(checkpoint).__name__}, expected a dict of weights")
    state = checkpoint.get("state_dict", checkpoint)
    if not isinstance(state, Mapping):
        raise TypeError(f"{path}: 'state_dict' is a {type(state).__name__}, expected a dict")
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad and state is checkpoint:
        raise TypeError(
            f"{path} has no 'state_dict' key and is not a bare state dict (non-tensor entries: "
            f"{', '.join(map(str, bad[:5]))}); expected a Lightning .ckpt, an MMEngine .pth with "
            "'state_dict', or a dict of tensors"
        )
    out = OrderedDict((k, v) for k, v in state.items() if isinstance(v, torch.Tensor))
    if not out:
        raise TypeError(f"{path} holds no weights (no tensor in {'its state_dict' if state is not checkpoint else 'it'})")
    return out


def _prefix_hint(file_keys: Sequence[str], module_keys: Sequence[str]) -> str:
    """Suggest a revise_keys entry when no key matches."""
    if not file_keys or not module_keys:
        return ""
    fk, mk = file_keys[0], None
    for key in module_keys:
        if key.endswith("." + fk):
            mk = key
            break
    if mk is not None:
        prefix = mk[: -len(fk)]
        return f"; the module's keys carry the prefix {prefix!r}: pass revise_keys=[(r'^', {prefix!r})]"
    for key in file_keys:
        for m in module_keys:
            if key.endswith("." + m):
                prefix = key[: -len(m)]
                return (
                    f"; the file's keys carry the prefix {prefix!r}: pass "
                    f"revise_keys=[(r'^{re.escape(prefix)}', '')]"
                )
    return f"; file keys look like {fk!r}, module keys like {module_keys[0]!r}"


def _load_state_dict(
    module: nn.Module, state: "OrderedDict[str, torch.Tensor]"
) -> tuple[list[str], list[str], list[str]]:
    """MMEngine's ``load_state_dict`` walk: shape mismatches are collected, not raised."""
    missing: list[str] = []
    unexpected: list[str] = []
    err: list[str] = []
    metadata = getattr(state, "_metadata", None)

    def load(mod: nn.Module, local: Mapping[str, torch.Tensor], prefix: str = "") -> None:
        local_meta = {} if metadata is None else metadata.get(prefix[:-1], {})
        mod._load_from_state_dict(dict(local), prefix, local_meta, True, missing, unexpected, err)
        for name, child in mod._modules.items():
            if child is not None:
                child_prefix = prefix + name + "."
                load(child, {k: v for k, v in local.items() if k.startswith(child_prefix)}, child_prefix)

    load(module, state)
    missing = [k for k in missing if "num_batches_tracked" not in k]
    return missing, unexpected, err


def load_weights(
    module: nn.Module,
    path: str | os.PathLike[str],
    *,
    strict: bool = False,
    revise_keys: Sequence[tuple[str, str]] = DEFAULT_REVISE_KEYS,
    map_location: Any = "cpu",
    weights_only: bool = True,
) -> LoadReport:
    """Load the weights in ``path`` into ``module`` (``load_from``), reporting key mismatches.

    Args:
        module: The module to fill (a LightningModule, or a wrapped module: ``.module`` is used).
        path: A Lightning ``.ckpt``, an MMEngine ``.pth`` or a bare state-dict file.
        strict: Raise ``RuntimeError`` on any missing/unexpected key (MMEngine's default: False, warn).
        revise_keys: ``(pattern, replacement)`` regex pairs applied to every key in order.
        map_location: Passed to ``torch.load``.
        weights_only: ``False`` is the explicit opt-in to arbitrary unpickling, for trusted files
            only; otherwise a file holding pickled objects raises ``UnsafeCheckpointError``.

    Returns:
        A :class:`LoadReport`.

    Raises:
        RuntimeError: ``strict=True`` and keys do not match, or no key matches at all (never a
            silent no-op load), or a tensor's shape differs.
        TypeError: the file holds no weights (a list, a tensor, a dict of other things, an empty dict).
        UnsafeCheckpointError: the file needs arbitrary unpickling (see ``weights_only``).
    """
    path = os.fspath(path)
    checkpoint = safe_load(path, map_location=map_location, weights_only=weights_only)
    state = extract_state_dict(checkpoint, path)
    metadata = getattr(state, "_metadata", None)
    for pattern, repl in revise_keys:
        state = OrderedDict((re.sub(pattern, repl, k), v) for k, v in state.items())
    if metadata is not None:
        state._metadata = metadata  # type: ignore[attr-defined]

    target = unwrap_model(module)
    module_keys = list(target.state_dict().keys())
    if state and not set(state) & set(module_keys):
        raise RuntimeError(
            f"load_from={path}: none of its {len(state)} keys matches the module's "
            f"{len(module_keys)} keys" + _prefix_hint(list(state), module_keys)
        )
    missing, unexpected, err = _load_state_dict(target, state)
    if unexpected:
        err.append(f"unexpected key in source state_dict: {', '.join(unexpected)}\n")
    if missing:
        err.append(f"missing keys in source state_dict: {', '.join(missing)}\n")
    message = ""
    if err:
        message = "\n".join(["The model and loaded state dict do not match exactly\n", *err])
        if strict:
            raise RuntimeError(message)
        logger.warning(message)
        from lightning.pytorch.utilities import rank_zero_warn

        rank_zero_warn(f"load_from={path}: {message}")
    meta = checkpoint.get("meta", {}) if isinstance(checkpoint, Mapping) else {}
    return LoadReport(missing, unexpected, message, dict(meta) if isinstance(meta, Mapping) else {})


def load_weights_into(module: Any, path: str, key: str = "load_from") -> Any:
    """Load ``load_from`` weights into ``module`` (an MMEngine ``.pth``, a Lightning ``.ckpt``, a state dict).

    Raises:
        ConfigError: the file cannot be read safely, holds no weights (a list, a tensor, a dict of
            other things), or none of its keys matches the module's.
    """
    try:
        return load_weights(module, path)
    except (UnsafeCheckpointError, CorruptCheckpointError, PermissionError, IsADirectoryError) as exc:
        read_checkpoint(path, key)  # raises the ConfigError for this failure
        raise ConfigError(str(exc), path=key, fix="check that the file is a checkpoint written by torch.save") from None  # pragma: no cover - safe_load raised above
    except (TypeError, ValueError, RuntimeError) as exc:
        msg = str(exc).replace(f"load_from={path}: ", "")
        raise ConfigError(
            msg if path in msg else f"{path}: {msg}",
            path=key,
            fix="load_from takes a checkpoint of this model: a Lightning .ckpt / CheckpointHook .pth, an MMEngine "
            ".pth with 'state_dict', or a dict of tensors whose names match the model's (see revise_keys in "
            "docs/checkpoints.md)",
        ) from None
