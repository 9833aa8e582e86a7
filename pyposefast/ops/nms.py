"""OKS non-maximum suppression (evaluation kernels): greedy OKS-NMS and soft OKS-NMS, batched.

Symbols: B images, N candidates (person instances) per image, K keypoints. Keypoints are (x, y) in
image pixels. Images with fewer candidates are padded up to N and say how many are real in
``counts``.

Semantics are MMPose 1.x's (``evaluation/functional/nms.py``, ALGORITHMS.md (g)):

* ``oks(g, d) = mean_k exp(-e_k)``, ``e_k = |d_k - g_k|^2 / (2 sigma_k)^2 / ((a_g + a_d)/2 + eps) / 2``
  with ``eps = np.spacing(1)``, over all K keypoints, or only those whose visibility is above
  ``vis_thr`` in both instances (OKS 0 when none is). ``|.|^2`` is computed in float32 (as NumPy does
  on float32 keypoints), the rest in float64; the OKS is rounded to float32.
* Candidate order: higher score first. MMPose sorts with ``scores.argsort()[::-1]``, whose order of
  equal scores depends on NumPy's sort implementation (on AVX2/AVX-512 machines NumPy's default
  sort is not stable even for 5 elements), so it cannot be matched in general; we break ties by the
  lower candidate index (``np.argsort(-scores, kind='stable')``) and put NaN scores first, as
  ``argsort()[::-1]`` does.
* ``oks_nms``: keep the best remaining candidate, drop every other with OKS > ``thr``, repeat.
* ``soft_oks_nms``: keep the best remaining candidate, rescore the others (``'gaussian'``:
  ``s * exp(-oks^2 / thr)``; ``'linear'``: ``s * (1 - oks)`` where ``oks >= thr``), repeat at most
  ``max_dets`` times. Nothing is dropped by a threshold.

The ops are deterministic and not differentiable; CPU (``at::parallel_for`` over images) and CUDA
(one launch, one block per image) kernels give identical results.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch

from .._extension import build_info
from . import _checks

_WITH_CUDA = bool(build_info()["with_cuda"])

__all__ = ["oks_nms", "soft_oks_nms", "oks_iou_matrix", "SOFT_NMS_METHODS"]

SOFT_NMS_METHODS = ("gaussian", "linear")

TensorLike = Union[torch.Tensor, np.ndarray, Sequence[float]]


def _as_tensor(name: str, value: Any, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        _checks.require_real_or_bool(name, value)
        _checks.require_same_device(name, value, "keypoints", torch.empty(0, device=device))
        return value.detach().to(dtype)
    try:
        return torch.as_tensor(np.asarray(value, dtype=np.float64), device=device).to(dtype)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a tensor, an array or a sequence of numbers, got {type(value).__name__}") from None


def _prepare(keypoints, scores, areas, sigmas, thr, counts, visibility, vis_thr):
    """Checks the arguments and brings them to the kernels' form; returns (args, batched)."""
    keypoints = _checks.require_tensor("keypoints", keypoints)
    _checks.require_floating("keypoints", keypoints)
    if keypoints.dim() not in (3, 4) or keypoints.shape[-1] != 2:
        raise ValueError(f"keypoints must be [N, K, 2] or [B, N, K, 2], got shape {tuple(keypoints.shape)}")
    batched = keypoints.dim() == 4
    if keypoints.is_cuda and not _WITH_CUDA:
        raise NotImplementedError(
            "keypoints is a CUDA tensor but this pyposefast build has no CUDA kernels (built without nvcc or "
            "with PYPOSEFAST_CUDA=OFF); rebuild with a CUDA toolkit, or pass CPU tensors")
    kp = keypoints if batched else keypoints.unsqueeze(0)
    B, N, K = kp.shape[0], kp.shape[1], kp.shape[2]
    dev = kp.device
    scores = _as_tensor("scores", scores, dev, torch.float64)
    areas = _as_tensor("areas", areas, dev, torch.float64)
    if not batched:
        scores, areas = scores.unsqueeze(0), areas.unsqueeze(0)
    want = (B, N) if batched else (N,)
    if scores.shape != (B, N):
        raise ValueError(f"scores must have shape {want} (keypoints.shape[:-2]), got {tuple(scores.shape[int(not batched):])}")
    if areas.shape != (B, N):
        raise ValueError(f"areas must have shape {want} (keypoints.shape[:-2]), got {tuple(areas.shape[int(not batched):])}")
    sigmas = _as_tensor("sigmas", sigmas, dev, torch.float64).reshape(-1) if sigmas is not None else None
    if sigmas is None or sigmas.shape != (K,):
        got = None if sigmas is None else tuple(sigmas.shape)
        raise ValueError(f"sigmas must have shape ({K},) (one per keypoint), got {got}")
    try:
        thr = float(thr)
    except (TypeError, ValueError):
        raise ValueError(f"thr must be a finite number, got {thr!r}") from None
    if not math.isfinite(thr):
        raise ValueError(f"thr must be a finite number, got {thr!r}")
    if counts is None:
        counts = torch.full((B,), N, dtype=torch.int64, device=dev)
    else:
        if not batched:
            raise ValueError("counts is only for the batched layout (keypoints [B, N, K, 2])")
        counts = _checks.require_tensor("counts", counts)
        if counts.dtype.is_floating_point or counts.dtype.is_complex or counts.dtype == torch.bool:
            raise TypeError(f"counts must be an integer tensor, got dtype {counts.dtype}")
        if counts.shape != (B,):
            raise ValueError(f"counts must have shape ({B},) ([B]), got {tuple(counts.shape)}")
        _checks.require_same_device("counts", counts, "keypoints", kp)
        counts = counts.to(torch.int64)
        if not counts.is_cuda and counts.numel() and (int(counts.min()) < 0 or int(counts.max()) > N):
            raise ValueError(f"counts must lie in [0, N={N}], got values in [{int(counts.min())}, {int(counts.max())}]")
    if vis_thr is not None:
        if visibility is None:
            raise ValueError("vis_thr needs visibility (the per-keypoint scores or visibilities)")
        vis_thr = float(vis_thr)
    if visibility is not None:
        visibility = _checks.require_tensor("visibility", visibility)
        _checks.require_real_or_bool("visibility", visibility)
        _checks.require_same_device("visibility", visibility, "keypoints", kp)
        if visibility.shape != keypoints.shape[:-1]:
            raise ValueError(f"visibility must have shape {tuple(keypoints.shape[:-1])} (keypoints.shape[:-1]), "
                             f"got {tuple(visibility.shape)}")
        visibility = visibility.detach().to(torch.float32).reshape(B, N, K).contiguous()
    args = (kp.detach().to(torch.float32).contiguous(), scores.contiguous(), areas.contiguous(), sigmas.contiguous(),
            counts.contiguous(), visibility, vis_thr)
    return args, thr, batched


def oks_nms(
    keypoints: torch.Tensor,
    scores: TensorLike,
    areas: TensorLike,
    sigmas: TensorLike,
    thr: float,
    *,
    counts: Optional[torch.Tensor] = None,
    visibility: Optional[torch.Tensor] = None,
    vis_thr: Optional[float] = None,
) -> torch.Tensor:
    """Greedy OKS-NMS for a batch of images in one kernel launch.

    Args:
        keypoints (Tensor[B, N, K, 2] or Tensor[N, K, 2]): (x, y) per candidate, any float dtype
            (computed in float32), CPU or CUDA.
        scores (Tensor[B, N] or Tensor[N]): candidate scores (computed in float64).
        areas (Tensor[B, N] or Tensor[N]): candidate areas (the OKS scale).
        sigmas (Tensor[K] or sequence): per-keypoint OKS sigmas of the dataset.
        thr (float): candidates whose OKS with a kept one is above ``thr`` are dropped.
        counts (Tensor[B], optional): real candidates per image (the rest is padding); None = N.
        visibility (Tensor[B, N, K] or Tensor[N, K], optional): per-keypoint visibility or score,
            read only with ``vis_thr``.
        vis_thr (float, optional): only keypoints visible above this in both instances count.

    Returns:
        Tensor[B, N] (or Tensor[N]) int64: the kept candidates' indices in score order, then -1.

    Raises:
        TypeError / ValueError: bad types, shapes, devices or thresholds, naming the argument.
    """
    (kp, s, a, sg, cnt, vis, vthr), thr, batched = _prepare(keypoints, scores, areas, sigmas, thr, counts,
                                                            visibility, vis_thr)
    keep = torch.ops.pyposefast.oks_nms(kp, s, a, sg, cnt, vis, vthr, thr)
    return keep if batched else keep[0]


def soft_oks_nms(
    keypoints: torch.Tensor,
    scores: TensorLike,
    areas: TensorLike,
    sigmas: TensorLike,
    thr: float,
    max_dets: int = 20,
    *,
    method: str = "gaussian",
    counts: Optional[torch.Tensor] = None,
    visibility: Optional[torch.Tensor] = None,
    vis_thr: Optional[float] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft OKS-NMS for a batch of images in one kernel launch.

    Args: as :func:`oks_nms`, plus
        max_dets (int): at most this many candidates are kept per image (>= 0).
        method (str): ``'gaussian'`` (MMPose's default; ``thr`` > 0) or ``'linear'``.

    Returns:
        (keep, kept_scores): ``Tensor[B, M]`` int64 kept indices in the order they were picked,
        then -1; ``Tensor[B, M]`` float64, each kept candidate's rescored score when it was picked,
        then 0; ``M = min(N, max_dets)``. Unbatched input gives ``[M]``.
    """
    (kp, s, a, sg, cnt, vis, vthr), thr, batched = _prepare(keypoints, scores, areas, sigmas, thr, counts,
                                                            visibility, vis_thr)
    method = _checks.choice("method", method, SOFT_NMS_METHODS)
    if isinstance(max_dets, bool) or not isinstance(max_dets, (int, np.integer)) or max_dets < 0:
        raise ValueError(f"max_dets must be a non-negative int, got {max_dets!r}")
    if method == "gaussian" and not thr > 0:
        raise ValueError(f"thr must be positive for the gaussian method, got {thr!r}")
    keep, kept = torch.ops.pyposefast.soft_oks_nms(kp, s, a, sg, cnt, vis, vthr, thr, int(max_dets), method)
    return (keep, kept) if batched else (keep[0], kept[0])


def oks_iou_matrix(
    keypoints_a: torch.Tensor,
    keypoints_b: torch.Tensor,
    areas_a: torch.Tensor,
    areas_b: torch.Tensor,
    sigmas: TensorLike,
    *,
    visibility_a: Optional[torch.Tensor] = None,
    visibility_b: Optional[torch.Tensor] = None,
    vis_thr: Optional[float] = None,
) -> torch.Tensor:
    """OKS between every pair of two instance sets, by the NMS formula above (any device).

    Args:
        keypoints_a (Tensor[..., N, K, 2]), keypoints_b (Tensor[..., M, K, 2]): (x, y).
        areas_a (Tensor[..., N]), areas_b (Tensor[..., M]): instance areas.
        sigmas (Tensor[K] or sequence): per-keypoint OKS sigmas.
        visibility_a (Tensor[..., N, K]), visibility_b (Tensor[..., M, K]), vis_thr: as in
            :func:`oks_nms` (all three or none).

    Returns:
        Tensor[..., N, M] float32: ``oks[..., i, j]`` of instance i of a and instance j of b.
    """
    for name, t in (("keypoints_a", keypoints_a), ("keypoints_b", keypoints_b)):
        _checks.require_tensor(name, t)
        _checks.require_floating(name, t)
        if t.dim() < 3 or t.shape[-1] != 2:
            raise ValueError(f"{name} must be [..., N, K, 2], got shape {tuple(t.shape)}")
    if keypoints_a.shape[-2] != keypoints_b.shape[-2]:
        raise ValueError(f"keypoints_a and keypoints_b must have the same K, got {keypoints_a.shape[-2]} and "
                         f"{keypoints_b.shape[-2]}")
    _checks.require_same_device("keypoints_b", keypoints_b, "keypoints_a", keypoints_a)
    dev = keypoints_a.device
    K = keypoints_a.shape[-2]
    sg = _as_tensor("sigmas", sigmas, dev, torch.float64).reshape(-1)
    if sg.shape != (K,):
        raise ValueError(f"sigmas must have shape ({K},), got {tuple(sg.shape)}")
    aa = _as_tensor("areas_a", areas_a, dev, torch.float64)
    ab = _as_tensor("areas_b", areas_b, dev, torch.float64)
    if aa.shape != keypoints_a.shape[:-2] or ab.shape != keypoints_b.shape[:-2]:
        raise ValueError(f"areas_a / areas_b must have shapes {tuple(keypoints_a.shape[:-2])} / "
                         f"{tuple(keypoints_b.shape[:-2])}, got {tuple(aa.shape)} / {tuple(ab.shape)}")
    a = keypoints_a.detach().to(torch.float32)
    b = keypoints_b.detach().to(torch.float32)
    d = b.unsqueeze(-4) - a.unsqueeze(-3)  # [..., N, M, K, 2]
    d2 = d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]  # float32, as NumPy
    scale = (aa.unsqueeze(-1) + ab.unsqueeze(-2)) / 2 + float(np.spacing(1))  # [..., N, M]
    e = d2.to(torch.float64) / (sg * 2) ** 2 / scale.unsqueeze(-1) / 2
    terms = torch.exp(-e)
    if vis_thr is None:
        return terms.mean(-1).to(torch.float32)
    if visibility_a is None or visibility_b is None:
        raise ValueError("vis_thr needs visibility_a and visibility_b")
    thr = torch.tensor(float(vis_thr), dtype=torch.float32)
    mask = (visibility_a.to(torch.float32) > thr.to(dev)).unsqueeze(-2) & (
        visibility_b.to(torch.float32) > thr.to(dev)).unsqueeze(-3)
    count = mask.sum(-1)
    total = (terms * mask).sum(-1)
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total)).to(torch.float32)
