"""Exponential moving average of a model's weights (MMPose/MMDetection's ``ExpMomentumEMA``).

After optimiser step t (counting from 0) the averaged parameters move towards the model's by
``momentum_t = (1 - m) * exp(-(1 + t) / gamma) + m`` with ``m = 1 - decay``: a fast start that
settles at ``decay``. ``gamma=None`` keeps ``momentum = 1 - decay`` throughout. Buffers (BatchNorm
statistics) are copied, as ``update_buffers=False`` does.
"""

from __future__ import annotations

import copy
import math
from typing import Any, Dict, Optional

import torch
from torch import nn

__all__ = ["ModelEMA"]


class ModelEMA:
    """The averaged copy of a model.

    Args:
        model (nn.Module): the trained model (not DDP-wrapped).
        decay (float): long-run decay in (0, 1), e.g. 0.9998 (RTMPose's momentum 0.0002).
        gamma (float, optional): warm-up length of the momentum in steps. Defaults to 2000.
    """

    def __init__(self, model: nn.Module, decay: float, gamma: Optional[float] = 2000.0) -> None:
        if not 0.0 < float(decay) < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1), got {decay}")
        if gamma is not None and not gamma > 0:
            raise ValueError(f"ema gamma must be positive, got {gamma}")
        self.decay, self.gamma = float(decay), gamma
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)
        self.steps = 0

    def momentum(self, step: int) -> float:
        """The update weight of the model at optimiser step ``step``."""
        m = 1.0 - self.decay
        if self.gamma is None:
            return m
        return (1.0 - m) * math.exp(-(1 + step) / self.gamma) + m

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards ``model`` (one call per optimiser step; no host sync)."""
        w = self.momentum(self.steps)
        ema_p = [p for p in self.module.parameters()]
        cur_p = [p.detach() for p in model.parameters()]
        if ema_p:
            torch._foreach_lerp_(ema_p, cur_p, w)
        for e, b in zip(self.module.buffers(), model.buffers()):
            e.copy_(b)
        self.steps += 1

    def state_dict(self) -> Dict[str, Any]:
        return {"module": self.module.state_dict(), "steps": self.steps, "decay": self.decay, "gamma": self.gamma}

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        self.module.load_state_dict(state["module"])
        self.steps = int(state["steps"])
