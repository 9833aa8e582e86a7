"""MegviiHeatmap: one-hot heatmaps blurred by an OpenCV Gaussian (CPN / MSPN / RSN targets)."""

from __future__ import annotations

from fractions import Fraction
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from .._constants import device_constant
from .. import ops
from ..ops import _checks
from .base import ArrayLike, BaseKeypointCodec, network_output_tensor, to_output
from .regression_label import copy_weights, keypoints_to_tensor, visibility_to_tensor

# cv2.getGaussianKernel(k, 0) for k <= 9 (OpenCV 5's fixed tables, in 1/256 units; k = 1: [1])
_SMALL_KERNELS = {
    1: (1,),
    3: (64, 128, 64),
    5: (16, 64, 96, 64, 16),
    7: (8, 28, 56, 72, 56, 28, 8),
    9: (4, 13, 30, 51, 60, 51, 30, 13, 4),
}


def opencv_gaussian_kernel(ksize: int) -> np.ndarray:
    """The float32 kernel ``cv2.getGaussianKernel(ksize, 0, cv2.CV_32F)`` uses, computed without OpenCV.

    ``ksize <= 9``: OpenCV's fixed tables. Otherwise ``sigma = 0.15 * ksize + 0.35`` (=
    ``0.3 * ((ksize - 1) * 0.5 - 1) + 0.8``, one rounding as OpenCV's fused multiply-add), weights
    ``exp(-x^2 / (2 sigma^2))`` in float64 normalised to sum 1, then rounded to float32.

    Args:
        ksize (int): odd kernel size >= 1.

    Returns:
        ndarray[ksize] float32, symmetric.
    """
    if ksize in _SMALL_KERNELS:
        return (np.array(_SMALL_KERNELS[ksize], dtype=np.float64) / 256.0 if ksize > 1 else np.ones(1)).astype(
            np.float32
        )
    sigma = float(Fraction(ksize) * Fraction(0.15) + Fraction(0.35))
    x = np.arange(ksize, dtype=np.float64) - (ksize - 1) * 0.5
    weights = np.exp(-x * x / (2 * sigma * sigma))
    return (weights / weights.sum()).astype(np.float32)


def _reflect101(p: torch.Tensor, n: int) -> torch.Tensor:
    """OpenCV's BORDER_REFLECT_101 index (``gfedcb|abcdefgh|gfedcba``) of positions p on an axis of n."""
    if n == 1:
        return torch.zeros_like(p)
    period = 2 * (n - 1)
    p = torch.remainder(p, period)
    return torch.where(p > n - 1, period - p, p)


def blurred_impulses(
    kx: torch.Tensor, ky: torch.Tensor, size: Tuple[int, int], kernel: torch.Tensor
) -> torch.Tensor:
    """``cv2.GaussianBlur`` (REFLECT_101 border) of one-hot maps, computed without convolution.

    The blur is separable, so the blurred impulse is an outer product of a column and a row vector,
    each a sum of kernel taps whose reflected position lands on the impulse. The arithmetic follows
    OpenCV's float32 ``sepFilter2D``: the row pass sums its taps in order (exact products); the column
    pass accumulates centre-out with fused multiply-adds (its SIMD body). OpenCV's scalar tail columns
    (``x >= 8 * (W // 8)`` with AVX2) round each product instead, so where two reflected column taps
    meet (keypoints within kernel reach of the top/bottom border) and W is not a multiple of the SIMD
    width, values may differ from OpenCV's by 1 ulp.

    Args:
        kx, ky (Tensor[...] int64): impulse column / row (in range).
        size (tuple[int, int]): map size (W, H).
        kernel (Tensor[k] float32): 1-D kernel, k odd, on the target device.

    Returns:
        Tensor[..., H, W] float32.
    """
    W, H = size
    k = kernel.numel()
    r = k // 2
    dev = kernel.device
    taps = torch.arange(k, device=dev) - r
    # row: rx[x] = sum over taps j (in order) of kernel[j] * [reflect(x + j - r) == kx]
    row_pos = _reflect101(torch.arange(W, device=dev)[:, None] + taps, W)  # [W, k]
    row_hit = row_pos == kx[..., None, None]  # [..., W, k]
    rx = torch.zeros(row_hit.shape[:-1], dtype=torch.float32, device=dev)
    for j in range(k):
        rx = rx + torch.where(row_hit[..., j], kernel[j], 0.0)
    # column: per output row y, tap d = 0..r carries kernel[r + d] * (#{y + d, y - d} hitting ky)
    col_pos = _reflect101(torch.arange(H, device=dev)[:, None] + taps, H)  # [H, k]
    col_hit = (col_pos == ky[..., None, None]).to(torch.float32)  # [..., H, k]
    counts = torch.cat([col_hit[..., r : r + 1], col_hit[..., r + 1 :] + col_hit[..., :r].flip(-1)], dim=-1)
    coef = counts * kernel[r:]  # [..., H, r + 1], exact (counts are 0, 1 or 2)
    # keep the nonzero taps in centre-out order: fewer passes, same accumulation order
    order = torch.sort((coef == 0).to(torch.uint8), dim=-1, stable=True).indices
    coef = torch.gather(coef, -1, order)
    n_terms = 2 if r < H - 1 else r + 1  # shorter windows than the reflection period hit at most twice
    out = coef[..., 0, None] * rx[..., None, :]
    if min(n_terms, r + 1) > 1:
        # rows with more than one tap (near a reflecting border) are few: finish only those
        rows = coef[..., 1] != 0  # [..., H]
        acc = out[rows].to(torch.float64)  # [M, W]
        rx_rows = rx[..., None, :].expand(out.shape)[rows].to(torch.float64)
        coef_rows = coef[rows].to(torch.float64)  # [M, r + 1]
        for t in range(1, min(n_terms, r + 1)):
            # fused multiply-add: the float32 product is exact in float64, one rounding to float32
            acc = (acc + coef_rows[:, t, None] * rx_rows).to(torch.float32).to(torch.float64)
        out[rows] = acc.to(torch.float32)
    return out


class MegviiHeatmap(BaseKeypointCodec):
    """Keypoints as blurred one-hot heatmaps ("Megvii" targets of CPN and MSPN), MMPose 1.x
    ``MegviiHeatmap`` (same arguments, same numbers).

    Symbols: N instances (1), K keypoints, B batch, input size [w, h], heatmap size [W, H]. Points are
    (x, y) in input-image pixels. ``scale_factor = [w, h] / [W, H]`` (float32). Each keypoint with
    visibility >= 0.5 lands on pixel ``(kx, ky) = int64(kp / scale_factor)`` (truncation toward zero,
    so ``-1 < kp / scale_factor < 0`` still lands on pixel 0, as coded in MMPose); off-map pixels give
    weight 0. The one-hot map is blurred by ``cv2.GaussianBlur((ks, ks), 0)`` (REFLECT_101 border,
    OpenCV's kernel for ``ks``), then scaled so the value at (ky, kx) is 255. (As coded in MMPose:
    for a keypoint one pixel in from a border, the reflected taps make the border pixel larger than
    255; the maximum is then not at the keypoint.)

    Encoded:
        - heatmaps (ndarray[K, H, W] float32)
        - keypoint_weights (ndarray[N, K]): the visibility copied, zeroed off the map.

    Args:
        input_size (tuple[int, int]): input image size [w, h].
        heatmap_size (tuple[int, int]): heatmap size [W, H].
        kernel_size (int): odd Gaussian kernel size (MMPose's docstring says a pair; its code uses
            one int for both axes).

    Raises:
        ValueError: sizes not pairs of positive ints, ``kernel_size`` not a positive odd int.
    """

    label_mapping_table = dict(keypoint_weights="keypoint_weights")
    field_mapping_table = dict(heatmaps="heatmaps")

    def __init__(self, input_size: Tuple[int, int], heatmap_size: Tuple[int, int], kernel_size: int) -> None:
        super().__init__()
        _checks.size_pair("input_size", input_size)
        _checks.size_pair("heatmap_size", heatmap_size)
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, (int, np.integer)):
            raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
        self.input_size = input_size
        self.heatmap_size = heatmap_size
        self.kernel_size = kernel_size
        self.scale_factor = (np.array(input_size) / heatmap_size).astype(np.float32)
        self._kernel = opencv_gaussian_kernel(int(kernel_size))
        self._kernels: Dict[torch.device, torch.Tensor] = {}

    def _heatmaps(self, kp: torch.Tensor, vis: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """kp [B, K, 2], vis [B, K] -> heatmaps [B, K, H, W] float32, weight-zero mask [B, K]."""
        W, H = self.heatmap_size
        q = torch.trunc(kp / device_constant(self.scale_factor, torch.from_numpy(self.scale_factor).dtype, kp.device))  # kp's dtype, as NumPy
        inside = torch.isfinite(q).all(-1) & (q >= 0).all(-1) & (q[..., 0] < W) & (q[..., 1] < H)
        considered = ~(vis < 0.5)
        drawn = considered & inside
        kx = torch.where(drawn, q[..., 0], 0).to(torch.long)
        ky = torch.where(drawn, q[..., 1], 0).to(torch.long)
        dev = kp.device
        if dev not in self._kernels:
            self._kernels[dev] = torch.from_numpy(self._kernel).to(dev)
        blurred = blurred_impulses(kx, ky, (W, H), self._kernels[dev])
        peak = blurred.flatten(-2).gather(-1, (ky * W + kx)[..., None])[..., None]  # [B, K, 1, 1]
        heatmaps = blurred / peak * 255.0
        return torch.where(drawn[..., None, None], heatmaps, 0.0), considered & ~inside

    def encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike] = None) -> dict:
        """Encode one instance's keypoints into heatmaps.

        Args:
            keypoints (ndarray or Tensor [1, K, 2]): (x, y) in input-image pixels (N = 1, as MMPose).
            keypoints_visible (ndarray or Tensor [1, K], optional): visibility; None = all visible.

        Returns:
            dict: ``heatmaps`` [K, H, W] float32 and ``keypoint_weights`` [1, K] (NumPy: the
            visibility's dtype, float32 when None; tensors: float32). NumPy in, NumPy out; tensors in,
            tensors out on their device.

        Raises:
            ValueError: N != 1 (MMPose asserts single-instance encoding), bad shapes.
        """
        kp, as_numpy = keypoints_to_tensor(keypoints, 3, "[N, K, 2]")
        if kp.shape[0] != 1:
            raise ValueError(f"MegviiHeatmap only supports single-instance keypoint encoding (N=1), got N={kp.shape[0]}")
        vis = visibility_to_tensor(keypoints_visible, kp)
        heatmaps, zero = self._heatmaps(kp, vis)
        weights = copy_weights(keypoints_visible, zero, as_numpy)
        return dict(heatmaps=heatmaps[0].numpy() if as_numpy else heatmaps[0], keypoint_weights=weights)

    def batch_encode(self, keypoints: torch.Tensor, keypoints_visible: Optional[torch.Tensor] = None) -> dict:
        """Encode a top-down batch (one instance per sample) on its device, vectorised.

        Args:
            keypoints (Tensor[B, K, 2]): (x, y) in input-image pixels.
            keypoints_visible (Tensor[B, K], optional): visibility; None = all visible.

        Returns:
            dict: ``heatmaps`` Tensor[B, K, H, W] and ``keypoint_weights`` Tensor[B, K], float32.
        """
        _checks.require_tensor("keypoints", keypoints)
        kp, _ = keypoints_to_tensor(keypoints, 3, "[B, K, 2]")
        vis = visibility_to_tensor(keypoints_visible, kp)
        heatmaps, zero = self._heatmaps(kp, vis)
        return dict(heatmaps=heatmaps, keypoint_weights=copy_weights(keypoints_visible, zero, False))

    def batch_decode(self, batch_heatmaps: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Decode a batch on its device in one kernel launch (MMPose's ``decode`` per sample).

        The heatmaps are blurred (kernel_size, zero border) and rescaled to their original maximum;
        the argmax of that map moves by ``sign * 0.25 + 0.5`` towards the higher neighbour (only for
        ``1 < x < W - 1`` and ``1 < y < H - 1``, as coded), times ``scale_factor``; scores are the
        blurred maximum ``/ 255 + 0.5``.

        Args:
            batch_heatmaps (Tensor[B, K, H, W]): float32/float16/bfloat16 heatmaps.

        Returns:
            tuple: ``keypoints`` Tensor[B, K, 2] float32 in input-image pixels and ``scores``
            Tensor[B, K] float32.
        """
        heatmaps, _ = network_output_tensor("batch_heatmaps", batch_heatmaps, 4, "[B, K, H, W]")
        keypoints, scores = ops.decode_heatmaps(heatmaps, "megvii", int(self.kernel_size))
        return keypoints * device_constant(self.scale_factor, torch.from_numpy(self.scale_factor).dtype, keypoints.device), scores

    def decode(self, encoded: ArrayLike):
        """Decode one sample's heatmaps (ndarray or Tensor [K, H, W]) into ``keypoints`` [1, K, 2] and
        ``scores`` [1, K] (float32) in input-image space; NumPy in, NumPy out."""
        heatmaps, as_numpy = network_output_tensor("encoded", encoded, 3, "[K, H, W]")
        keypoints, scores = self.batch_decode(heatmaps.unsqueeze(0))
        return to_output(keypoints, as_numpy), to_output(scores, as_numpy)

    def __repr__(self) -> str:
        return (
            f"MegviiHeatmap(input_size={tuple(self.input_size)}, heatmap_size={tuple(self.heatmap_size)}, "
            f"kernel_size={self.kernel_size})"
        )
