"""The reference side of ``test_runner_parity``: one scenario through MMEngine 0.10.7's ``Runner``.

Usage: ``python runner_parity_ref.py SCENARIO WORK_DIR OUT_JSON``. Facts of the reference side
(see DESIGN.md): ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` (MMEngine loads its checkpoints with
``weights_only=False``); ``time.sleep`` patched out (``IterBasedTrainLoop`` sleeps 2 s per pass);
the seed's ``NewHook`` with ``model`` bound in both branches (verbatim it raises
UnboundLocalError on a single-process Runner).
"""

from __future__ import annotations

import os

os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

time.sleep = lambda seconds: None  # IterBasedTrainLoop's 2 s pause at each pass over the data

import torch  # noqa: E402
from mmengine.evaluator import BaseMetric  # noqa: E402
from mmengine.hooks import Hook  # noqa: E402
from mmengine.model import BaseModel, is_model_wrapper  # noqa: E402
from mmengine.registry import HOOKS, METRICS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import runner_parity_common as common  # noqa: E402  (the script's folder is on sys.path)

SINK: list = []
HOOKS.register_module(module=common.make_record_hook(Hook, is_model_wrapper, SINK), force=True)
HOOKS.register_module(module=common.make_stop_hook(Hook), force=True)
HOOKS.register_module(module=common.make_crash_hook(Hook), force=True)


@HOOKS.register_module(force=True)
class NewHook(Hook):
    """The seed tutorial's NewHook, ``model`` bound in both branches."""

    def __init__(self, a: int, b: int) -> None:
        self.a = a
        self.b = b

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        cur_iter = runner.iter
        if is_model_wrapper(runner.model):
            model = runner.model.module
        else:
            model = runner.model
        model.hyper_parameter = self.a * cur_iter + self.b


@METRICS.register_module(force=True)
class MSEMetric(BaseMetric):
    """Mean squared error over the validation set (``mse``)."""

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(data_samples)

    def compute_metrics(self, results) -> dict:
        return dict(mse=sum(r[0] for r in results) / sum(r[1] for r in results))


# ---------------------------------------------------------------------- MMSeg 1.2.2, copied
# mmseg/engine/optimizers/layer_decay_optimizer_constructor.py from the mmseg 1.2.2 wheel, verbatim
# but for one import: OPTIM_WRAPPER_CONSTRUCTORS from mmengine.registry, not mmseg.registry
# (importing mmseg needs mmcv's compiled ops). Copyright (c) OpenMMLab. All rights reserved.
# fmt: off
import json  # noqa: E402
import warnings  # noqa: E402

from mmengine.dist import get_dist_info  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.optim import DefaultOptimWrapperConstructor  # noqa: E402

from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS  # noqa: E402


def get_layer_id_for_convnext(var_name, max_layer_id):
    """Get the layer id to set the different learning rates in ``layer_wise``
    decay_type.

    Args:
        var_name (str): The key of the model.
        max_layer_id (int): Maximum number of backbone layers.

    Returns:
        int: The id number corresponding to different learning rate in
        ``LearningRateDecayOptimizerConstructor``.
    """

    if var_name in ('backbone.cls_token', 'backbone.mask_token',
                    'backbone.pos_embed'):
        return 0
    elif var_name.startswith('backbone.downsample_layers'):
        stage_id = int(var_name.split('.')[2])
        if stage_id == 0:
            layer_id = 0
        elif stage_id == 1:
            layer_id = 2
        elif stage_id == 2:
            layer_id = 3
        elif stage_id == 3:
            layer_id = max_layer_id
        return layer_id
    elif var_name.startswith('backbone.stages'):
        stage_id = int(var_name.split('.')[2])
        block_id = int(var_name.split('.')[3])
        if stage_id == 0:
            layer_id = 1
        elif stage_id == 1:
            layer_id = 2
        elif stage_id == 2:
            layer_id = 3 + block_id // 3
        elif stage_id == 3:
            layer_id = max_layer_id
        return layer_id
    else:
        return max_layer_id + 1


def get_stage_id_for_convnext(var_name, max_stage_id):
    """Get the stage id to set the different learning rates in ``stage_wise``
    decay_type.

    Args:
        var_name (str): The key of the model.
        max_stage_id (int): Maximum number of backbone layers.

    Returns:
        int: The id number corresponding to different learning rate in
        ``LearningRateDecayOptimizerConstructor``.
    """

    if var_name in ('backbone.cls_token', 'backbone.mask_token',
                    'backbone.pos_embed'):
        return 0
    elif var_name.startswith('backbone.downsample_layers'):
        return 0
    elif var_name.startswith('backbone.stages'):
        stage_id = int(var_name.split('.')[2])
        return stage_id + 1
    else:
        return max_stage_id - 1


def get_layer_id_for_vit(var_name, max_layer_id):
    """Get the layer id to set the different learning rates.

    Args:
        var_name (str): The key of the model.
        num_max_layer (int): Maximum number of backbone layers.

    Returns:
        int: Returns the layer id of the key.
    """

    if var_name in ('backbone.cls_token', 'backbone.mask_token',
                    'backbone.pos_embed'):
        return 0
    elif var_name.startswith('backbone.patch_embed'):
        return 0
    elif var_name.startswith('backbone.layers'):
        layer_id = int(var_name.split('.')[2])
        return layer_id + 1
    else:
        return max_layer_id - 1


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LearningRateDecayOptimizerConstructor(DefaultOptimWrapperConstructor):
    """Different learning rates are set for different layers of backbone.

    Note: Currently, this optimizer constructor is built for ConvNeXt,
    BEiT and MAE.
    """

    def add_params(self, params, module, **kwargs):
        """Add all parameters of module to the params list.

        The parameters of the given module will be added to the list of param
        groups, with specific rules defined by paramwise_cfg.

        Args:
            params (list[dict]): A list of param groups, it will be modified
                in place.
            module (nn.Module): The module to be added.
        """

        parameter_groups = {}
        print_log(f'self.paramwise_cfg is {self.paramwise_cfg}')
        num_layers = self.paramwise_cfg.get('num_layers') + 2
        decay_rate = self.paramwise_cfg.get('decay_rate')
        decay_type = self.paramwise_cfg.get('decay_type', 'layer_wise')
        print_log('Build LearningRateDecayOptimizerConstructor  '
                  f'{decay_type} {decay_rate} - {num_layers}')
        weight_decay = self.base_wd
        for name, param in module.named_parameters():
            if not param.requires_grad:
                continue  # frozen weights
            if len(param.shape) == 1 or name.endswith('.bias') or name in (
                    'pos_embed', 'cls_token'):
                group_name = 'no_decay'
                this_weight_decay = 0.
            else:
                group_name = 'decay'
                this_weight_decay = weight_decay
            if 'layer_wise' in decay_type:
                if 'ConvNeXt' in module.backbone.__class__.__name__:
                    layer_id = get_layer_id_for_convnext(
                        name, self.paramwise_cfg.get('num_layers'))
                    print_log(f'set param {name} as id {layer_id}')
                elif 'BEiT' in module.backbone.__class__.__name__ or \
                     'MAE' in module.backbone.__class__.__name__:
                    layer_id = get_layer_id_for_vit(name, num_layers)
                    print_log(f'set param {name} as id {layer_id}')
                else:
                    raise NotImplementedError()
            elif decay_type == 'stage_wise':
                if 'ConvNeXt' in module.backbone.__class__.__name__:
                    layer_id = get_stage_id_for_convnext(name, num_layers)
                    print_log(f'set param {name} as id {layer_id}')
                else:
                    raise NotImplementedError()
            group_name = f'layer_{layer_id}_{group_name}'

            if group_name not in parameter_groups:
                scale = decay_rate**(num_layers - layer_id - 1)

                parameter_groups[group_name] = {
                    'weight_decay': this_weight_decay,
                    'params': [],
                    'param_names': [],
                    'lr_scale': scale,
                    'group_name': group_name,
                    'lr': scale * self.base_lr,
                }

            parameter_groups[group_name]['params'].append(param)
            parameter_groups[group_name]['param_names'].append(name)
        rank, _ = get_dist_info()
        if rank == 0:
            to_display = {}
            for key in parameter_groups:
                to_display[key] = {
                    'param_names': parameter_groups[key]['param_names'],
                    'lr_scale': parameter_groups[key]['lr_scale'],
                    'lr': parameter_groups[key]['lr'],
                    'weight_decay': parameter_groups[key]['weight_decay'],
                }
            print_log(f'Param groups = {json.dumps(to_display, indent=2)}')
        params.extend(parameter_groups.values())


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimizerConstructor(LearningRateDecayOptimizerConstructor):
    """Different learning rates are set for different layers of backbone.

    Note: Currently, this optimizer constructor is built for BEiT,
    and it will be deprecated.
    Please use ``LearningRateDecayOptimizerConstructor`` instead.
    """

    def __init__(self, optim_wrapper_cfg, paramwise_cfg):
        warnings.warn('DeprecationWarning: Original '
                      'LayerDecayOptimizerConstructor of BEiT '
                      'will be deprecated. Please use '
                      'LearningRateDecayOptimizerConstructor instead, '
                      'and set decay_type = layer_wise_vit in paramwise_cfg.')
        paramwise_cfg.update({'decay_type': 'layer_wise_vit'})
        warnings.warn('DeprecationWarning: Layer_decay_rate will '
                      'be deleted, please use decay_rate instead.')
        paramwise_cfg['decay_rate'] = paramwise_cfg.pop('layer_decay_rate')
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
# fmt: on


class TinySeg(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        common.build_layers(self)

    def forward(self, x, y=None, mode="tensor"):
        if mode == "loss":
            return dict(loss=common.loss_of(self, x, y))
        out = common.predict(self, x)
        if mode == "predict":
            return [(float(((out - y) ** 2).sum()), y.numel())]
        return out


def _from_file(name: str, work_dir: str) -> dict:
    """The CLI scenario's config as MMEngine reads a file: ``Config.fromfile('cli_run.py')`` (its name
    gives the experiment name and the dumped file's), passed as ``cfg=`` beside the same sections."""
    from mmengine.config import Config

    cfg = common.scenario(name)
    path = common.write_cli_config(cfg, work_dir)
    return dict(cfg, cfg=Config.fromfile(str(path)))


def main(name: str, work_dir: str, out: str) -> None:
    cfg = _from_file(common.CLI_SCENARIOS[name], work_dir) if name in common.CLI_SCENARIOS else common.scenario(name)
    model = TinySeg()
    common.initial_weights(model)
    train, val = common.loaders()
    runner = Runner(
        model=model, work_dir=work_dir, train_dataloader=train, val_dataloader=val,
        val_evaluator=dict(type="MSEMetric"), default_scope="mmengine", launcher="none",
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend="gloo")),
        **cfg,
    )
    runner.train()
    Path(out).write_text(json.dumps(common.collect(Path(work_dir), model, SINK)))


if __name__ == "__main__":
    main(*sys.argv[1:4])
