"""RegressionLabel: keypoints as coordinates normalised by the input size; the coordinate flip test.

Also holds the input plumbing the label codecs share (``keypoints_to_tensor``,
``visibility_to_tensor``): unlike the heatmap codecs these keep float64 keypoints in float64, because
MMPose computes their labels in the keypoints' own NumPy dtype.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Tuple, Union

import numpy as np
import torch

from .._constants import device_constant
from ..ops import _checks
from .base import ArrayLike, BaseKeypointCodec


def keypoints_to_tensor(keypoints: ArrayLike, rank: int, what: str) -> Tuple[torch.Tensor, bool]:
    """NumPy or tensor keypoints -> a real tensor in the dtype MMPose's NumPy code computes in.

    float64 stays float64; float32 stays float32; NumPy integers become float64 (as NumPy promotes
    them when multiplied by a float); float16 / bfloat16 become float32. Tensors keep their device.

    Returns:
        tuple: ``(keypoints, was_numpy)``.

    Raises:
        TypeError: non-real dtype. ValueError: shape other than ``what`` (rank ``rank``, last dim 2).
    """
    was_numpy = not isinstance(keypoints, torch.Tensor)
    if was_numpy:
        arr = np.asarray(keypoints)
        if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
            raise TypeError(f"keypoints must hold real numbers, got dtype {arr.dtype}")
        dtype = np.float32 if arr.dtype in (np.float32, np.float16) else np.float64
        kp = torch.from_numpy(np.ascontiguousarray(arr, dtype=dtype))
    else:
        if keypoints.dtype.is_complex or keypoints.dtype == torch.bool:
            raise TypeError(f"keypoints must hold real numbers, got dtype {keypoints.dtype}")
        dtype = torch.float64 if keypoints.dtype == torch.float64 or not keypoints.is_floating_point() else torch.float32
        kp = keypoints.detach().to(dtype)
    if kp.dim() != rank or kp.shape[-1] != 2:
        raise ValueError(f"keypoints must be {what}, got shape {tuple(kp.shape)}")
    return kp, was_numpy


def visibility_to_tensor(keypoints_visible: Optional[ArrayLike], kp: torch.Tensor) -> torch.Tensor:
    """Visibility ``[..., K]`` matching ``kp [..., K, 2]`` as a float tensor on kp's device (None: ones)."""
    if keypoints_visible is None:
        return torch.ones(kp.shape[:-1], dtype=torch.float32, device=kp.device)
    if isinstance(keypoints_visible, torch.Tensor):
        if keypoints_visible.is_complex():
            raise TypeError(f"keypoints_visible must hold real numbers, got dtype {keypoints_visible.dtype}")
        vis = keypoints_visible.detach().to(kp.device)
    else:
        arr = np.asarray(keypoints_visible)
        if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) or np.iscomplexobj(arr):
            raise TypeError(f"keypoints_visible must hold real numbers, got dtype {arr.dtype}")
        vis = torch.from_numpy(np.ascontiguousarray(arr)).to(kp.device)
    if tuple(vis.shape) != tuple(kp.shape[:-1]):
        raise ValueError(
            f"keypoints_visible must have shape {list(kp.shape[:-1])} (keypoints without the last dim), "
            f"got {list(vis.shape)}"
        )
    return vis if vis.is_floating_point() else vis.to(torch.float32)


def copy_weights(keypoints_visible: Optional[ArrayLike], zero: torch.Tensor, as_numpy: bool) -> ArrayLike:
    """MMPose's ``keypoint_weights = keypoints_visible.copy()`` with ``weights[zero] = 0``.

    NumPy: the visibility's own dtype is kept (float32 ones when it is None); tensors: float32.
    """
    if as_numpy:
        if keypoints_visible is None:
            weights = np.ones(tuple(zero.shape), dtype=np.float32)
        else:
            weights = np.array(keypoints_visible, copy=True)
        weights[zero.cpu().numpy()] = 0
        return weights
    if keypoints_visible is None:
        weights = torch.ones(zero.shape, dtype=torch.float32, device=zero.device)
    else:
        weights = keypoints_visible.detach().to(device=zero.device, dtype=torch.float32)
    return weights.masked_fill(zero, 0.0)


class RegressionLabel(BaseKeypointCodec):
    """Keypoints as coordinates normalised by the input size, MMPose 1.x ``RegressionLabel`` (same
    arguments, same numbers).

    Symbols: N instances, K keypoints, B batch, input size [w, h]. Points are (x, y) in input-image
    pixels; labels are ``(x / w, y / h)``.

    Encoded:
        - keypoint_labels (ndarray[N, K, 2] float32): normalised coordinates.
        - keypoint_weights (ndarray[N, K] float32): 1 where ``0 <= x <= w - 1``, ``0 <= y <= h - 1``
          and visibility ``> 0.5`` (strictly), else 0.

    Args:
        input_size (tuple[int, int]): input image size [w, h].

    Raises:
        ValueError: ``input_size`` not a pair of positive ints.
    """

    label_mapping_table = dict(keypoint_labels="keypoint_labels", keypoint_weights="keypoint_weights")

    def __init__(self, input_size: Tuple[int, int]) -> None:
        super().__init__()
        _checks.size_pair("input_size", input_size)
        self.input_size = input_size

    def _encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike], rank: int, what: str) -> dict:
        kp, as_numpy = keypoints_to_tensor(keypoints, rank, what)
        vis = visibility_to_tensor(keypoints_visible, kp)
        w, h = self.input_size
        valid = ((kp >= 0) & (kp <= device_constant((w - 1, h - 1), kp.dtype, kp.device))).all(dim=-1) & (vis > 0.5)
        # MMPose divides by an int64 array: float64 arithmetic, one rounding to float32
        labels = (kp.double() / device_constant((w, h), torch.float64, kp.device)).to(torch.float32)
        weights = valid.to(torch.float32)
        if as_numpy:
            return dict(keypoint_labels=labels.numpy(), keypoint_weights=weights.numpy())
        return dict(keypoint_labels=labels, keypoint_weights=weights)

    def encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike] = None) -> dict:
        """Encode one sample's keypoints into normalised coordinates.

        Args:
            keypoints (ndarray or Tensor [N, K, 2]): (x, y) in input-image pixels.
            keypoints_visible (ndarray or Tensor [N, K], optional): visibility; None = all visible.

        Returns:
            dict: ``keypoint_labels`` [N, K, 2] float32 and ``keypoint_weights`` [N, K] float32.
            NumPy in, NumPy out; tensors in, tensors out on their device.
        """
        return self._encode(keypoints, keypoints_visible, 3, "[N, K, 2]")

    def batch_encode(self, keypoints: torch.Tensor, keypoints_visible: Optional[torch.Tensor] = None) -> dict:
        """Encode a top-down batch (one instance per sample) on its device.

        Args:
            keypoints (Tensor[B, K, 2]): (x, y) in input-image pixels.
            keypoints_visible (Tensor[B, K], optional): visibility; None = all visible.

        Returns:
            dict: ``keypoint_labels`` Tensor[B, K, 2] and ``keypoint_weights`` Tensor[B, K], float32.
        """
        _checks.require_tensor("keypoints", keypoints)
        return self._encode(keypoints, keypoints_visible, 3, "[B, K, 2]")

    def decode(self, encoded: ArrayLike) -> Tuple[ArrayLike, ArrayLike]:
        """Normalised coordinates (and RLE sigmas) back to input-image pixels.

        Args:
            encoded (ndarray or Tensor [K, D] or [N, K, D]): D = 2 (x, y normalised) or 4 (x, y and
                the sigmoided sigmas of RLE).

        Returns:
            tuple: ``keypoints`` [N, K, 2] (N = 1 for [K, D] input) and ``scores`` [N, K]: ones for
            D = 2 (float32), ``mean(1 - sigma)`` over the two sigmas for D = 4 (input dtype). NumPy
            keypoints come out float64, as MMPose's multiplication by an int64 array promotes them;
            tensors keep their dtype and device.

        Raises:
            ValueError: D not 2 or 4 (MMPose's message), or rank not 2 or 3.
        """
        if isinstance(encoded, torch.Tensor):
            if encoded.dim() not in (2, 3):
                raise ValueError(f"encoded must be [K, D] or [N, K, D], got shape {tuple(encoded.shape)}")
            kp, scores = self.batch_decode(encoded if encoded.dim() == 3 else encoded[None])
            return kp, scores
        arr = np.asarray(encoded)
        if arr.ndim not in (2, 3):
            raise ValueError(f"encoded must be [K, D] or [N, K, D], got shape {arr.shape}")
        if arr.ndim == 2:
            arr = arr[None]
        _check_channels(arr.shape[-1])
        if arr.shape[-1] == 2:
            coords, scores = arr.copy(), np.ones(arr.shape[:2], dtype=np.float32)
        else:
            coords, scores = arr[..., :2].copy(), (1 - arr[..., 2:4]).mean(axis=-1)
        w, h = self.input_size
        return coords * np.array([w, h]), scores

    def batch_decode(self, encoded: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Decode a batch on its device (the tensor form of ``decode``).

        Args:
            encoded (Tensor[B, K, D]): D = 2 or 4, as in ``decode``.

        Returns:
            tuple: ``keypoints`` Tensor[B, K, 2] (x, y) in input-image pixels and ``scores``
            Tensor[B, K], in the input's floating dtype and on its device.
        """
        _checks.require_tensor("encoded", encoded)
        if encoded.dim() != 3:
            raise ValueError(f"encoded must be [B, K, D], got shape {tuple(encoded.shape)}")
        _check_channels(encoded.shape[-1])
        enc = encoded if encoded.is_floating_point() else encoded.to(torch.float32)
        w, h = self.input_size
        keypoints = enc[..., :2] * device_constant((w, h), enc.dtype, enc.device)
        if enc.shape[-1] == 2:
            scores = torch.ones(enc.shape[:2], dtype=enc.dtype, device=enc.device)
        else:
            scores = (1 - enc[..., 2:4]).mean(dim=-1)
        return keypoints, scores

    def __repr__(self) -> str:
        return f"RegressionLabel(input_size={tuple(self.input_size)})"


def _check_channels(d: int) -> None:
    if d not in (2, 4):
        raise ValueError(f"Keypoint dimension should be 2 or 4 (with sigma), but got {d}")


def flip_coordinates(
    coords: torch.Tensor,
    flip_indices: Union[Sequence[int], torch.Tensor],
    shift_coords: bool = True,
    input_size: Optional[Tuple[int, int]] = None,
) -> torch.Tensor:
    """Flip normalised coordinates predicted on a horizontally flipped image back (flip test),
    MMPose 1.x ``models.utils.tta.flip_coordinates`` (same numbers).

    Channel 0 holds x normalised by the input width w: ``x' = 1 - x``, minus ``1 / w`` when
    ``shift_coords``, then the keypoints are permuted by ``flip_indices``. Other channels (y, RLE
    sigmas) are only permuted. Unlike MMPose, the input is not modified in place. Differentiable.

    Args:
        coords (Tensor[B, K, D]): normalised (x, y[, ...]) coordinates, D >= 1.
        flip_indices (sequence of int or Tensor[K]): index of each keypoint's mirror keypoint.
        shift_coords (bool): shift by one input pixel to align with the unflipped prediction.
            Defaults to True.
        input_size (tuple[int, int], optional): input size [w, h]; required when ``shift_coords``.

    Returns:
        Tensor[B, K, D]: the flipped coordinates, same dtype and device.

    Raises:
        TypeError: ``coords`` not a tensor. ValueError: ``coords`` not 3-D, ``flip_indices`` not of
        length K, or ``input_size`` missing while ``shift_coords``.
    """
    _checks.require_tensor("coords", coords)
    if coords.dim() != 3:
        raise ValueError(f"coords must be [B, K, D], got shape {tuple(coords.shape)}")
    idx = torch.as_tensor(flip_indices, dtype=torch.long, device=coords.device)
    if idx.dim() != 1 or idx.numel() != coords.shape[1]:
        raise ValueError(f"flip_indices must have one entry per keypoint ({coords.shape[1]}), got {list(idx.shape)}")
    x = 1.0 - coords[:, :, :1]
    if shift_coords:
        if input_size is None:
            raise ValueError("input_size (w, h) is required when shift_coords=True")
        w, _ = _checks.size_pair("input_size", input_size)
        x = x - 1.0 / w
    out = torch.cat([x, coords[:, :, 1:]], dim=2)
    return out[:, idx]
