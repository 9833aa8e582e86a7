"""Test-only access to MMPose 1.3.2's models as a parity reference.

``mmpose.models`` imports mmdet (RTMO head), ``mmcv.ops`` (EDPose) and torchvision (a visualiser);
none of them is needed for the models we compare, so stand-ins go into ``sys.modules`` where the real
module is missing. Tests call ``mmpose_models()`` which skips when MMPose is not installed.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Optional

import pytest
import torch


def _install_stubs() -> None:
    try:
        importlib.import_module("mmdet")
    except ImportError:
        mmdet = types.ModuleType("mmdet")
        utils = types.ModuleType("mmdet.utils")
        utils.ConfigType = dict
        utils.OptConfigType = Optional[dict]
        utils.OptMultiConfig = Optional[dict]
        utils.reduce_mean = lambda t: t
        mmdet.utils = utils
        sys.modules["mmdet"] = mmdet
        sys.modules["mmdet.utils"] = utils
    try:
        importlib.import_module("mmcv.ops")
    except ImportError:
        import mmcv

        ops = types.ModuleType("mmcv.ops")

        class _Missing:
            def __init__(self, *args, **kwargs):
                raise RuntimeError("mmcv.ops is not available (mmcv-lite)")

        ops.MultiScaleDeformableAttention = _Missing
        ops.DeformConv2d = _Missing
        sys.modules["mmcv.ops"] = ops
        mmcv.ops = ops
    try:
        importlib.import_module("torchvision")
    except ImportError:
        tv = types.ModuleType("torchvision")
        tr = types.ModuleType("torchvision.transforms")
        tr.ToPILImage = type("ToPILImage", (), {})
        tv.transforms = tr
        sys.modules["torchvision"] = tv
        sys.modules["torchvision.transforms"] = tr


def mmpose_models():
    """Returns MMPose's ``MODELS`` registry (default scope 'mmpose'), or skips the test."""
    pytest.importorskip("mmpose")
    pytest.importorskip("mmengine")
    _install_stubs()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        importlib.import_module("mmpose.models")
    from mmengine.registry import init_default_scope
    from mmpose.registry import MODELS

    init_default_scope("mmpose")
    return MODELS


def randomize_(model: torch.nn.Module, seed: int = 0, x: Optional[torch.Tensor] = None) -> torch.nn.Module:
    """Re-draw every parameter (seeded, scaled to keep activations O(1)); with ``x``, set BatchNorm
    running statistics from one forward pass in train mode on it. Returns the model in eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() > 1:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=g) / fan_in ** 0.5)
            elif name.endswith("weight"):
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith("running_var"):
                b.copy_(1 + 0.2 * torch.rand(b.shape, generator=g))
    if x is not None:
        model.train()
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.momentum = None
                m.reset_running_stats()
        with torch.no_grad():
            model(x) if not hasattr(model, "_forward") else model._forward(x)
    return model.eval()
