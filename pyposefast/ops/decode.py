"""Keypoint decoding (kernel family 4): heatmaps and SimCC vectors to locations and scores, batched.

Symbols: B batch, K keypoints, heatmap size [W, H] (tensors ``[..., H, W]``), SimCC lengths Wx, Wy.
Locations are (x, y) in **heatmap pixels** (SimCC: in bins); the codecs (``pyposefast.codecs``)
scale them to the input image. Every op decodes the whole batch in one kernel launch on the input's
device (CPU: ``at::parallel_for`` over the B*K channels) and never synchronises with the host.

MMPose 1.x rules, as coded (ALGORITHMS.md (c), (f)):

* the maximum is NumPy's ``argmax``: ties go to the first pixel in row-major order; a channel whose
  maximum is <= 0 gets location (-1, -1) (before refinement) and its maximum as score;
* ``quarter``: +-0.25 px towards the higher neighbour, with MMPose's asymmetric bounds (x = 1 and
  y = 1 are never shifted);
* ``dark``: Gaussian modulation (OpenCV's kernel for ``blur_kernel_size``, zero border, rescaled to
  the original maximum), log, one Newton step with the step-2 stencils, only for peaks with
  1 < x < W - 2 and 1 < y < H - 2;
* ``dark_udp``: the same blur, ``clip(1e-3, 50)``, log, step-1 stencils on the edge-padded map,
  applied to every keypoint (also to (-1, -1) locations, which read the neighbouring plane through
  MMPose's flat indexing, as NumPy does);
* ``megvii``: blur + rescale, argmax of the blurred map, +-0.25 + 0.5 inside 1 < x, y < size - 1,
  score / 255 + 0.5;
* ``udp_combined``: [B, 3K, H, W] (class, x-offset, y-offset per keypoint); the class map is blurred
  with OpenCV's default border, its argmax plus ``offset_radius`` times the offsets there is the
  location, the blurred maximum the score.

Non-finite values: NaN wins the argmax as in NumPy (score NaN, the first NaN's location); the
refinements then follow MMPose's arithmetic, so a NaN read gives a NaN coordinate (an all-zero plane
under ``dark_udp`` gives NaN, exactly as MMPose's 0/0 rescale). Nothing crashes; scores are exact
(the input maximum, as float32) except ``megvii`` and ``udp_combined``, whose scores come from the
blurred map (float32 rounding of a different summation order than OpenCV's).
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch

from .._extension import build_info
from . import _checks

_WITH_CUDA = bool(build_info()["with_cuda"])

__all__ = ["decode_heatmaps", "decode_simcc", "HEATMAP_REFINEMENTS", "MAX_BLUR_KERNEL_SIZE"]

HEATMAP_REFINEMENTS = ("none", "quarter", "dark", "dark_udp", "megvii", "udp_combined")
MAX_BLUR_KERNEL_SIZE = 127
_INPUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _as_decode_input(name: str, t: torch.Tensor, rank: int, shape: str) -> torch.Tensor:
    t = _checks.require_tensor(name, t)
    _checks.require_floating(name, t)
    if t.dim() != rank:
        raise ValueError(f"{name} must be {shape}, got shape {tuple(t.shape)}")
    if t.is_cuda and not _WITH_CUDA:
        raise NotImplementedError(
            f"{name} is a CUDA tensor but this pyposefast build has no CUDA kernels (built without nvcc "
            "or with PYPOSEFAST_CUDA=OFF); rebuild with a CUDA toolkit, or pass CPU tensors"
        )
    t = t.detach()
    return t if t.dtype in _INPUT_DTYPES else t.to(torch.float32)


def _kernel_size(name: str, value: object) -> int:
    """An odd Gaussian kernel size in [1, 127] (OpenCV's sigma-from-size rule applies)."""
    if isinstance(value, bool) or not isinstance(value, int) and not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be an odd int in [1, {MAX_BLUR_KERNEL_SIZE}], got {value!r}")
    value = int(value)
    if value < 1 or value > MAX_BLUR_KERNEL_SIZE or value % 2 == 0:
        raise ValueError(f"{name} must be an odd int in [1, {MAX_BLUR_KERNEL_SIZE}], got {value}")
    return value


def decode_heatmaps(
    heatmaps: torch.Tensor,
    refine: str = "quarter",
    blur_kernel_size: int = 11,
    offset_radius: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Locations and scores of a batch of heatmaps (MMPose's decoders, batched, on device).

    Args:
        heatmaps (Tensor[B, C, H, W]): float32, float16 or bfloat16 (float64 is rounded to float32);
            C = K, or 3K for ``refine='udp_combined'``. CPU or CUDA; not differentiable.
        refine (str): ``'none'`` (argmax), ``'quarter'`` (MSRAHeatmap), ``'dark'``
            (MSRAHeatmap unbiased), ``'dark_udp'`` (UDPHeatmap gaussian), ``'megvii'``
            (MegviiHeatmap) or ``'udp_combined'`` (UDPHeatmap combined). See the module docstring.
        blur_kernel_size (int): odd Gaussian kernel size of the blurring refinements (MMPose's
            ``blur_kernel_size`` for dark / dark_udp, ``kernel_size`` for megvii and
            ``2 * blur_kernel_size + 1`` for udp_combined); ignored by none / quarter.
        offset_radius (float): udp_combined only: ``radius_factor * max(W, H)``.

    Returns:
        (keypoints, scores): ``Tensor[B, K, 2]`` float32, (x, y) in heatmap pixels, and
        ``Tensor[B, K]`` float32. Deterministic.

    Raises:
        TypeError: non-tensor or non-floating heatmaps.
        ValueError: wrong rank, C not divisible by 3 for udp_combined, unknown refine, bad kernel size.
    """
    heatmaps = _as_decode_input("heatmaps", heatmaps, 4, "[B, C, H, W]")
    refine = _checks.choice("refine", refine, HEATMAP_REFINEMENTS)
    if refine == "udp_combined" and heatmaps.shape[1] % 3 != 0:
        raise ValueError(f"udp_combined heatmaps must have 3K channels, got C={heatmaps.shape[1]}")
    if heatmaps.shape[2] == 0 or heatmaps.shape[3] == 0:
        raise ValueError(f"heatmaps must have H, W > 0, got shape {tuple(heatmaps.shape)}")
    size = 1 if refine in ("none", "quarter") else _kernel_size("blur_kernel_size", blur_kernel_size)
    radius = float(offset_radius)
    if refine == "udp_combined":
        radius = _checks.positive_float("offset_radius", offset_radius)
    return torch.ops.pyposefast.decode_heatmaps(heatmaps, refine, size, radius)


def decode_simcc(
    simcc_x: torch.Tensor,
    simcc_y: torch.Tensor,
    blur_kernel_size: Optional[Union[int, Sequence[int]]] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Locations and scores of SimCC vectors (``get_simcc_maximum`` + optional 1-D DARK), batched.

    Args:
        simcc_x (Tensor[B, K, Wx]): x-axis vectors, float32/float16/bfloat16 (float64 is rounded).
        simcc_y (Tensor[B, K, Wy]): y-axis vectors, same dtype and device.
        blur_kernel_size (int or (int, int), optional): odd 1-D DARK kernel size(s) (x, y); None = no
            refinement. SimCCLabel(use_dark=True) uses ``int((20 sigma - 7) // 3)`` made odd.

    Returns:
        (locations, scores): ``Tensor[B, K, 2]`` float32 in SimCC bins (divide by
        ``simcc_split_ratio`` for input pixels) and ``Tensor[B, K]`` float32 = min of the two axis
        maxima; locations are -1 where the score is <= 0 (before refinement).
    """
    simcc_x = _as_decode_input("simcc_x", simcc_x, 3, "[B, K, Wx]")
    simcc_y = _as_decode_input("simcc_y", simcc_y, 3, "[B, K, Wy]")
    if simcc_y.shape[:2] != simcc_x.shape[:2]:
        raise ValueError(
            f"simcc_y must be [B, K, Wy] with simcc_x's B, K = {tuple(simcc_x.shape[:2])}, got {tuple(simcc_y.shape)}"
        )
    _checks.require_same_device("simcc_y", simcc_y, "simcc_x", simcc_x)
    if simcc_x.shape[2] == 0 or simcc_y.shape[2] == 0:
        raise ValueError(f"SimCC vectors must be non-empty, got Wx={simcc_x.shape[2]}, Wy={simcc_y.shape[2]}")
    if simcc_y.dtype != simcc_x.dtype:
        simcc_y = simcc_y.to(simcc_x.dtype)
    if blur_kernel_size is None:
        bx = by = 0
    elif isinstance(blur_kernel_size, (tuple, list)):
        if len(blur_kernel_size) != 2:
            raise ValueError(f"blur_kernel_size must be an int or a pair (x, y), got {blur_kernel_size!r}")
        bx = _kernel_size("blur_kernel_size[0]", blur_kernel_size[0])
        by = _kernel_size("blur_kernel_size[1]", blur_kernel_size[1])
    else:
        bx = by = _kernel_size("blur_kernel_size", blur_kernel_size)
    return torch.ops.pyposefast.decode_simcc(simcc_x, simcc_y, bx, by)
