"""Fake (meta) kernels of every pyposefast op, so torch.compile and FakeTensor can trace them.

Each one returns empty tensors of the shapes and dtypes its kernels produce.
"""

from __future__ import annotations

import torch


@torch.library.register_fake("pyposefast::gaussian_heatmaps")
def _gaussian_heatmaps_fake(keypoints, keypoints_visible, heatmap_width, heatmap_height, sigma, method, dtype):
    torch._check(keypoints.dim() == 4 and keypoints.shape[3] == 2, lambda: "keypoints must be [B, N, K, 2]")
    B, N, K = keypoints.shape[0], keypoints.shape[1], keypoints.shape[2]
    heatmaps = keypoints.new_empty((B, K, heatmap_height, heatmap_width), dtype=dtype)
    weights = keypoints.new_empty((B, N, K), dtype=torch.float32)
    return heatmaps, weights


@torch.library.register_fake("pyposefast::udp_offset_heatmaps")
def _udp_offset_heatmaps_fake(keypoints, keypoints_visible, heatmap_width, heatmap_height, radius, dtype):
    torch._check(keypoints.dim() == 4 and keypoints.shape[3] == 2, lambda: "keypoints must be [B, N, K, 2]")
    B, N, K = keypoints.shape[0], keypoints.shape[1], keypoints.shape[2]
    heatmaps = keypoints.new_empty((B, 3 * K, heatmap_height, heatmap_width), dtype=dtype)
    weights = keypoints.new_empty((B, N, K), dtype=torch.float32)
    return heatmaps, weights
