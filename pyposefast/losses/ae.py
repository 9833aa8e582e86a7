"""Associative embedding loss (Newell et al., NeurIPS 2017): pull tags of one person together,
push the mean tags of different people apart.

Symbols: B images, N instances, K keypoints, L tag dimensions, H, W tag-map size.
"""

from __future__ import annotations

from typing import Sequence, Union

import torch
from torch import Tensor, nn

__all__ = ["AssociativeEmbeddingLoss"]


class AssociativeEmbeddingLoss(nn.Module):
    """Pull/push loss on tag maps, MMPose 1.x's numbers.

    Per image, over instances with at least one visible keypoint, with ``t_nk`` the tag (L-vector) at
    the keypoint's flat index and ``m_n`` the instance's mean tag:
    ``pull = (1/N) sum_n mean_{k,l}(t_nk - m_n)^2`` and
    ``push = sum_{i,j,l} exp(-(m_il - m_jl)^2) / (N (N - 1))`` (the diagonal included, as MMPose codes
    it; 0 for N = 1; eps 1e-6 in both denominators). Returned as ``(sum_b pull * w, sum_b push * w * f)``.

    Args:
        loss_weight (float): w.
        push_loss_factor (float): f.
    """

    def __init__(self, loss_weight: float = 1.0, push_loss_factor: float = 0.5) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.push_loss_factor = push_loss_factor

    def _per_image(self, tags: Tensor, keypoint_indices: Tensor) -> tuple[Tensor, Tensor]:
        K = keypoint_indices.shape[1]
        C, H, W = tags.shape
        tags = tags.view(C // K, K, H * W)  # [L, K, HW]
        idx = keypoint_indices[..., 0].long().clamp(0, H * W - 1)  # [N, K]
        vis = keypoint_indices[..., 1] > 0  # [N, K]
        kk = torch.arange(K, device=tags.device).expand_as(idx)
        picked = tags[:, kk, idx].permute(1, 2, 0)  # [N, K, L]
        cnt = vis.sum(dim=1)  # [N]
        keep = cnt > 0
        N = int(keep.sum())
        zero = tags.new_zeros(())
        if N == 0:
            return zero, zero
        picked, visf, cnt = picked[keep], vis[keep].to(tags.dtype), cnt[keep].to(tags.dtype)
        mean = (picked * visf[..., None]).sum(dim=1) / cnt[:, None]  # [N, L]
        sq = (picked - mean[:, None]).pow(2) * visf[..., None]
        pull = (sq.sum(dim=(1, 2)) / (cnt * picked.shape[-1])).sum()
        eps = 1e-6
        pull = pull / (N + eps)
        if N == 1:
            return pull, zero
        diff = mean[None] - mean[:, None]
        push = torch.exp(-diff.pow(2)).sum() / ((N - 1) * N + eps)
        return pull, push

    def forward(self, tags: Tensor, keypoint_indices: Union[Sequence[Tensor], Tensor]) -> tuple[Tensor, Tensor]:
        """Args:
            tags (Tensor[B, L*K, H, W]): tag maps (channel ``l*K + k``).
            keypoint_indices (Tensor[B, N, K, 2] or list of Tensor[N_b, K, 2]): per instance and
                keypoint ``(flat index y*W + x, visible)``, as the AssociativeEmbedding codec encodes.

        Returns:
            tuple: ``(pull_loss, push_loss)`` scalars.
        """
        if tags.shape[0] != len(keypoint_indices):
            raise ValueError(f"tags hold {tags.shape[0]} images but keypoint_indices {len(keypoint_indices)}")
        pull = tags.new_zeros(())
        push = tags.new_zeros(())
        for i in range(tags.shape[0]):
            ki = torch.as_tensor(keypoint_indices[i], device=tags.device)
            if ki.numel() == 0:
                continue
            p, q = self._per_image(tags[i], ki)
            pull = pull + p * self.loss_weight
            push = push + q * self.loss_weight * self.push_loss_factor
        return pull, push
