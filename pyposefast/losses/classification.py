"""Losses on discrete 1-D distributions (SimCC / RTMPose): KL and Jensen-Shannon divergence.

Symbols: B batch, K keypoints, Wx / Wy bins. Differentiable, deterministic, MMPose 1.x's numbers.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["KLDiscretLoss", "JSDiscretLoss"]


class KLDiscretLoss(nn.Module):
    """KL divergence between target and predicted SimCC distributions, per axis.

    For each axis ``l_bk = mean_bins[q (log q - log_softmax(beta p))]`` with ``q = softmax(label_beta t)``
    when ``label_softmax`` else t; ``L = (1/K) sum_axes sum_{b,k} w_bk l_bk``.

    Args:
        beta (float): temperature of the predicted logits.
        label_softmax (bool): softmax the labels (with ``label_beta``).
        label_beta (float): temperature of the labels.
        use_target_weight (bool): weight per keypoint.
        mask (Sequence[int], optional): keypoints whose loss is scaled by ``mask_weight``.
        mask_weight (float): scale of the masked keypoints.
    """

    def __init__(self, beta: float = 1.0, label_softmax: bool = False, label_beta: float = 10.0,
                 use_target_weight: bool = True, mask: Optional[Sequence[int]] = None,
                 mask_weight: float = 1.0) -> None:
        super().__init__()
        self.beta, self.label_softmax, self.label_beta = beta, label_softmax, label_beta
        self.use_target_weight = use_target_weight
        self.mask = None if mask is None else list(mask)
        self.mask_weight = mask_weight

    def criterion(self, dec_outs: Tensor, labels: Tensor) -> Tensor:
        log_pt = F.log_softmax(dec_outs * self.beta, dim=1)
        if self.label_softmax:
            labels = F.softmax(labels * self.label_beta, dim=1)
        return F.kl_div(log_pt, labels, reduction="none").mean(dim=1)

    def forward(self, pred_simcc: Sequence[Tensor], gt_simcc: Sequence[Tensor],
                target_weight: Optional[Tensor] = None) -> Tensor:
        """Args:
            pred_simcc ((Tensor[B, K, Wx], Tensor[B, K, Wy])): predicted logits.
            gt_simcc ((Tensor[B, K, Wx], Tensor[B, K, Wy])): target distributions.
            target_weight (Tensor[B, K]): keypoint weights.
        """
        B, K, _ = pred_simcc[0].shape
        weight = target_weight.reshape(-1) if self.use_target_weight else 1.0
        loss = 0
        for pred, target in zip(pred_simcc, gt_simcc):
            t_loss = self.criterion(pred.reshape(-1, pred.size(-1)), target.reshape(-1, target.size(-1))) * weight
            if self.mask is not None:
                scale = torch.ones(K, dtype=t_loss.dtype, device=t_loss.device)
                scale[self.mask] = self.mask_weight
                t_loss = (t_loss.reshape(B, K) * scale).reshape(-1)
            loss = loss + t_loss.sum()
        return loss / K


class JSDiscretLoss(nn.Module):
    """Jensen-Shannon divergence between predicted and target discrete distributions (element-wise,
    summed; divided by the batch size with ``size_average``).

    Args:
        use_target_weight (bool): multiply both distributions by the weights.
        size_average (bool): divide by the batch size.
    """

    def __init__(self, use_target_weight: bool = True, size_average: bool = True) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.size_average = size_average

    @staticmethod
    def _kl(p: Tensor, q: Tensor) -> Tensor:
        return F.kl_div((q + 1e-24).log(), p, reduction="none")

    def forward(self, pred_hm: Tensor, gt_hm: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        """Args:
            pred_hm, gt_hm (Tensor[B, K, ...]): distributions. target_weight (Tensor[B, K]): weights.
        """
        if self.use_target_weight:
            w = target_weight
            while w.dim() < pred_hm.dim():
                w = w.unsqueeze(-1)
            pred_hm, gt_hm = pred_hm * w, gt_hm * w
        m = 0.5 * (pred_hm + gt_hm)
        loss = 0.5 * (self._kl(pred_hm, m) + self._kl(gt_hm, m))
        if self.size_average:
            loss = loss / len(gt_hm)
        return loss.sum()
