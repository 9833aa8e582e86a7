"""Heatmap losses: MSE with target weights, online hard keypoint mining, UDP combined target,
adaptive wing.

Symbols: B batch, K keypoints, H, W heatmap height and width. All losses are differentiable,
deterministic, device-agnostic, and give MMPose 1.x's numbers on the same inputs.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["KeypointMSELoss", "KeypointOHKMMSELoss", "CombinedTargetMSELoss", "AdaptiveWingLoss"]


def _expand_weights(weights: Tensor, target: Tensor, name: str = "target_weights") -> Tensor:
    if weights.dim() not in (2, 4) or tuple(weights.shape) != tuple(target.shape[: weights.dim()]):
        raise ValueError(
            f"{name} must be Tensor[B, K] or Tensor[B, K, H, W] matching the target "
            f"{tuple(target.shape)}, got {tuple(weights.shape)}"
        )
    return weights.view(tuple(weights.shape) + (1,) * (target.dim() - weights.dim()))


class KeypointMSELoss(nn.Module):
    """Mean squared error between heatmaps, masked per keypoint and per pixel.

    ``L = mean_{b,k,y,x}[(P - T)^2 * M] * loss_weight`` where the mask M is the target weight
    (entering linearly), times an optional pixel mask, times ``[channel has a non-zero target]``
    when ``skip_empty_channel``. The mean runs over all elements, masked ones included.

    Args:
        use_target_weight (bool): weight each keypoint by its target weight. Kept for MMPose
            compatibility: weights passed to ``forward`` are always used.
        skip_empty_channel (bool): ignore channels whose target is all zero.
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, use_target_weight: bool = False, skip_empty_channel: bool = False,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.skip_empty_channel = skip_empty_channel
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor, target_weights: Optional[Tensor] = None,
                mask: Optional[Tensor] = None) -> Tensor:
        """Args:
            output (Tensor[B, K, H, W]): predicted heatmaps.
            target (Tensor[B, K, H, W]): target heatmaps.
            target_weights (Tensor[B, K] or Tensor[B, K, H, W], optional): keypoint / pixel weights.
            mask (Tensor[B, K or 1, H, W], optional): valid-pixel mask.

        Returns:
            Tensor: scalar loss.
        """
        m = None
        if mask is not None:
            if mask.dim() != target.dim() or any(a not in (b, 1) for a, b in zip(mask.shape, target.shape)):
                raise ValueError(f"mask {tuple(mask.shape)} does not broadcast to target {tuple(target.shape)}")
            m = mask
        if target_weights is not None:
            w = _expand_weights(target_weights, target)
            m = w if m is None else m * w
        if self.skip_empty_channel:
            nonempty = (target != 0).flatten(2).any(dim=2)
            nonempty = nonempty.view(tuple(nonempty.shape) + (1,) * (target.dim() - 2))
            m = nonempty if m is None else m * nonempty
        if m is None:
            loss = F.mse_loss(output, target)
        else:
            loss = (F.mse_loss(output, target, reduction="none") * m).mean()
        return loss * self.loss_weight


class KeypointOHKMMSELoss(nn.Module):
    """MSE with online hard keypoint mining: the mean of the ``topk`` largest per-keypoint losses.

    Per sample and keypoint ``l_bk = mean_{yx}(w*P - w*T)^2`` (the weight multiplies the inputs);
    ``L = mean_b (1/topk) sum(top-k_k l_bk) * loss_weight``.

    Args:
        use_target_weight (bool): multiply prediction and target by the keypoint weights.
        topk (int): number of hardest keypoints kept per sample (> 0, <= K).
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, use_target_weight: bool = False, topk: int = 8, loss_weight: float = 1.0) -> None:
        super().__init__()
        if topk <= 0:
            raise ValueError(f"topk must be positive, got {topk}")
        self.use_target_weight = use_target_weight
        self.topk = topk
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor, target_weights: Optional[Tensor] = None) -> Tensor:
        """Args:
            output, target (Tensor[B, K, H, W]): heatmaps.
            target_weights (Tensor[B, K]): keypoint weights (used with ``use_target_weight``).
        """
        K = output.shape[1]
        if K < self.topk:
            raise ValueError(f"topk ({self.topk}) should not be larger than num_keypoints ({K}).")
        if self.use_target_weight:
            w = target_weights[:, :, None, None]
            output, target = output * w, target * w
        losses = (output - target).pow(2).mean(dim=(2, 3))  # [B, K]
        top = torch.topk(losses, k=self.topk, dim=1, sorted=False).values
        return (top.sum(dim=1) / self.topk).mean() * self.loss_weight


class CombinedTargetMSELoss(nn.Module):
    """MSE for UDP's combined target (per keypoint: response map, x offset map, y offset map).

    For each keypoint ``0.5*MSE(w*cls_hat, w*cls) + 0.5*MSE(c*x_hat, c*x) + 0.5*MSE(c*y_hat, c*y)`` with
    ``c = w*cls`` (the weighted target response map, as MMPose computes it),
    summed over keypoints and divided by K.

    Args:
        use_target_weight (bool): weight the response maps by the keypoint weights.
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def forward(self, output: Tensor, target: Tensor, target_weights: Optional[Tensor] = None) -> Tensor:
        """Args:
            output, target (Tensor[B, 3K, H, W]): combined maps.
            target_weights (Tensor[B, K]): keypoint weights.
        """
        B, C = output.shape[:2]
        K = C // 3
        p = output.reshape(B, K, 3, -1)
        t = target.reshape(B, K, 3, -1)
        cls_p, cls_t = p[:, :, 0], t[:, :, 0]
        if self.use_target_weight:
            w = target_weights[:, :K, None]
            cls_p, cls_t = cls_p * w, cls_t * w
        hm = cls_t  # MMPose masks the offsets with the weighted response map
        per_k = (cls_p - cls_t).pow(2).mean(dim=(0, 2))
        per_k = per_k + (hm * p[:, :, 1] - hm * t[:, :, 1]).pow(2).mean(dim=(0, 2))
        per_k = per_k + (hm * p[:, :, 2] - hm * t[:, :, 2]).pow(2).mean(dim=(0, 2))
        return (0.5 * per_k).sum() / K * self.loss_weight


class AdaptiveWingLoss(nn.Module):
    """Adaptive wing loss on heatmaps (Wang et al., ICCV 2019), mean over all elements.

    Args:
        alpha (float), omega (float), epsilon (float), theta (float): the loss's parameters.
        use_target_weight (bool): multiply prediction and target by the weights.
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, alpha: float = 2.1, omega: float = 14.0, epsilon: float = 1.0, theta: float = 0.5,
                 use_target_weight: bool = False, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.alpha, self.omega = float(alpha), float(omega)
        self.epsilon, self.theta = float(epsilon), float(theta)
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def criterion(self, pred: Tensor, target: Tensor) -> Tensor:
        delta = (target - pred).abs()
        expo = self.alpha - target
        r = self.theta / self.epsilon
        A = self.omega * (1 / (1 + torch.pow(r, expo))) * expo * torch.pow(r, expo - 1) * (1 / self.epsilon)
        C = self.theta * A - self.omega * torch.log(1 + torch.pow(r, expo))
        small = self.omega * torch.log(1 + torch.pow(delta / self.epsilon, expo))
        return torch.where(delta < self.theta, small, A * delta - C).mean()

    def forward(self, output: Tensor, target: Tensor, target_weights: Optional[Tensor] = None) -> Tensor:
        """Args:
            output, target (Tensor[B, K, H, W]): heatmaps.
            target_weights (Tensor[B, K] or Tensor[B, K, H, W]): weights.
        """
        if self.use_target_weight:
            w = _expand_weights(target_weights, target)
            return self.criterion(output * w, target * w) * self.loss_weight
        return self.criterion(output, target) * self.loss_weight
