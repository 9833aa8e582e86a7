"""UDPHeatmap: Unbiased Data Processing targets (Gaussian, or classification + offset maps)."""

from __future__ import annotations

from typing import Tuple

import numpy as np
import torch

from .._constants import device_constant
from .. import ops
from ..ops import _checks
from .base import HeatmapCodec

HEATMAP_TYPES = ("gaussian", "combined")


class UDPHeatmap(HeatmapCodec):
    """Keypoint heatmaps by Unbiased Data Processing, MMPose 1.x ``UDPHeatmap`` (same arguments,
    same numbers).

    Symbols: N instances, K keypoints, input size [w, h], heatmap size [W, H]. Keypoints are divided
    by ``scale_factor = ([w, h] - 1) / ([W, H] - 1)`` (float32), so pixel 0 and w-1 map to heatmap
    pixels 0 and W-1.

    * ``heatmap_type='gaussian'``: the MSRA patch placement (integer centre ``int(mu + 0.5)``, radius
      3 sigma) with the Gaussian centred on the sub-pixel keypoint; K channels.
    * ``heatmap_type='combined'``: per keypoint a classification disk of radius
      ``radius_factor * max(W, H)`` and x/y offset maps ``(mu - p) / r`` over the whole map; 3K
      channels ordered (cls, x_off, y_off) per keypoint.

    Args:
        input_size (tuple[int, int]): input image size [w, h].
        heatmap_size (tuple[int, int]): heatmap size [W, H].
        heatmap_type (str): ``'gaussian'`` or ``'combined'``. Defaults to ``'gaussian'``.
        sigma (float): Gaussian sigma (``'gaussian'``). Defaults to 2.0.
        radius_factor (float): disk radius factor (``'combined'``). Defaults to 0.0546875.
        blur_kernel_size (int): modulation kernel size used by decoding. Defaults to 11.

    Decoding: ``'gaussian'``: argmax + DARK-UDP (every keypoint); ``'combined'``: the class map blurred
    with a ``2 * blur_kernel_size + 1`` kernel, argmax plus the offsets there; then
    ``keypoints / [W - 1, H - 1] * [w, h]``.

    Raises:
        ValueError: unknown ``heatmap_type`` (as MMPose), non-positive sizes, sigma or radius_factor.
    """

    def __init__(
        self,
        input_size: Tuple[int, int],
        heatmap_size: Tuple[int, int],
        heatmap_type: str = "gaussian",
        sigma: float = 2.0,
        radius_factor: float = 0.0546875,
        blur_kernel_size: int = 11,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.heatmap_size = heatmap_size
        self.sigma = sigma
        self.radius_factor = radius_factor
        self.heatmap_type = heatmap_type
        self.blur_kernel_size = blur_kernel_size
        if heatmap_type not in HEATMAP_TYPES:
            raise ValueError(
                f"{self.__class__.__name__} got invalid `heatmap_type` value {heatmap_type!r}. "
                "Should be one of {'gaussian', 'combined'}"
            )
        W, H = _checks.size_pair("heatmap_size", heatmap_size)
        _checks.size_pair("input_size", input_size)
        if W < 2 or H < 2:
            raise ValueError(f"heatmap_size must be at least (2, 2) for UDP, got {heatmap_size!r}")
        _checks.positive_float("sigma", sigma)
        _checks.positive_float("radius_factor", radius_factor)
        self.scale_factor = ((np.array(input_size) - 1) / (np.array(heatmap_size) - 1)).astype(np.float32)

    def _draw(self, dtype: torch.dtype = torch.float32):
        if self.heatmap_type == "gaussian":
            return lambda kp, vis: ops.gaussian_heatmaps(kp, vis, self.heatmap_size, self.sigma, "udp", dtype=dtype)
        return lambda kp, vis: ops.udp_offset_heatmaps(kp, vis, self.heatmap_size, self.radius_factor, dtype=dtype)

    def _decode_heatmap_pixels(self, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.heatmap_type == "gaussian":
            return ops.decode_heatmaps(heatmaps, "dark_udp", self.blur_kernel_size)
        W, H = self.heatmap_size
        return ops.decode_heatmaps(
            heatmaps, "udp_combined", 2 * self.blur_kernel_size + 1, self.radius_factor * max(W, H)
        )

    def _to_input_space(self, keypoints: torch.Tensor) -> torch.Tensor:
        # MMPose: keypoints / [W - 1, H - 1] * input_size
        W, H = self.heatmap_size
        denom = device_constant((W - 1, H - 1), torch.float32, keypoints.device)
        size = device_constant(tuple(self.input_size), torch.float32, keypoints.device)
        return keypoints / denom * size

    def __repr__(self) -> str:
        return (
            f"UDPHeatmap(input_size={tuple(self.input_size)}, heatmap_size={tuple(self.heatmap_size)}, "
            f"heatmap_type={self.heatmap_type!r}, sigma={self.sigma}, radius_factor={self.radius_factor}, "
            f"blur_kernel_size={self.blur_kernel_size})"
        )
