"""What every keypoint codec shares: MMPose 1.x's BaseKeypointCodec attributes and array plumbing."""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np
import torch

from .._constants import device_constant

ArrayLike = Union[np.ndarray, torch.Tensor]


class BaseKeypointCodec:
    """Base of the keypoint codecs, with MMPose 1.x's class attributes.

    A codec turns keypoints in input-image space into training targets (``encode``, one sample, NumPy
    or tensors; ``batch_encode``, a batch of tensors on their own device) and network outputs back
    into keypoints in input-image space (``decode``, one sample, MMPose's signature and results;
    ``batch_decode``, a batch of tensors decoded on their device by one kernel launch).

    Class attributes (as in MMPose, used by its data pipeline to route the encoded fields):
        auxiliary_encode_keys (set): extra keyword arguments ``encode`` accepts.
        field_mapping_table (dict): encoded key -> data-sample field.
        instance_mapping_table (dict): encoded key -> instance field.
        label_mapping_table (dict): encoded key -> label field.
    """

    auxiliary_encode_keys: set = set()
    field_mapping_table: dict = dict()
    instance_mapping_table: dict = dict()
    label_mapping_table: dict = dict()

    @property
    def support_batch_decoding(self) -> bool:
        """Whether ``batch_decode`` is implemented (MMPose's heads then decode the batch at once)."""
        return type(self).batch_decode is not BaseKeypointCodec.batch_decode

    def batch_decode(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no batched decoding")


def to_keypoint_tensors(
    keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike], rank: int, what: str
) -> tuple[torch.Tensor, Optional[torch.Tensor], bool]:
    """NumPy or tensor inputs -> float32 keypoint tensor and visibility tensor (or None).

    Returns ``(keypoints, keypoints_visible, was_numpy)``; raises like the ops do for bad input.
    """
    was_numpy = not isinstance(keypoints, torch.Tensor)
    if was_numpy:
        arr = np.asarray(keypoints)
        if not np.issubdtype(arr.dtype, np.floating) and not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"keypoints must hold real numbers, got dtype {arr.dtype}")
        kp = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    else:
        if keypoints.dtype.is_complex or keypoints.dtype == torch.bool:
            raise TypeError(f"keypoints must hold real numbers, got dtype {keypoints.dtype}")
        kp = keypoints.detach().to(torch.float32)
    if kp.dim() != rank or kp.shape[-1] != 2:
        raise ValueError(f"keypoints must be {what}, got shape {tuple(kp.shape)}")
    vis = None
    if keypoints_visible is not None:
        if isinstance(keypoints_visible, torch.Tensor):
            vis = keypoints_visible
        else:
            vis = torch.from_numpy(np.ascontiguousarray(np.asarray(keypoints_visible), dtype=np.float32))
        vis = vis.to(kp.device)
    return kp, vis, was_numpy


def to_output(t: torch.Tensor, as_numpy: bool) -> Any:
    return t.cpu().numpy() if as_numpy else t


def network_output_tensor(name: str, value: ArrayLike, rank: int, shape: str) -> tuple[torch.Tensor, bool]:
    """A network output (NumPy or tensor) of the given rank -> (tensor, was_numpy), for decoding."""
    was_numpy = not isinstance(value, torch.Tensor)
    if was_numpy:
        arr = np.asarray(value)
        if not np.issubdtype(arr.dtype, np.floating):
            raise TypeError(f"{name} must hold floating-point values, got dtype {arr.dtype}")
        value = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
    elif not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {value.dtype}")
    if value.dim() != rank:
        raise ValueError(f"{name} must be {shape}, got shape {tuple(value.shape)}")
    return value.detach(), was_numpy


DrawFn = Callable[[torch.Tensor, Optional[torch.Tensor]], "tuple[torch.Tensor, torch.Tensor]"]


def encode_sample(
    keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike], scale_factor: np.ndarray, draw: DrawFn
) -> dict:
    """One sample ([N, K, 2] input-space keypoints) through a heatmap op, MMPose-style result.

    ``draw(keypoints [1, N, K, 2] in heatmap pixels, visible [1, N, K] or None)`` returns the op's
    ``(heatmaps [1, C, H, W], weights [1, N, K])``. NumPy in -> NumPy out (weights in the
    visibility's floating dtype, as MMPose copies it); tensors in -> tensors out on their device.
    """
    kp, vis, as_numpy = to_keypoint_tensors(keypoints, keypoints_visible, 3, "[N, K, 2]")
    scale = device_constant(scale_factor, torch.from_numpy(scale_factor).dtype, kp.device)
    heatmaps, weights = draw((kp / scale).unsqueeze(0), None if vis is None else vis.unsqueeze(0))
    weights = to_output(weights[0], as_numpy)
    if as_numpy and keypoints_visible is not None:
        vis_dtype = np.asarray(keypoints_visible).dtype
        if np.issubdtype(vis_dtype, np.floating):
            weights = weights.astype(vis_dtype)
    return dict(heatmaps=to_output(heatmaps[0], as_numpy), keypoint_weights=weights)


def encode_batch(
    keypoints: torch.Tensor, keypoints_visible: Optional[torch.Tensor], scale_factor: np.ndarray, draw: DrawFn
) -> dict:
    """A top-down batch ([B, K, 2] input-space keypoints) through a heatmap op on its device."""
    kp, vis, _ = to_keypoint_tensors(keypoints, keypoints_visible, 3, "[B, K, 2]")
    scale = device_constant(scale_factor, torch.from_numpy(scale_factor).dtype, kp.device)
    heatmaps, weights = draw(kp / scale, vis)
    return dict(heatmaps=heatmaps, keypoint_weights=weights)


class HeatmapCodec(BaseKeypointCodec):
    """A codec whose targets come from one heatmap op; subclasses say which (``_draw``).

    Attributes a subclass sets: ``scale_factor`` (ndarray[2] float32, input pixels per heatmap pixel).
    """

    label_mapping_table = dict(keypoint_weights="keypoint_weights")
    field_mapping_table = dict(heatmaps="heatmaps")
    scale_factor: np.ndarray

    def _draw(self, dtype: torch.dtype = torch.float32) -> DrawFn:
        """The op call: (keypoints in heatmap pixels, visibility) -> (heatmaps, weights)."""
        raise NotImplementedError

    def _decode_heatmap_pixels(self, heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The decoding op call: heatmaps [B, C, H, W] -> (keypoints [B, K, 2] in heatmap pixels, scores)."""
        raise NotImplementedError

    def _to_input_space(self, keypoints: torch.Tensor) -> torch.Tensor:
        """Heatmap pixels -> input-image pixels (float32, as MMPose's float32 arithmetic)."""
        scale = device_constant(self.scale_factor, torch.from_numpy(self.scale_factor).dtype, keypoints.device)
        return keypoints * scale

    def decode(self, encoded: ArrayLike) -> tuple[Any, Any]:
        """Decode one sample's heatmaps into keypoints in input-image space (MMPose's ``decode``).

        Args:
            encoded (ndarray or Tensor [C, H, W]): the network's heatmaps for one sample.

        Returns:
            tuple: ``keypoints`` [1, K, 2] float32 ((x, y) in input pixels) and ``scores`` [1, K]
            float32. NumPy in, NumPy out; tensors in, tensors out on their device.
        """
        heatmaps, as_numpy = network_output_tensor("encoded", encoded, 3, "[C, H, W]")
        keypoints, scores = self.batch_decode(heatmaps.unsqueeze(0))
        return to_output(keypoints, as_numpy), to_output(scores, as_numpy)

    def batch_decode(self, batch_heatmaps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Decode a batch on its device in one kernel launch, never synchronising with the host.

        Args:
            batch_heatmaps (Tensor[B, C, H, W]): float32/float16/bfloat16 heatmaps (C = K, or 3K
                for UDP combined).

        Returns:
            tuple: ``keypoints`` Tensor[B, K, 2] float32 in input-image pixels and ``scores``
            Tensor[B, K] float32, on the input's device.
        """
        heatmaps, _ = network_output_tensor("batch_heatmaps", batch_heatmaps, 4, "[B, C, H, W]")
        keypoints, scores = self._decode_heatmap_pixels(heatmaps)
        return self._to_input_space(keypoints), scores

    def encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike] = None) -> dict:
        """Encode one sample's keypoints.

        Args:
            keypoints (ndarray or Tensor [N, K, 2]): (x, y) in input-image pixels. MMPose accepts
                N = 1 only; here N > 1 instances are merged as the op merges them (Gaussians: max;
                UDP combined: the last visible instance draws each keypoint, as MMPose's generator).
            keypoints_visible (ndarray or Tensor [N, K], optional): visibility; None = all visible.

        Returns:
            dict: ``heatmaps`` [C, H, W] float32 (C = K, or 3K for UDP combined) and
            ``keypoint_weights`` [N, K] (float32, or the visibility's floating dtype for NumPy
            input, as MMPose copies it). NumPy in, NumPy out; tensors in, tensors out on their device.
        """
        return encode_sample(keypoints, keypoints_visible, self.scale_factor, self._draw())

    def batch_encode(
        self,
        keypoints: torch.Tensor,
        keypoints_visible: Optional[torch.Tensor] = None,
        dtype: torch.dtype = torch.float32,
    ) -> dict:
        """Encode a top-down batch (one instance per sample) in one kernel launch on its device.

        Args:
            keypoints (Tensor[B, K, 2]): (x, y) in input-image pixels.
            keypoints_visible (Tensor[B, K], optional): visibility; None = all visible.
            dtype (torch.dtype): heatmap dtype (float32, float16 or bfloat16).

        Returns:
            dict: ``heatmaps`` Tensor[B, C, H, W] and ``keypoint_weights`` Tensor[B, K] float32.
        """
        return encode_batch(keypoints, keypoints_visible, self.scale_factor, self._draw(dtype))
