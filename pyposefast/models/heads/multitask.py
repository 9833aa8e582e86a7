"""VisibilityHead: per-keypoint visibility classification, the branch MMPose's ``VisPredictHead``
adds beside a keypoint head (global average pooling -> one linear layer -> K logits, binary
cross-entropy). Used as one head of a ``MultiTaskPoseEstimator`` (2D keypoints + visibility).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import Feats

__all__ = ["VisibilityHead", "BCEWithLogitsLoss"]


class BCEWithLogitsLoss(nn.Module):
    """MMPose's ``BCELoss`` (``reduction='mean'``) on logits: ``mean(w * bce(sigmoid(logits), t)) *
    loss_weight``, with ``w`` = 1 unless ``use_target_weight``.

    Args:
        use_target_weight (bool): multiply each element's loss by its weight.
        loss_weight (float): scale of the loss.
    """

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_target_weight, self.loss_weight = use_target_weight, float(loss_weight)

    def forward(self, logits: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        """logits (Tensor[B, K]), target (Tensor[B, K] in [0, 1]), target_weight (Tensor[B, K] or [B])
        -> scalar."""
        loss = F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype), reduction="none")
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError("target_weight is required with use_target_weight=True")
            w = target_weight.to(logits.dtype)
            loss = loss * (w[:, None] if w.dim() == 1 else w)
        return loss.mean() * self.loss_weight


class VisibilityHead(nn.Module):
    """Per-keypoint visibility: ``feats[-1]`` (Tensor[B, C, H, W] or pooled [B, C]) -> average
    pooling -> Linear(C, K) -> logits Tensor[B, K].

    Args:
        in_channels (int): C of the last feature map.
        num_joints (int): K.
        loss (nn.Module, optional): ``loss(logits, labels, weights)``; default
            ``BCEWithLogitsLoss(use_target_weight=False)`` (MMPose's ``BCELoss`` default).
        threshold (float): visible when the probability is >= threshold (the accuracy ``acc_vis``).

    Linear weights start as MMPose's (normal, std 0.01; bias 0).
    """

    def __init__(self, in_channels: int, num_joints: int, loss: Optional[nn.Module] = None,
                 threshold: float = 0.5) -> None:
        super().__init__()
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels must be a positive int, got {in_channels!r}")
        if not isinstance(num_joints, int) or num_joints < 1:
            raise ValueError(f"num_joints must be a positive int, got {num_joints!r}")
        self.in_channels, self.num_joints, self.threshold = in_channels, num_joints, float(threshold)
        self.loss_module = loss if loss is not None else BCEWithLogitsLoss()
        self.fc = nn.Linear(in_channels, num_joints)
        nn.init.normal_(self.fc.weight, std=0.01)
        nn.init.zeros_(self.fc.bias)

    def forward(self, feats: Feats) -> Tensor:
        """feats (tuple[Tensor]) -> visibility logits Tensor[B, K]."""
        x = feats[-1]
        if x.dim() == 4:
            x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        elif x.dim() != 2:
            raise ValueError(f"VisibilityHead takes [B, C, H, W] or [B, C] features, got {tuple(x.shape)}")
        return self.fc(x)

    def loss(self, feats: Feats, keypoints_visible: Tensor,
             keypoints_visible_weights: Optional[Tensor] = None) -> dict[str, Tensor]:
        """Losses of a batch.

        Args:
            feats (tuple[Tensor]): features.
            keypoints_visible (Tensor[B, K]): visibility labels in [0, 1] (MMPose trains on the
                keypoint weights: 1 where labelled visible).
            keypoints_visible_weights (Tensor[B, K], optional): per-label weights (used by a loss
                with ``use_target_weight``; also weight the accuracy).

        Returns:
            dict: ``loss_vis`` (scalar) and ``acc_vis`` (scalar, no gradient).
        """
        logits = self.forward(feats)
        if keypoints_visible.shape != logits.shape:
            raise ValueError(f"keypoints_visible must be [B, K] = {list(logits.shape)}, got "
                             f"{list(keypoints_visible.shape)}")
        labels = keypoints_visible.to(logits.dtype)
        loss = self.loss_module(logits, labels, keypoints_visible_weights)
        with torch.no_grad():
            correct = ((logits.sigmoid() >= self.threshold).to(logits.dtype) == labels).to(logits.dtype)
            if keypoints_visible_weights is not None:
                w = keypoints_visible_weights.to(logits.dtype)
                acc = ((correct * w).sum(1) / (w.sum(1) + 1e-6)).mean()
            else:
                acc = correct.mean()
        return {"loss_vis": loss, "acc_vis": acc}

    def predict(self, feats: Feats, flipped_feats: Optional[Feats] = None, *,
                flip_indices: Optional[Sequence[int]] = None) -> Tensor:
        """Visibility probabilities Tensor[B, K] float (sigmoid); with ``flipped_feats`` (the
        horizontally flipped crops' features) the mean with the flipped prediction, its keypoints
        swapped by ``flip_indices`` (MMPose's ``flip_visibility``)."""
        prob = self.forward(feats).sigmoid()
        if flipped_feats is not None:
            if flip_indices is None or len(flip_indices) != self.num_joints:
                raise ValueError(f"flip_indices of length {self.num_joints} is required with flipped_feats, got "
                                 f"{None if flip_indices is None else len(flip_indices)}")
            index = torch.as_tensor(list(flip_indices), dtype=torch.long, device=prob.device)
            prob = (prob + self.forward(flipped_feats).sigmoid().index_select(1, index)) * 0.5
        return prob
