"""MSRAHeatmap: Gaussian heatmaps as in "Simple Baselines" (and DARK's unbiased variant)."""

from __future__ import annotations

from typing import Tuple

import numpy as np
import torch

from .. import ops
from ..ops import _checks
from .base import HeatmapCodec


class MSRAHeatmap(HeatmapCodec):
    """Represent keypoints as Gaussian heatmaps, MMPose 1.x ``MSRAHeatmap`` (same arguments, same
    numbers).

    Symbols: N instances, K keypoints, input (image) size [w, h], heatmap size [W, H]. Keypoints are
    divided by ``scale_factor = [w, h] / [W, H]`` (float32); each visible keypoint is drawn as
    ``exp(-d^2 / (2 sigma^2))`` on a (6 sigma + 1)-pixel patch around ``int(mu + 0.5)`` (peak 1),
    instances are merged by element-wise max. With ``unbiased=True`` (DARK) the Gaussian is centred
    on the float keypoint and covers the whole map.

    Args:
        input_size (tuple[int, int]): input image size [w, h].
        heatmap_size (tuple[int, int]): heatmap size [W, H].
        sigma (float): Gaussian sigma in heatmap pixels.
        unbiased (bool): DARK encoding (float centre). Defaults to False.
        blur_kernel_size (int): DARK modulation kernel size used by decoding. Defaults to 11.

    Decoding (``decode`` / ``batch_decode``): argmax (location -1 where the maximum is <= 0), then the
    quarter-offset refinement, or DARK with ``unbiased=True``; keypoints times ``scale_factor``.
    """

    def __init__(
        self,
        input_size: Tuple[int, int],
        heatmap_size: Tuple[int, int],
        sigma: float,
        unbiased: bool = False,
        blur_kernel_size: int = 11,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.heatmap_size = heatmap_size
        self.sigma = sigma
        self.unbiased = unbiased
        self.blur_kernel_size = blur_kernel_size
        self.scale_factor = (np.array(input_size) / heatmap_size).astype(np.float32)
        # checked once here so that encode never fails on the codec's own settings
        _checks.size_pair("heatmap_size", heatmap_size)
        _checks.size_pair("input_size", input_size)
        _checks.positive_float("sigma", sigma)

    @property
    def method(self) -> str:
        return "unbiased" if self.unbiased else "msra"

    def _draw(self, dtype: torch.dtype = torch.float32):
        return lambda kp, vis: ops.gaussian_heatmaps(kp, vis, self.heatmap_size, self.sigma, self.method, dtype=dtype)

    def _decode_heatmap_pixels(self, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        # MMPose: argmax, then DARK (unbiased) or the quarter offset; keypoints * scale_factor
        refine = "dark" if self.unbiased else "quarter"
        return ops.decode_heatmaps(heatmaps, refine, self.blur_kernel_size)

    def __repr__(self) -> str:
        return (
            f"MSRAHeatmap(input_size={tuple(self.input_size)}, heatmap_size={tuple(self.heatmap_size)}, "
            f"sigma={self.sigma}, unbiased={self.unbiased}, blur_kernel_size={self.blur_kernel_size})"
        )
