"""Flip-test merging (MMPose's ``models/utils/tta.py``): bring the flipped image's outputs back.

The estimator also runs the network on ``img.flip(-1)``; these functions flip those outputs back
(mirror along x, swap left/right keypoints by ``flip_indices``) so that the caller can average them
with the original outputs: ``0.5 * (outputs + flip_heatmaps(flipped_outputs, ...))``. They are
plain tensor ops on the outputs' device (differentiable, compile-friendly); MMPose's names,
arguments and results.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from .._constants import device_constant

__all__ = ["FLIP_MODES", "flip_heatmaps", "flip_vectors"]

FLIP_MODES = ("heatmap", "udp_combined", "offset")


def _flip_index(flip_indices: Sequence[int], count: int, device: torch.device, name: str) -> torch.Tensor:
    index = torch.as_tensor(list(flip_indices), dtype=torch.long)
    if index.dim() != 1 or index.numel() != count:
        raise ValueError(f"{name} must list {count} keypoint indices, got {len(index)}")
    if count and (index.min() < 0 or index.max() >= count):
        raise ValueError(f"{name} must hold indices in [0, {count}), got {list(flip_indices)}")
    return device_constant(index.numpy(), torch.long, device)


def flip_heatmaps(
    heatmaps: torch.Tensor,
    flip_indices: Optional[Sequence[int]] = None,
    flip_mode: str = "heatmap",
    shift_heatmap: bool = True,
) -> torch.Tensor:
    """Flip the flipped image's heatmaps back (MMPose's ``flip_heatmaps``).

    Args:
        heatmaps (Tensor[B, C, H, W]): the network's output on the horizontally flipped images.
        flip_indices (list[int], optional): the symmetric keypoint of each keypoint (length K); None
            keeps the channel order.
        flip_mode (str): ``'heatmap'`` (C = K: mirror and permute), ``'udp_combined'`` (C = 3K:
            also negate the x-offset planes) or ``'offset'`` (C = 2K x-offset, y-offset pairs per
            keypoint... as MMPose: [B, K, C/K, H, W] mirrored, permuted, first plane negated).
        shift_heatmap (bool): shift the result one pixel to the right (column 0 keeps its value), as
            MMPose's MSRA/DARK configs do. Defaults to True (MMPose's default).

    Returns:
        Tensor[B, C, H, W]: a new tensor (the input is not modified).
    """
    if not isinstance(heatmaps, torch.Tensor) or heatmaps.dim() != 4:
        raise ValueError(f"heatmaps must be a [B, C, H, W] tensor, got {getattr(heatmaps, 'shape', type(heatmaps))}")
    if flip_mode not in FLIP_MODES:
        raise ValueError(f'Invalid flip_mode value "{flip_mode}"')
    B, C, H, W = heatmaps.shape
    group = {"heatmap": 1, "udp_combined": 3, "offset": 2}[flip_mode]
    if C % group != 0:
        raise ValueError(f"flip_mode={flip_mode!r} needs C divisible by {group}, got C={C}")
    out = heatmaps.reshape(B, C // group, group, H, W).flip(-1)
    if flip_indices is not None:
        out = out.index_select(1, _flip_index(flip_indices, C // group, heatmaps.device, "flip_indices"))
    if flip_mode != "heatmap":
        negated = 1 if flip_mode == "udp_combined" else 0
        sign = torch.ones(group, dtype=out.dtype, device=out.device)
        sign[negated] = -1
        out = out * sign.view(1, 1, group, 1, 1)
    out = out.reshape(B, C, H, W)
    if shift_heatmap:
        out = torch.cat([out[..., :1], out[..., :-1]], dim=-1)
    return out


def flip_vectors(
    x_labels: torch.Tensor, y_labels: torch.Tensor, flip_indices: Sequence[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flip the flipped image's SimCC vectors back (MMPose's ``flip_vectors``).

    Args:
        x_labels (Tensor[B, K, Wx]): x-axis vectors; permuted by ``flip_indices`` and reversed.
        y_labels (Tensor[B, K, Wy]): y-axis vectors; permuted only.
        flip_indices (list[int]): the symmetric keypoint of each keypoint (length K).

    Returns:
        tuple: the flipped-back ``(x_labels, y_labels)`` (new tensors).
    """
    if x_labels.dim() != 3 or y_labels.dim() != 3:
        raise ValueError(f"x_labels and y_labels must be [B, K, W], got {tuple(x_labels.shape)} and {tuple(y_labels.shape)}")
    if x_labels.shape[1] != y_labels.shape[1]:
        raise ValueError(f"x_labels and y_labels must have the same K, got {x_labels.shape[1]} and {y_labels.shape[1]}")
    index = _flip_index(flip_indices, x_labels.shape[1], x_labels.device, "flip_indices")
    return x_labels.index_select(1, index).flip(-1), y_labels.index_select(1, index.to(y_labels.device))
