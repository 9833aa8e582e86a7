"""SimCCLabel: keypoints as two 1-D classification targets (SimCC / RTMPose)."""

from __future__ import annotations

import math
import numbers
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .. import ops
from .._constants import device_constant
from ..ops import _checks
from .base import ArrayLike, BaseKeypointCodec, network_output_tensor, to_output
from .regression_label import copy_weights, keypoints_to_tensor, visibility_to_tensor

SMOOTHING_TYPES = ("gaussian", "standard")


class SimCCLabel(BaseKeypointCodec):
    r"""Keypoints as SimCC labels, MMPose 1.x ``SimCCLabel`` (same arguments, same numbers).

    Symbols: N instances, K keypoints, B batch, input size [w, h], split ratio r, label sizes
    ``Wx = round(w * r)`` and ``Wy = round(h * r)`` (NumPy's half-to-even). Points are (x, y) in
    input-image pixels. Each keypoint maps to the integer bins ``m = round(kp * r)`` (half-to-even,
    computed in the keypoints' dtype, as ``np.around``).

    * ``'gaussian'``: ``exp(-(i - m)^2 / (2 sigma^2))`` over the whole axis (i = 0..Wx-1; y alike),
      divided by ``sigma * sqrt(2 pi)`` when ``normalize``. A keypoint whose 3-sigma window misses the
      axis (``m - 3 sigma >= size`` or ``m + 3 sigma + 1 < 0`` on either axis) gets weight 0 and zero
      labels.
    * ``'standard'``: one-hot ``1 - eps`` at m, ``eps / (size - 1)`` elsewhere (eps =
      ``label_smooth_weight``). A keypoint with m outside ``[0, size)`` on either axis gets weight 0.

    Keypoints with visibility < 0.5 are not drawn and keep their visibility as weight (as coded in
    MMPose: a 0.3-visible keypoint has weight 0.3 and zero labels).

    Encoded:
        - keypoint_x_labels (ndarray[N, K, Wx] float32)
        - keypoint_y_labels (ndarray[N, K, Wy] float32)
        - keypoint_weights (ndarray[N, K]): the visibility copied, zeroed where out of bounds.

    Args:
        input_size (tuple[int, int]): input image size [w, h].
        smoothing_type (str): ``'gaussian'`` or ``'standard'``. Defaults to ``'gaussian'``.
        sigma (float or tuple[float, float]): Gaussian sigma in label bins, one value or (sx, sy).
            Stored as ``ndarray[2]``. Defaults to 6.0.
        simcc_split_ratio (float): label bins per input pixel. Defaults to 2.0.
        label_smooth_weight (float): eps of ``'standard'`` smoothing, in [0, 1]. Defaults to 0.0.
        normalize (bool): divide Gaussian labels by ``sigma * sqrt(2 pi)``. Defaults to True.
        use_dark (bool): 1-D DARK refinement when decoding. Defaults to False.
        decode_visibility (bool): also decode a visibility when decoding. Defaults to False.
        decode_beta (float): softmax temperature of the visibility decoding. Defaults to 150.0.

    Raises:
        ValueError: unknown ``smoothing_type``, ``label_smooth_weight > 0`` with ``'gaussian'`` or
        outside [0, 1] (MMPose's checks and messages); bad ``input_size``, ``sigma`` or
        ``simcc_split_ratio``.
    """

    label_mapping_table = dict(
        keypoint_x_labels="keypoint_x_labels",
        keypoint_y_labels="keypoint_y_labels",
        keypoint_weights="keypoint_weights",
    )

    def __init__(
        self,
        input_size: Tuple[int, int],
        smoothing_type: str = "gaussian",
        sigma: Union[float, int, Tuple[float, float]] = 6.0,
        simcc_split_ratio: float = 2.0,
        label_smooth_weight: float = 0.0,
        normalize: bool = True,
        use_dark: bool = False,
        decode_visibility: bool = False,
        decode_beta: float = 150.0,
    ) -> None:
        super().__init__()
        self.input_size = input_size
        self.smoothing_type = smoothing_type
        self.simcc_split_ratio = simcc_split_ratio
        self.label_smooth_weight = label_smooth_weight
        self.normalize = normalize
        self.use_dark = use_dark
        self.decode_visibility = decode_visibility
        self.decode_beta = decode_beta
        if isinstance(sigma, numbers.Real):
            self.sigma = np.array([sigma, sigma])
        else:
            self.sigma = np.array(sigma)
        if smoothing_type not in SMOOTHING_TYPES:
            raise ValueError(
                f"{self.__class__.__name__} got invalid `smoothing_type` value {smoothing_type!r}. "
                'Should be one of {"gaussian", "standard"}'
            )
        if not isinstance(label_smooth_weight, numbers.Real):
            raise TypeError(f"label_smooth_weight must be a number, got {label_smooth_weight!r}")
        if smoothing_type == "gaussian" and label_smooth_weight > 0:
            raise ValueError("Attribute `label_smooth_weight` is only used for `standard` mode.")
        if label_smooth_weight < 0.0 or label_smooth_weight > 1.0:
            raise ValueError(f"`label_smooth_weight` should be in range [0, 1], got {label_smooth_weight!r}")
        w, h = _checks.size_pair("input_size", input_size)
        ratio = _checks.positive_float("simcc_split_ratio", simcc_split_ratio)
        if self.sigma.shape != (2,) or not np.issubdtype(self.sigma.dtype, np.number):
            raise ValueError(f"sigma must be a positive number or a pair (sigma_x, sigma_y), got {sigma!r}")
        for s in self.sigma:
            _checks.positive_float("sigma", s)
        # label sizes as MMPose computes them: np.around(w * ratio), half-to-even
        self._sizes = (int(np.around(w * ratio)), int(np.around(h * ratio)))
        if min(self._sizes) < 1:
            raise ValueError(
                f"input_size * simcc_split_ratio must give at least one label bin per axis, got "
                f"{input_size!r} * {simcc_split_ratio!r}"
            )
        self._tables: Dict[torch.device, Tuple[torch.Tensor, torch.Tensor]] = {}
        self._np_tables = tuple(self._gaussian_table(axis) for axis in range(2)) if smoothing_type == "gaussian" else None

    def _gaussian_table(self, axis: int) -> Tuple[np.ndarray, int]:
        """float32 label values for every integer offset d = i - m in [-D, D], and D.

        Evaluated exactly as MMPose: ``np.exp(-(d ** 2) / (2 * sigma ** 2))`` in float64, stored in
        float32, then (normalize) divided in float64 by ``sigma * sqrt(2 pi)`` and stored again.
        """
        size, sigma = self._sizes[axis], self.sigma[axis]
        reach = size + int(math.ceil(3 * float(sigma))) + 2  # covers every drawn keypoint's offsets
        d = np.arange(-reach, reach + 1, dtype=np.float64)
        table = np.exp(-(d**2) / (2 * sigma**2)).astype(np.float32)
        if self.normalize:
            table /= (self.sigma * np.sqrt(np.pi * 2))[axis]
        return table, reach

    def _device_tables(self, device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
        if device not in self._tables:
            self._tables[device] = tuple(torch.from_numpy(t).to(device) for t, _ in self._np_tables)
        return self._tables[device]

    def _labels(self, kp: torch.Tensor, vis: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """kp [..., K, 2], vis [..., K] -> x labels [..., K, Wx], y labels [..., K, Wy], zero mask [..., K]."""
        m = torch.round(kp * self.simcc_split_ratio)  # half-to-even in kp's dtype, as np.around
        considered = ~(vis < 0.5)  # NaN visibility is drawn, as in MMPose
        labels = []
        if self.smoothing_type == "gaussian":
            m64 = m.to(torch.float64)
            # cached device constants: no host-to-device copy per call (capturable in a CUDA graph)
            radius = device_constant(np.asarray(self.sigma, dtype=np.float64) * 3, torch.float64, kp.device)
            low, high = m64 - radius, m64 + radius + 1
            sizes = device_constant([float(v) for v in self._sizes], torch.float64, kp.device)
            # non-finite bins become INT64_MIN in MMPose's int64 cast: out of bounds
            oob = (low >= sizes).any(-1) | (high < 0).any(-1) | ~torch.isfinite(m64).all(-1)
            drawn = considered & ~oob
            for axis, table in enumerate(self._device_tables(kp.device)):
                size, reach = self._sizes[axis], self._np_tables[axis][1]
                windows = table.unfold(0, size, 1)  # windows[s] = table[s : s + size]
                start = torch.where(drawn, reach - m64[..., axis], 0).to(torch.long)
                rows = windows[start]
                labels.append(torch.where(drawn[..., None], rows, 0.0))
        else:
            eps = float(self.label_smooth_weight)
            oob = torch.zeros_like(considered)
            for axis in range(2):
                oob |= ~((m[..., axis] >= 0) & (m[..., axis] < self._sizes[axis]))
            drawn = considered & ~oob
            for axis in range(2):
                size = self._sizes[axis]
                low = np.float32(eps / (size - 1)) if eps > 0 else np.float32(0.0)
                bins = torch.arange(size, device=kp.device, dtype=m.dtype)
                hot = bins == m[..., axis, None]
                rows = torch.where(hot, float(np.float32(1.0 - eps)), float(low)).to(torch.float32)
                labels.append(torch.where(drawn[..., None], rows, 0.0))
        return labels[0], labels[1], considered & oob

    def _encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike], what: str) -> dict:
        kp, as_numpy = keypoints_to_tensor(keypoints, 3, what)
        vis = visibility_to_tensor(keypoints_visible, kp)
        x, y, zero = self._labels(kp, vis)
        weights = copy_weights(keypoints_visible, zero, as_numpy)
        if as_numpy:
            x, y = x.numpy(), y.numpy()
        return dict(keypoint_x_labels=x, keypoint_y_labels=y, keypoint_weights=weights)

    def encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike] = None) -> dict:
        """Encode one sample's keypoints into SimCC labels.

        Args:
            keypoints (ndarray or Tensor [N, K, 2]): (x, y) in input-image pixels; any N.
            keypoints_visible (ndarray or Tensor [N, K], optional): visibility; None = all visible.

        Returns:
            dict: ``keypoint_x_labels`` [N, K, Wx] float32, ``keypoint_y_labels`` [N, K, Wy] float32
            and ``keypoint_weights`` [N, K] (NumPy: the visibility's dtype, float32 when None;
            tensors: float32). NumPy in, NumPy out; tensors in, tensors out on their device.
        """
        return self._encode(keypoints, keypoints_visible, "[N, K, 2]")

    def batch_encode(self, keypoints: torch.Tensor, keypoints_visible: Optional[torch.Tensor] = None) -> dict:
        """Encode a top-down batch (one instance per sample) on its device, vectorised.

        Args:
            keypoints (Tensor[B, K, 2]): (x, y) in input-image pixels.
            keypoints_visible (Tensor[B, K], optional): visibility; None = all visible.

        Returns:
            dict: ``keypoint_x_labels`` Tensor[B, K, Wx], ``keypoint_y_labels`` Tensor[B, K, Wy] and
            ``keypoint_weights`` Tensor[B, K], float32, on the keypoints' device. Row b equals
            ``encode(keypoints[b:b+1], keypoints_visible[b:b+1])``.
        """
        _checks.require_tensor("keypoints", keypoints)
        return self._encode(keypoints, keypoints_visible, "[B, K, 2]")

    def dark_kernel_sizes(self) -> Tuple[int, int]:
        """The 1-D DARK blur sizes MMPose derives from sigma: ``int((20 sigma - 7) // 3)``, made odd."""
        sizes = []
        for s in self.sigma:
            k = int((float(s) * 20 - 7) // 3)
            sizes.append(k - int(k % 2 == 0))
        return sizes[0], sizes[1]

    def batch_decode(self, simcc_x: torch.Tensor, simcc_y: torch.Tensor):
        """Decode a batch of SimCC vectors on their device in one kernel launch.

        Args:
            simcc_x (Tensor[B, K, Wx]): x-axis vectors (float32/float16/bfloat16).
            simcc_y (Tensor[B, K, Wy]): y-axis vectors.

        Returns:
            tuple: ``keypoints`` Tensor[B, K, 2] float32 in input-image pixels (argmax per axis, -1 bin
            where ``min(max_x, max_y) <= 0``, 1-D DARK when ``use_dark``, divided by the split ratio)
            and ``scores`` Tensor[B, K] float32 = min of the two axis maxima; with
            ``decode_visibility``, ``(scores, visibility)`` where visibility is the min of the two
            axes' softmax maxima of ``simcc * decode_beta * sigma`` (float64, as MMPose).
        """
        x, _ = network_output_tensor("simcc_x", simcc_x, 3, "[B, K, Wx]")
        y, _ = network_output_tensor("simcc_y", simcc_y, 3, "[B, K, Wy]")
        blur = self.dark_kernel_sizes() if self.use_dark else None
        locations, scores = ops.decode_simcc(x, y, blur)
        keypoints = locations / float(self.simcc_split_ratio)
        if not self.decode_visibility:
            return keypoints, scores

        def softmax_max(v: torch.Tensor, sigma: float) -> torch.Tensor:
            # as NumPy promotes it: (float32 vectors * beta) in float32, then * float64 sigma
            v = (v.to(torch.float32) * float(self.decode_beta)).to(torch.float64) * sigma
            return 1.0 / torch.exp(v - v.amax(dim=-1, keepdim=True)).sum(dim=-1)

        vx, vy = softmax_max(x, float(self.sigma[0])), softmax_max(y, float(self.sigma[1]))
        return keypoints, (scores, torch.where(vx > vy, vy, vx))

    def decode(self, simcc_x: ArrayLike, simcc_y: ArrayLike):
        """Decode SimCC vectors into keypoints in input-image space (MMPose's ``decode``).

        Args:
            simcc_x (ndarray or Tensor [K, Wx] or [N, K, Wx]): x-axis vectors.
            simcc_y (ndarray or Tensor [K, Wy] or [N, K, Wy]): y-axis vectors.

        Returns:
            tuple: ``keypoints`` [N, K, 2] float32 (N = 1 for 2-D input) and ``scores`` [N, K]
            float32, or ``(scores, visibility)`` with ``decode_visibility`` (visibility [N, K], or [K]
            for 2-D input, float64, as MMPose). NumPy in, NumPy out; tensors in, tensors out.
        """
        rank = np.ndim(simcc_x)
        if rank not in (2, 3) or np.ndim(simcc_y) != rank:
            raise ValueError(
                f"simcc_x and simcc_y must both be [K, W] or [N, K, W], got shapes {tuple(np.shape(simcc_x))} "
                f"and {tuple(np.shape(simcc_y))}"
            )
        x, as_numpy = network_output_tensor("simcc_x", simcc_x, rank, "[K, Wx] or [N, K, Wx]")
        y, _ = network_output_tensor("simcc_y", simcc_y, rank, "[K, Wy] or [N, K, Wy]")
        if rank == 2:
            x, y = x.unsqueeze(0), y.unsqueeze(0)
        keypoints, scores = self.batch_decode(x, y)
        if self.decode_visibility:
            scores, visibility = scores
            visibility = visibility[0] if rank == 2 else visibility
            return to_output(keypoints, as_numpy), (to_output(scores, as_numpy), to_output(visibility, as_numpy))
        return to_output(keypoints, as_numpy), to_output(scores, as_numpy)

    def __repr__(self) -> str:
        sigma: Sequence[float] = tuple(self.sigma.tolist())
        return (
            f"SimCCLabel(input_size={tuple(self.input_size)}, smoothing_type={self.smoothing_type!r}, "
            f"sigma={sigma}, simcc_split_ratio={self.simcc_split_ratio}, "
            f"label_smooth_weight={self.label_smooth_weight}, normalize={self.normalize}, "
            f"use_dark={self.use_dark}, decode_visibility={self.decode_visibility}, decode_beta={self.decode_beta})"
        )
