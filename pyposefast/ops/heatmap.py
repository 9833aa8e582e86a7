"""Heatmap targets (kernel family 1): Gaussian keypoint heatmaps and UDP offset maps, batched.

Symbols: B batch, N instances per sample, K keypoints, heatmap size [W, H] (``heatmap_size=(W, H)``,
tensors ``[..., H, W]``). Keypoints are (x, y) in **heatmap pixels**: the codecs
(``pyposefast.codecs``) divide input-space keypoints by their scale factor first.

Two layouts, chosen by the rank of ``keypoints``:

* top-down, one instance per sample: ``keypoints [B, K, 2]`` -> ``heatmaps [B, K, H, W]``,
  ``keypoint_weights [B, K]``;
* bottom-up, many instances per image, max-merged: ``keypoints [B, N, K, 2]`` ->
  ``heatmaps [B, K, H, W]``, ``keypoint_weights [B, N, K]``.

Keypoint weights follow MMPose: a keypoint with visibility < 0.5 is not drawn and keeps its
visibility as weight; a visible keypoint whose 3-sigma box misses the map gets weight 0; otherwise the
weight is the visibility. NaN, infinite or absurdly far (|x|, |y| >= 1e9) keypoints are never drawn
and get weight 0 (MMPose has no rule for them). Gaussians are evaluated in float64 and rounded once to
the output dtype. The ops are deterministic and not differentiable (targets need no gradient).
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from .._extension import build_info
from . import _checks

_WITH_CUDA = bool(build_info()["with_cuda"])

__all__ = ["gaussian_heatmaps", "udp_offset_heatmaps", "GAUSSIAN_METHODS"]

GAUSSIAN_METHODS = ("msra", "unbiased", "udp")


def _prepare(
    keypoints: torch.Tensor,
    keypoints_visible: Optional[torch.Tensor],
    instance_valid: Optional[torch.Tensor],
) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """Checks and brings inputs to the kernels' form: [B,N,K,2] and [B,N,K] float32, contiguous."""
    keypoints = _checks.require_tensor("keypoints", keypoints)
    _checks.require_floating("keypoints", keypoints)
    if keypoints.dim() not in (3, 4) or keypoints.shape[-1] != 2:
        raise ValueError(
            "keypoints must be [B, K, 2] (top-down) or [B, N, K, 2] (bottom-up), "
            f"got shape {tuple(keypoints.shape)}"
        )
    top_down = keypoints.dim() == 3
    if keypoints.is_cuda and not _WITH_CUDA:
        raise NotImplementedError(
            "keypoints is a CUDA tensor but this pyposefast build has no CUDA kernels (built without "
            "nvcc or with PYPOSEFAST_CUDA=OFF); rebuild with a CUDA toolkit, or pass CPU tensors"
        )
    if keypoints_visible is None:
        keypoints_visible = torch.ones(keypoints.shape[:-1], dtype=torch.float32, device=keypoints.device)
    keypoints_visible = _checks.require_tensor("keypoints_visible", keypoints_visible)
    _checks.require_real_or_bool("keypoints_visible", keypoints_visible)
    if keypoints_visible.shape != keypoints.shape[:-1]:
        raise ValueError(
            f"keypoints_visible must have shape {tuple(keypoints.shape[:-1])} (keypoints.shape[:-1]), "
            f"got {tuple(keypoints_visible.shape)}"
        )
    _checks.require_same_device("keypoints_visible", keypoints_visible, "keypoints", keypoints)
    keypoints = keypoints.detach().to(torch.float32)
    keypoints_visible = keypoints_visible.detach().to(torch.float32)
    if instance_valid is not None:
        if top_down:
            raise ValueError("instance_valid is only for the bottom-up layout (keypoints [B, N, K, 2])")
        instance_valid = _checks.require_tensor("instance_valid", instance_valid)
        _checks.require_real_or_bool("instance_valid", instance_valid)
        if instance_valid.shape != keypoints.shape[:2]:
            raise ValueError(
                f"instance_valid must have shape {tuple(keypoints.shape[:2])} ([B, N]), "
                f"got {tuple(instance_valid.shape)}"
            )
        _checks.require_same_device("instance_valid", instance_valid, "keypoints", keypoints)
        keypoints_visible = keypoints_visible * (instance_valid.detach() != 0).unsqueeze(-1)
    if top_down:
        keypoints = keypoints.unsqueeze(1)
        keypoints_visible = keypoints_visible.unsqueeze(1)
    return keypoints.contiguous(), keypoints_visible.contiguous(), top_down


def gaussian_heatmaps(
    keypoints: torch.Tensor,
    keypoints_visible: Optional[torch.Tensor],
    heatmap_size: Sequence[int],
    sigma: float,
    method: str = "msra",
    *,
    instance_valid: Optional[torch.Tensor] = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gaussian keypoint heatmaps for a whole batch in one kernel launch.

    Args:
        keypoints (Tensor[B, K, 2] or Tensor[B, N, K, 2]): (x, y) in heatmap pixels, any floating
            dtype (computed in float32), CPU or CUDA.
        keypoints_visible (Tensor[B, K] or Tensor[B, N, K], optional): visibility (float, int or
            bool); None means all visible.
        heatmap_size (tuple[int, int]): (W, H).
        sigma (float): Gaussian standard deviation in heatmap pixels (> 0).
        method (str): ``'msra'`` (MSRAHeatmap: integer centre ``int(mu + 0.5)``, patch of radius
            3 sigma, peak 1 at the integer centre), ``'unbiased'`` (MSRAHeatmap(unbiased=True) /
            DARK: float centre, whole map) or ``'udp'`` (UDPHeatmap gaussian: integer patch, sub-pixel
            centre).
        instance_valid (Tensor[B, N], optional): bottom-up only; instances where it is 0/False are
            ignored (their weights are 0).
        dtype (torch.dtype): heatmap dtype: float32 (default), float16 or bfloat16.

    Returns:
        (heatmaps, keypoint_weights): heatmaps ``Tensor[B, K, H, W]`` of ``dtype`` (instances
        max-merged); keypoint_weights float32 ``Tensor[B, K]`` (top-down) or ``Tensor[B, N, K]``.

    Raises:
        TypeError: non-tensor or non-floating keypoints, complex visibility, unsupported dtype.
        ValueError: wrong ranks or shapes, mixed devices, non-positive sizes or sigma, unknown method.
    """
    kp, vis, top_down = _prepare(keypoints, keypoints_visible, instance_valid)
    W, H = _checks.size_pair("heatmap_size", heatmap_size)
    sigma = _checks.positive_float("sigma", sigma)
    method = _checks.choice("method", method, GAUSSIAN_METHODS)
    dtype = _checks.output_dtype("dtype", dtype)
    heatmaps, weights = torch.ops.pyposefast.gaussian_heatmaps(kp, vis, W, H, sigma, method, dtype)
    return heatmaps, (weights.squeeze(1) if top_down else weights)


def udp_offset_heatmaps(
    keypoints: torch.Tensor,
    keypoints_visible: Optional[torch.Tensor],
    heatmap_size: Sequence[int],
    radius_factor: float = 0.0546875,
    *,
    instance_valid: Optional[torch.Tensor] = None,
    dtype: torch.dtype = torch.float32,
) -> tuple[torch.Tensor, torch.Tensor]:
    """UDP "combined" targets: a classification disk and x/y offset maps per keypoint.

    With ``r = radius_factor * max(W, H)``, for every pixel p: ``x_off = (mu_x - p_x) / r``,
    ``y_off = (mu_y - p_y) / r`` over the **whole** map and ``cls = 1 if x_off^2 + y_off^2 <= 1``
    (MMPose 1.3.2 ``generate_offset_heatmap``, as coded). With several instances the last visible one
    draws keypoint k (MMPose overwrites). Weights are the visibility (no bounds test); NaN keypoints
    get weight 0 and are not drawn.

    Args:
        keypoints (Tensor[B, K, 2] or Tensor[B, N, K, 2]): (x, y) in heatmap pixels.
        keypoints_visible (Tensor[B, K] or Tensor[B, N, K], optional): visibility; None = visible.
        heatmap_size (tuple[int, int]): (W, H).
        radius_factor (float): disk radius as a fraction of max(W, H) (> 0).
        instance_valid (Tensor[B, N], optional): bottom-up only; invalid instances are ignored.
        dtype (torch.dtype): float32 (default), float16 or bfloat16.

    Returns:
        (heatmaps, keypoint_weights): heatmaps ``Tensor[B, 3K, H, W]`` with channels
        (cls, x_off, y_off) per keypoint; keypoint_weights float32 ``Tensor[B, K]`` or ``[B, N, K]``.
    """
    kp, vis, top_down = _prepare(keypoints, keypoints_visible, instance_valid)
    W, H = _checks.size_pair("heatmap_size", heatmap_size)
    radius_factor = _checks.positive_float("radius_factor", radius_factor)
    dtype = _checks.output_dtype("dtype", dtype)
    radius = radius_factor * max(W, H)
    heatmaps, weights = torch.ops.pyposefast.udp_offset_heatmaps(kp, vis, W, H, radius, dtype)
    return heatmaps, (weights.squeeze(1) if top_down else weights)
