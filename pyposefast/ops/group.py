"""Bottom-up grouping (kernel family 6): associative-embedding decoding of a batch, on its device.

Symbols: B images, K keypoints, L tag dimension, heatmap size [W, H] (tensors ``[..., H, W]``),
N instances. Locations are (x, y) in **heatmap pixels**; ``AssociativeEmbedding`` scales them to the
input image. Tags are ``[B, K * L, H, W]`` with channel ``l * K + k`` (MMPose's layout; the flip
test concatenates the flipped-back tags, so L = 2 * tag_dim there).

``ae_decode`` is MMPose 1.3.2's ``AssociativeEmbedding.batch_decode`` as coded (ALGORITHMS.md (e)):

1. NMS ``hm * (hm == max_pool2d(hm, nms_kernel))`` and the top ``topk`` peaks of every channel;
   peaks with value <= ``keypoint_thr`` are dropped.
2. Grouping, keypoint type by keypoint type in ``keypoint_order``: the first type with candidates
   starts one group per candidate; later ones are matched to the groups (group tag = mean of the
   tags it collected) by a minimum-cost assignment of ``round(|tag - group tag|) * 100 - value``
   (float64, extra columns of 1e10 when there are more candidates than groups); a match is kept only
   when the tag distance is < ``tag_thr``, every other candidate starts a group. Groups are keyed by
   their first tag component as in MMPose: a new candidate whose first tag component equals an
   existing group's key takes that group over (its joint is overwritten, its tag list restarts).
3. The first ``max_instances`` groups in creation order are the instances; instance score = mean of
   the K grouped scores (0 for missing keypoints).
4. Refinement of every keypoint: ``quarter`` (+-0.25 px towards the higher neighbour) on the raw
   heatmaps, or ``dark_udp`` (blur ``blur_kernel_size``, clip, log, one Newton step).
5. ``center_shift`` is added to the detected keypoints (score > 0).
6. Every missing keypoint k of an instance becomes the pixel minimising
   ``round(|tag_k(p) - instance tag|) * 100 - hm_k(p)`` (instance tag = mean of the tags at the
   detected keypoints' truncated positions), with score ``hm_k(p)``; not refined. As coded in MMPose,
   with ``dark_udp`` the heatmaps used here are the modulated ones (blurred, rescaled, clipped, log),
   because MMPose's DARK-UDP blurs the decoded heatmaps in place: filled scores are then logs.

Where the results can differ from MMPose's (all on exact ties, none on continuous data):

* top-k order of equal peak values: here larger value first, then lower flat index, on CPU and
  CUDA alike; ``torch.topk`` leaves the order of ties unspecified (it differs between its CPU and
  CUDA kernels), and the order decides group creation order and the assignment's row order;
* equal-cost assignments: the solver is the shortest-augmenting-path Hungarian method with the
  tie rule of the ``munkres`` package's pure-Python solver; munkres 3.0.0 switches to a compiled
  kernel for matrices of >= 16 cells, which may return another assignment of the same total cost.
  Tags further than 1 apart between people (what the AE loss trains for) never tie;
* float32 reductions follow NumPy's summation order (pairwise for 1-D sums), so results agree to the
  last bit on typical data; NaN inputs are not supported (results unspecified, nothing crashes).

The op is deterministic, not differentiable, runs in one call per batch (no host synchronisation)
and returns padded tensors; ``AssociativeEmbedding.batch_decode`` makes MMPose's lists of them.
"""

from __future__ import annotations

from typing import Optional, Sequence

import torch

from .._extension import build_info
from . import _checks

_WITH_CUDA = bool(build_info()["with_cuda"])

__all__ = ["ae_decode", "AE_REFINEMENTS", "MAX_TAG_DIM", "MAX_TOPK"]

AE_REFINEMENTS = ("quarter", "dark_udp")
MAX_TAG_DIM = 16
MAX_TOPK = 1024
MAX_KEYPOINTS = 512


def _int(name: str, value: object, low: int, high: Optional[int] = None, odd: bool = False) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be an int, got {value!r}")
    v = int(value)  # type: ignore[arg-type]
    if v < low or (high is not None and v > high) or (odd and v % 2 == 0):
        rng = f"[{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be {'an odd ' if odd else 'an '}int {rng}, got {v}")
    return v


def _float(name: str, value: object) -> float:
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if f != f:
        raise ValueError(f"{name} must not be NaN")
    return f


def ae_decode(
    heatmaps: torch.Tensor,
    tags: torch.Tensor,
    keypoint_order: Optional[Sequence[int]] = None,
    *,
    nms_kernel: int = 5,
    topk: int = 30,
    keypoint_thr: float = 0.1,
    tag_thr: float = 1.0,
    max_instances: Optional[int] = None,
    refine: str = "quarter",
    blur_kernel_size: int = 3,
    center_shift: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Associative-embedding decoding of a batch (MMPose's ``batch_decode``), padded outputs.

    Args:
        heatmaps (Tensor[B, K, H, W]): keypoint heatmaps, floating (computed in float32), CPU or CUDA.
        tags (Tensor[B, K * L, H, W]): tag maps, channel ``l * K + k``; same device.
        keypoint_order (sequence of int, optional): grouping order, a permutation of 0..K-1
            (None or empty: 0..K-1).
        nms_kernel (int): odd max-pool NMS window.
        topk (int): candidates per keypoint type (at most H * W are taken).
        keypoint_thr (float): candidates need a heatmap value > keypoint_thr.
        tag_thr (float): a match needs a tag distance < tag_thr.
        max_instances (int, optional): instances kept (the first created); None = all. The output
            is padded to N = min(max_instances, K * min(topk, H * W)) rows (K * min(topk, H * W)
            is the most groups there can be).
        refine (str): ``'quarter'`` (MMPose ``use_udp=False``) or ``'dark_udp'`` (``use_udp=True``).
        blur_kernel_size (int): odd DARK-UDP blur kernel (MMPose's ``decode_gaussian_kernel``).
        center_shift (float): added to detected keypoints.

    Returns:
        (keypoints, keypoint_scores, instance_scores, counts): ``Tensor[B, N, K, 2]`` float32 (x, y)
        in heatmap pixels, ``Tensor[B, N, K]`` float32, ``Tensor[B, N]`` float32 and
        ``Tensor[B]`` int64 (instances found; rows past the count are zero), N = the padded
        instance count. Deterministic, not differentiable.

    Raises:
        TypeError: non-tensor or non-floating inputs.
        ValueError: shapes (tags not K * L channels of the heatmaps' size, L > 16), devices, a bad
            keypoint_order or setting.
    """
    heatmaps = _checks.require_tensor("heatmaps", heatmaps)
    tags = _checks.require_tensor("tags", tags)
    _checks.require_floating("heatmaps", heatmaps)
    _checks.require_floating("tags", tags)
    if heatmaps.dim() != 4:
        raise ValueError(f"heatmaps must be [B, K, H, W], got shape {tuple(heatmaps.shape)}")
    B, K, H, W = heatmaps.shape
    if tags.dim() != 4 or tags.shape[0] != B or tuple(tags.shape[2:]) != (H, W) or K == 0 or tags.shape[1] % K \
            or tags.shape[1] == 0:
        raise ValueError(
            f"tags must be [B, K * L, H, W] = [{B}, {K} * L, {H}, {W}] (L >= 1), got shape {tuple(tags.shape)}"
        )
    L = tags.shape[1] // K
    if L > MAX_TAG_DIM:
        raise ValueError(f"tag dimension L = {L} is larger than {MAX_TAG_DIM}")
    if K > MAX_KEYPOINTS:
        raise ValueError(f"K = {K} keypoints is more than {MAX_KEYPOINTS}")
    if H == 0 or W == 0:
        raise ValueError(f"heatmaps must have H, W > 0, got shape {tuple(heatmaps.shape)}")
    _checks.require_same_device("tags", tags, "heatmaps", heatmaps)
    if heatmaps.is_cuda and not _WITH_CUDA:
        raise NotImplementedError(
            "heatmaps is a CUDA tensor but this pyposefast build has no CUDA kernels (built without nvcc "
            "or with PYPOSEFAST_CUDA=OFF); rebuild with a CUDA toolkit, or pass CPU tensors"
        )
    order = list(range(K)) if not keypoint_order else [int(i) for i in keypoint_order]
    if sorted(order) != list(range(K)):
        raise ValueError(f"keypoint_order must be a permutation of 0..{K - 1}, got {list(keypoint_order or [])}")
    nms_kernel = _int("nms_kernel", nms_kernel, 1, 255, odd=True)
    topk = _int("topk", topk, 1, MAX_TOPK)
    refine = _checks.choice("refine", refine, AE_REFINEMENTS)
    blur = _int("blur_kernel_size", blur_kernel_size, 1, 127, odd=True) if refine == "dark_udp" else 1
    n_max = K * min(topk, H * W)
    n_out = n_max if max_instances is None else min(_int("max_instances", max_instances, 0), n_max)
    return torch.ops.pyposefast.ae_decode(
        heatmaps.detach().to(torch.float32),
        tags.detach().to(torch.float32),
        order,
        nms_kernel,
        topk,
        _float("keypoint_thr", keypoint_thr),
        _float("tag_thr", tag_thr),
        n_out,
        refine,
        blur,
        _float("center_shift", center_shift),
    )
