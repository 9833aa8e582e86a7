"""IntegralRegressionLabel (DSNT / IPR targets) and the soft-argmax of integral regression heads."""

from __future__ import annotations

from functools import lru_cache
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F

from ..ops import _checks
from .base import ArrayLike, BaseKeypointCodec
from .msra_heatmap import MSRAHeatmap
from .regression_label import RegressionLabel


_PW_BLOCK = 128  # NumPy's PW_BLOCKSIZE


@lru_cache(maxsize=64)
def _pairwise_plan(n: int) -> Tuple[dict, List[List[Tuple[int, int, int]]], int, int]:
    """NumPy's pairwise-summation tree over n values: leaves by length, inner nodes by height."""
    leaves: dict = {}
    levels: List[List[Tuple[int, int, int]]] = []
    count = [0]

    def build(start: int, length: int) -> Tuple[int, int]:
        node = count[0]
        count[0] += 1
        if length <= _PW_BLOCK:
            leaves.setdefault(length, []).append((node, start))
            return node, 0
        half = length // 2
        half -= half % 8
        (left, hl), (right, hr) = build(start, half), build(start + half, length - half)
        height = max(hl, hr) + 1
        while len(levels) < height:
            levels.append([])
        levels[height - 1].append((node, left, right))
        return node, height

    root, _ = build(0, n)
    return leaves, levels, count[0], root


def _pairwise_leaf(x: torch.Tensor) -> torch.Tensor:
    """NumPy's pairwise sum of the last dim, length <= 128: eight running sums, then a tree."""
    n = x.shape[-1]
    if n < 8:
        res = torch.zeros_like(x[..., 0])
        for i in range(n):
            res = res + x[..., i]
        return res
    r = x[..., :8]
    tail = n - n % 8
    for i in range(8, tail, 8):
        r = r + x[..., i : i + 8]
    res = ((r[..., 0] + r[..., 1]) + (r[..., 2] + r[..., 3])) + ((r[..., 4] + r[..., 5]) + (r[..., 6] + r[..., 7]))
    for i in range(tail, n):
        res = res + x[..., i]
    return res


def numpy_pairwise_sum(x: torch.Tensor) -> torch.Tensor:
    """Sum over the last dim in exactly NumPy's order (``np.add.reduce`` on a contiguous float array).

    NumPy sums blocks of <= 128 values with eight interleaved accumulators and joins blocks by halving
    (split points multiples of 8). Reproducing that order reproduces MMPose's float32 sums bit for bit.

    Args:
        x (Tensor[..., n]): values, n >= 1.

    Returns:
        Tensor[...]: the sums, in x's dtype.
    """
    leaves, levels, count, root = _pairwise_plan(x.shape[-1])
    values = x.new_empty(x.shape[:-1] + (count,))
    for length, items in leaves.items():
        nodes = torch.tensor([node for node, _ in items], device=x.device)
        starts = torch.tensor([start for _, start in items], device=x.device)
        segments = x[..., starts[:, None] + torch.arange(length, device=x.device)]  # [..., leaves, length]
        values[..., nodes] = _pairwise_leaf(segments)
    for level in levels:
        node, left, right = (torch.tensor(c, device=x.device) for c in zip(*level))
        values[..., node] = values[..., left] + values[..., right]
    return values[..., root]


class IntegralRegressionLabel(BaseKeypointCodec):
    """Normalised heatmaps plus regression labels, MMPose 1.x ``IntegralRegressionLabel`` (same
    arguments, same numbers).

    Symbols: N instances, K keypoints, B batch, input size [w, h], heatmap size [W, H]. Points are
    (x, y) in input-image pixels. The heatmaps are ``MSRAHeatmap(input_size, heatmap_size, sigma,
    unbiased, blur_kernel_size)``'s, each divided by its sum + 1e-24 when ``normalize``; labels and
    weights are ``RegressionLabel(input_size)``'s (weight 1 needs visibility > 0.5, while the heatmap
    is drawn from 0.5: a 0.5-visible keypoint has a heatmap but weight 0, as coded in MMPose).

    Encoded:
        - keypoint_labels (ndarray[N, K, 2] float32): ``kp / [w, h]``.
        - heatmaps (ndarray[K, H, W] float32)
        - keypoint_weights (ndarray[N, K] float32)

    Args:
        input_size (tuple[int, int]): input image size [w, h].
        heatmap_size (tuple[int, int]): heatmap size [W, H].
        sigma (float): Gaussian sigma in heatmap pixels.
        unbiased (bool): DARK (float-centre) heatmaps. Defaults to False.
        blur_kernel_size (int): DARK modulation kernel size. Defaults to 11.
        normalize (bool): divide each heatmap by its sum (+1e-24). Defaults to True.

    Attributes:
        heatmap_codec (MSRAHeatmap), keypoint_codec (RegressionLabel), normalize (bool): as MMPose.
    """

    label_mapping_table = dict(keypoint_labels="keypoint_labels", keypoint_weights="keypoint_weights")
    field_mapping_table = dict(heatmaps="heatmaps")

    def __init__(
        self,
        input_size: Tuple[int, int],
        heatmap_size: Tuple[int, int],
        sigma: float,
        unbiased: bool = False,
        blur_kernel_size: int = 11,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        self.heatmap_codec = MSRAHeatmap(input_size, heatmap_size, sigma, unbiased, blur_kernel_size)
        self.keypoint_codec = RegressionLabel(input_size)
        self.input_size = input_size  # (not in MMPose) what decode_topdown's flip test and map need
        self.normalize = normalize

    def _normalized(self, heatmaps: torch.Tensor) -> torch.Tensor:
        if not self.normalize:
            return heatmaps
        # MMPose sums each float32 map with NumPy's pairwise summation: same order, same sum
        total = numpy_pairwise_sum(heatmaps.flatten(-2))[..., None, None] + 1e-24
        return heatmaps / total

    def encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike] = None) -> dict:
        """Encode one sample's keypoints.

        Args:
            keypoints (ndarray or Tensor [N, K, 2]): (x, y) in input-image pixels. MMPose accepts
                N = 1 only; N > 1 instances are merged into one heatmap per keypoint by element-wise
                max (as ``MSRAHeatmap.encode`` here), labels and weights stay per instance.
            keypoints_visible (ndarray or Tensor [N, K], optional): visibility; None = all visible.

        Returns:
            dict: ``keypoint_labels`` [N, K, 2], ``heatmaps`` [K, H, W] and ``keypoint_weights``
            [N, K], float32. NumPy in, NumPy out; tensors in, tensors out on their device.
        """
        hm = self.heatmap_codec.encode(keypoints, keypoints_visible)["heatmaps"]
        kp = self.keypoint_codec.encode(keypoints, keypoints_visible)
        as_numpy = not isinstance(hm, torch.Tensor)
        heatmaps = self._normalized(torch.from_numpy(hm) if as_numpy else hm)
        return dict(
            keypoint_labels=kp["keypoint_labels"],
            heatmaps=heatmaps.numpy() if as_numpy else heatmaps,
            keypoint_weights=kp["keypoint_weights"],
        )

    def batch_encode(self, keypoints: torch.Tensor, keypoints_visible: Optional[torch.Tensor] = None) -> dict:
        """Encode a top-down batch (one instance per sample) on its device.

        Args:
            keypoints (Tensor[B, K, 2]): (x, y) in input-image pixels.
            keypoints_visible (Tensor[B, K], optional): visibility; None = all visible.

        Returns:
            dict: ``keypoint_labels`` Tensor[B, K, 2], ``heatmaps`` Tensor[B, K, H, W] and
            ``keypoint_weights`` Tensor[B, K], float32.
        """
        hm = self.heatmap_codec.batch_encode(keypoints, keypoints_visible)["heatmaps"]
        kp = self.keypoint_codec.batch_encode(keypoints, keypoints_visible)
        return dict(
            keypoint_labels=kp["keypoint_labels"], heatmaps=self._normalized(hm), keypoint_weights=kp["keypoint_weights"]
        )

    def decode(self, encoded: ArrayLike) -> Tuple[ArrayLike, ArrayLike]:
        """Normalised coordinates back to input-image pixels: ``RegressionLabel.decode``.

        Args:
            encoded (ndarray or Tensor [K, D] or [N, K, D]): D = 2 or 4.

        Returns:
            tuple: ``keypoints`` [N, K, 2] and ``scores`` [N, K] (see ``RegressionLabel.decode``).
        """
        return self.keypoint_codec.decode(encoded)

    def batch_decode(self, encoded: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Decode a batch on its device: ``RegressionLabel.batch_decode``.

        Args:
            encoded (Tensor[B, K, D]): D = 2 or 4.

        Returns:
            tuple: ``keypoints`` Tensor[B, K, 2] and ``scores`` Tensor[B, K].
        """
        return self.keypoint_codec.batch_decode(encoded)

    def __repr__(self) -> str:
        hc = self.heatmap_codec
        return (
            f"IntegralRegressionLabel(input_size={tuple(hc.input_size)}, heatmap_size={tuple(hc.heatmap_size)}, "
            f"sigma={hc.sigma}, unbiased={hc.unbiased}, blur_kernel_size={hc.blur_kernel_size}, "
            f"normalize={self.normalize})"
        )


def soft_argmax(
    heatmaps: torch.Tensor, beta: float = 1.0, normalize: bool = True, debias: bool = False
) -> torch.Tensor:
    """Soft-argmax of integral regression, MMPose 1.x ``IntegralRegressionHead.forward`` (same numbers).

    With ``normalize``: ``P = softmax(beta * F)`` over each map's H * W pixels; otherwise the maps are
    taken as already normalised (``P = F``). Then ``x = sum P * (i / W)`` and ``y = sum P * (j / H)``
    for pixel column i and row j: coordinates normalised to [0, 1) by the map size, pixel i at
    ``i / W`` (not ``linspace(0, 1)``, and not pixel centres), as MMPose codes it. Decode them with
    ``RegressionLabel.decode`` (``x * w``, ``y * h``). With ``debias`` (MMPose's ``debias=True``):
    ``C = sum exp(F)`` (F without beta, as coded), ``x' = C / (C - 1) * (x - 1 / (2 C))``.

    Differentiable; deterministic; any device; the dtype of ``heatmaps`` (the coordinate grid is
    built in float32 as MMPose's, then cast).

    Args:
        heatmaps (Tensor[B, K, H, W]): logits (``normalize``) or probability maps.
        beta (float): softmax temperature. Defaults to 1.0.
        normalize (bool): apply the flat softmax. Defaults to True.
        debias (bool): the debiasing of "Debias integral regression". Defaults to False.

    Returns:
        Tensor[B, K, 2]: (x, y) normalised by the map size [W, H].

    Raises:
        TypeError: not a floating-point tensor. ValueError: not 4-D.
    """
    _checks.require_tensor("heatmaps", heatmaps)
    _checks.require_floating("heatmaps", heatmaps)
    if heatmaps.dim() != 4:
        raise ValueError(f"heatmaps must be [B, K, H, W], got shape {tuple(heatmaps.shape)}")
    B, K, H, W = heatmaps.shape
    if normalize:
        probs = F.softmax((heatmaps * beta).reshape(-1, K, H * W), dim=2).reshape(-1, K, H, W)
    else:
        probs = heatmaps
    grid_x = (torch.arange(0.0, 1.0 * W, 1).reshape(1, 1, 1, W) / W).to(heatmaps.device)
    grid_y = (torch.arange(0.0, 1.0 * H, 1).reshape(1, 1, H, 1) / H).to(heatmaps.device)
    x = probs.mul(grid_x).reshape(B, K, -1).sum(dim=2, keepdim=True)
    y = probs.mul(grid_y).reshape(B, K, -1).sum(dim=2, keepdim=True)
    if debias:
        c = heatmaps.reshape(B, K, H * W).exp().sum(dim=2).reshape(B, K, 1)
        x = c / (c - 1) * (x - 1 / (2 * c))
        y = c / (c - 1) * (y - 1 / (2 * c))
    return torch.cat([x, y], dim=-1)
