"""Optimisers and iteration-based learning-rate schedules (linear warm-up + cosine or multi-step).

The schedule is a ``LambdaLR`` whose factor is a small picklable object, stepped once per optimiser
step; its ``state_dict`` (step count, base lrs) restores exactly on resume.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Optional

import torch
from torch import nn

__all__ = ["build_optimizer", "build_scheduler", "WarmupCosine", "WarmupMultiStep"]

_OPTIMIZER_KEYS = {
    "adamw": {"type", "lr", "weight_decay", "betas", "eps", "norm_decay_mult", "bias_decay_mult", "fused"},
    "adam": {"type", "lr", "weight_decay", "betas", "eps", "norm_decay_mult", "bias_decay_mult", "fused"},
    "sgd": {"type", "lr", "weight_decay", "momentum", "nesterov", "dampening", "norm_decay_mult", "bias_decay_mult"},
}
_NORMS = (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


def _param_groups(model: nn.Module, weight_decay: float, norm_mult: float, bias_mult: float) -> List[Dict[str, Any]]:
    """Parameter groups with MMEngine's ``paramwise_cfg`` multipliers (norm weights/biases, biases)."""
    if norm_mult == 1.0 and bias_mult == 1.0:
        return [{"params": [p for p in model.parameters() if p.requires_grad]}]
    groups: Dict[float, List[nn.Parameter]] = {}
    seen = set()
    for module in model.modules():
        for name, p in module.named_parameters(recurse=False):
            if not p.requires_grad or id(p) in seen:
                continue
            seen.add(id(p))
            mult = 1.0
            if isinstance(module, _NORMS):
                mult = norm_mult
            elif name == "bias":
                mult = bias_mult
            groups.setdefault(mult, []).append(p)
    return [{"params": ps, "weight_decay": weight_decay * m} for m, ps in sorted(groups.items())]


def _checked_type(name: str, cfg: Dict[str, Any], allowed_keys: Dict[str, Any], default: str) -> str:
    """``cfg['type']`` (lower case, ``default`` when absent), checked against ``allowed_keys`` (type ->
    the keys that type accepts); errors list the allowed types or keys."""
    kind = str(cfg.get("type", default)).lower()
    if kind not in allowed_keys:
        raise ValueError(f"{name}['type'] must be one of {sorted(allowed_keys)}, got {cfg.get('type')!r}")
    unknown = set(cfg) - allowed_keys[kind]
    if unknown:
        raise ValueError(f"{name} has unknown keys {sorted(unknown)} for type {kind!r}; allowed: "
                         f"{sorted(allowed_keys[kind])}")
    return kind


def build_optimizer(model: nn.Module, cfg: Dict[str, Any]) -> torch.optim.Optimizer:
    """An optimiser from a small dict.

    Args:
        model (nn.Module): the trained module.
        cfg (dict): ``type`` ``'adamw'`` (default), ``'adam'`` or ``'sgd'``; ``lr``; ``weight_decay``;
            ``betas``/``eps`` (Adam), ``momentum``/``nesterov``/``dampening`` (SGD); ``norm_decay_mult``
            and ``bias_decay_mult`` (weight-decay multipliers of norm layers and biases, MMEngine's
            ``paramwise_cfg``; RTMPose uses 0 and 0).

    Raises:
        ValueError: unknown type or key (the message lists the allowed ones), lr <= 0.
    """
    if not isinstance(cfg, dict):
        raise TypeError(f"optimizer must be a dict like {{'type': 'adamw', 'lr': 5e-4}}, got {type(cfg).__name__}")
    kind = _checked_type("optimizer", cfg, _OPTIMIZER_KEYS, "adamw")
    lr = float(cfg.get("lr", 5e-4 if kind != "sgd" else 1e-2))
    if not lr > 0:
        raise ValueError(f"optimizer['lr'] must be positive, got {lr}")
    wd = float(cfg.get("weight_decay", 0.01 if kind == "adamw" else 0.0))
    groups = _param_groups(model, wd, float(cfg.get("norm_decay_mult", 1.0)), float(cfg.get("bias_decay_mult", 1.0)))
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=float(cfg.get("momentum", 0.9)), weight_decay=wd,
                               nesterov=bool(cfg.get("nesterov", False)), dampening=float(cfg.get("dampening", 0.0)))
    cls = torch.optim.AdamW if kind == "adamw" else torch.optim.Adam
    fused = cfg.get("fused")  # None: torch's default (a per-parameter loop on the CPU, foreach on CUDA)
    return cls(groups, lr=lr, weight_decay=wd, betas=tuple(cfg.get("betas", (0.9, 0.999))),
               eps=float(cfg.get("eps", 1e-8)), fused=None if fused is None else bool(fused))


class _Warmup:
    def __init__(self, warmup_iters: int, warmup_ratio: float) -> None:
        if warmup_iters < 0:
            raise ValueError(f"scheduler['warmup_iters'] must be >= 0, got {warmup_iters}")
        if not 0.0 <= warmup_ratio <= 1.0:
            raise ValueError(f"scheduler['warmup_ratio'] must be in [0, 1], got {warmup_ratio}")
        self.warmup_iters, self.warmup_ratio = int(warmup_iters), float(warmup_ratio)

    def warmup(self, step: int) -> float:
        """MMEngine's ``LinearLR(start_factor=warmup_ratio, end=warmup_iters)``."""
        if step >= self.warmup_iters:
            return 1.0
        return self.warmup_ratio + (1.0 - self.warmup_ratio) * step / self.warmup_iters


class WarmupCosine(_Warmup):
    """lr factor at optimiser step t: linear warm-up from ``warmup_ratio`` over ``warmup_iters``
    steps, then cosine from 1 to ``min_lr_ratio`` at ``total_iters``."""

    def __init__(self, total_iters: int, warmup_iters: int = 500, warmup_ratio: float = 0.001,
                 min_lr_ratio: float = 0.0) -> None:
        super().__init__(warmup_iters, warmup_ratio)
        self.total_iters, self.min_lr_ratio = max(1, int(total_iters)), float(min_lr_ratio)

    def __call__(self, step: int) -> float:
        if step < self.warmup_iters:
            return self.warmup(step)
        span = max(1, self.total_iters - self.warmup_iters)
        t = min(1.0, (step - self.warmup_iters) / span)
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * t))


class WarmupMultiStep(_Warmup):
    """lr factor: the warm-up times ``gamma ** (milestones passed)`` (milestones in optimiser steps)."""

    def __init__(self, milestones: Iterable[int], gamma: float = 0.1, warmup_iters: int = 500,
                 warmup_ratio: float = 0.001) -> None:
        super().__init__(warmup_iters, warmup_ratio)
        self.milestones, self.gamma = sorted(int(m) for m in milestones), float(gamma)

    def __call__(self, step: int) -> float:
        passed = sum(1 for m in self.milestones if step >= m)
        return self.warmup(step) * self.gamma ** passed


_SCHEDULER_KEYS = {
    "cosine": {"type", "warmup_iters", "warmup_ratio", "min_lr_ratio"},
    "multistep": {"type", "warmup_iters", "warmup_ratio", "milestones", "gamma", "by_epoch"},
    "constant": {"type", "warmup_iters", "warmup_ratio"},
}


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: Optional[Dict[str, Any]], total_iters: int,
                    iters_per_epoch: int) -> torch.optim.lr_scheduler.LambdaLR:
    """An iteration-based schedule (stepped after every optimiser step).

    Args:
        optimizer: the optimiser.
        cfg (dict or None): ``{"type": "cosine", "warmup_iters": 500, "warmup_ratio": 0.001,
            "min_lr_ratio": 0.0}``, ``{"type": "multistep", "milestones": [170, 200], "gamma": 0.1,
            "by_epoch": True, ...}`` (milestones in epochs when ``by_epoch``, MMPose's meaning, else
            in optimiser steps) or ``{"type": "constant", ...}``; None: constant.
        total_iters (int): optimiser steps of the whole run. iters_per_epoch (int): per epoch.

    Raises:
        ValueError: unknown type or key (listing the allowed ones).
    """
    cfg = dict(cfg or {"type": "constant", "warmup_iters": 0})
    kind = _checked_type("scheduler", cfg, _SCHEDULER_KEYS, "cosine")
    warm = dict(warmup_iters=int(cfg.get("warmup_iters", 500 if kind != "constant" else 0)),
                warmup_ratio=float(cfg.get("warmup_ratio", 0.001)))
    if kind == "cosine":
        fn: Any = WarmupCosine(total_iters, min_lr_ratio=float(cfg.get("min_lr_ratio", 0.0)), **warm)
    elif kind == "multistep":
        if "milestones" not in cfg:
            raise ValueError("scheduler of type 'multistep' needs 'milestones'")
        scale = iters_per_epoch if cfg.get("by_epoch", True) else 1
        fn = WarmupMultiStep([int(m) * scale for m in cfg["milestones"]], float(cfg.get("gamma", 0.1)), **warm)
    else:
        fn = WarmupMultiStep([], 1.0, **warm)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, fn)
