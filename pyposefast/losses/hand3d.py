"""BCELoss: binary cross-entropy for multi-label outputs (InterNet's hand-type head), MMPose 1.x's
``BCELoss`` (same arguments, same numbers).

Symbols: B batch, L labels. Differentiable, deterministic, device-agnostic.
"""

from __future__ import annotations

from typing import Optional

import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["BCELoss"]


class BCELoss(nn.Module):
    """``BCE(output, target) * w`` reduced, times ``loss_weight``.

    Args:
        use_target_weight (bool): multiply the per-label losses by ``target_weight`` ([B, L], or [B]
            / [B, 1] broadcast over the labels).
        loss_weight (float): multiplier of the loss.
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
        use_sigmoid (bool): the output is already a probability (``binary_cross_entropy``); otherwise
            it is a logit (``binary_cross_entropy_with_logits``, MMPose's default).
    """

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0, reduction: str = "mean",
                 use_sigmoid: bool = False) -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.use_sigmoid = use_sigmoid

    def forward(self, output: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        """Args:
            output (Tensor[B, L]): logits (probabilities with ``use_sigmoid``).
            target (Tensor[B, L]): labels in [0, 1].
            target_weight (Tensor[B, L] or Tensor[B] or Tensor[B, 1], optional): needed with
                ``use_target_weight``.

        Returns:
            Tensor: scalar (or [B, L] with ``reduction='none'``).
        """
        if output.shape != target.shape:
            raise ValueError(f"output {tuple(output.shape)} and target {tuple(target.shape)} must match")
        criterion = F.binary_cross_entropy if self.use_sigmoid else F.binary_cross_entropy_with_logits
        loss = criterion(output, target, reduction="none")
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError("BCELoss(use_target_weight=True) needs target_weight")
            w = target_weight[:, None] if target_weight.dim() == 1 else target_weight
            loss = loss * w
        if self.reduction == "sum":
            loss = loss.sum()
        elif self.reduction == "mean":
            loss = loss.mean()
        return loss * self.loss_weight
