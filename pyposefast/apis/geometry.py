"""Inference geometry, as MMPose's val pipelines compute it, on batched tensors.

* Top-down (``GetBBoxCenterScale(padding=1.25)`` -> ``TopdownAffine``): box -> centre and scale,
  aspect ratio fixed to the model input's (the box only grows), warp matrix (``get_warp_matrix``, or
  ``get_udp_warp_matrix`` for UDP codecs).
* Bottom-up (``BottomupResize``): the whole image resized into the model input keeping its aspect
  ratio (``resize_mode='fit'`` pads up to the input size; ``'expand'`` grows the input to cover the
  image), sides a multiple of ``size_factor``; the predictions come back by
  ``kp / input_size * input_scale + input_center - 0.5 * input_scale``.

Points are (x, y) in pixels, sizes (w, h).
"""

from __future__ import annotations

import math
from typing import Tuple

import numpy as np
import torch

from ..datasets.bottomup import bottomup_resize_warp
from ..structures import bbox_xyxy2cs, fix_aspect_ratio, get_udp_warp_matrix, get_warp_matrix

__all__ = ["topdown_geometry", "bottomup_geometry", "bottomup_to_image", "uses_udp", "TOPDOWN_PADDING"]

#: ``GetBBoxCenterScale``'s padding in MMPose's val pipelines.
TOPDOWN_PADDING = 1.25


def uses_udp(codec) -> bool:
    """Whether a model's codec takes UDP crops (MMPose's UDP configs pair ``UDPHeatmap`` with
    ``TopdownAffine(use_udp=True)``; other codecs with the plain warp)."""
    from ..codecs import UDPHeatmap

    return isinstance(codec, UDPHeatmap) or bool(getattr(codec, "use_udp", False))


def topdown_geometry(bboxes: torch.Tensor, input_size: Tuple[int, int], use_udp: bool = False,
                     padding: float = TOPDOWN_PADDING) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Crop geometry of person boxes (MMPose's top-down val pipeline).

    Args:
        bboxes (Tensor[N, 4]): (x1, y1, x2, y2) in image pixels, any floating dtype and device.
        input_size (tuple[int, int]): model input (w, h).
        use_udp (bool): UDP warp (``get_udp_warp_matrix``). Defaults to False.
        padding (float): box padding. Defaults to 1.25.

    Returns:
        tuple: ``center`` Tensor[N, 2], ``scale`` Tensor[N, 2] (padded, aspect-fixed: MMPose's
        ``input_center`` / ``input_scale``) and ``warp`` Tensor[N, 2, 3] (image -> crop), float64 on
        the boxes' device.
    """
    if not isinstance(bboxes, torch.Tensor) or bboxes.dim() != 2 or bboxes.shape[1] != 4:
        raise ValueError(f"bboxes must be a Tensor [N, 4] (x1, y1, x2, y2), got {getattr(bboxes, 'shape', bboxes)!r}")
    w, h = (int(v) for v in input_size)
    center, scale = bbox_xyxy2cs(bboxes.to(torch.float64), padding=padding)
    scale = fix_aspect_ratio(scale, w / h)
    if use_udp:
        warp = get_udp_warp_matrix(center, scale, 0.0, (w, h))
    else:
        warp = get_warp_matrix(center, scale, 0.0, (w, h))
    return center, scale, warp


def _ceil_to(size: Tuple[float, float], base: int) -> Tuple[int, int]:
    return tuple(int(math.ceil(s / base) * base) for s in size)  # type: ignore[return-value]


def bottomup_geometry(image_size: Tuple[int, int], input_size: Tuple[int, int], size_factor: int = 32,
                      resize_mode: str = "fit", use_udp: bool = False
                      ) -> Tuple[Tuple[int, int], np.ndarray, np.ndarray, np.ndarray]:
    """``BottomupResize`` for one image (no extra test scales).

    Args:
        image_size (tuple[int, int]): the image (w, h).
        input_size (tuple[int, int]): the model input (w, h) (``codec.input_size``).
        size_factor (int): input sides are multiples of this. Defaults to 32 (MMPose's default;
            the AE HRNet COCO config uses 64).
        resize_mode (str): ``'fit'`` (input size fixed; must be a multiple of ``size_factor``) or
            ``'expand'`` (the input grows to cover the image at the input scale). Defaults to 'fit'.
        use_udp (bool): UDP resize. Defaults to False.

    Returns:
        tuple: ``padded_size`` (w, h) ints (the network input size), ``center`` ndarray[2] float32,
        ``scale`` ndarray[2] float32 (MMPose's ``input_center`` / ``input_scale``) and ``warp``
        ndarray[2, 3] float64 (image -> network input).

    Raises:
        ValueError: a bad mode, or an input size that is not a multiple of ``size_factor`` in 'fit'.
    """
    img_w, img_h = (float(v) for v in image_size)
    if img_w <= 0 or img_h <= 0:
        raise ValueError(f"image_size must be positive, got {image_size}")
    if not isinstance(size_factor, int) or size_factor < 1:
        raise ValueError(f"size_factor must be a positive int, got {size_factor!r}")
    ratio = img_w / img_h
    if resize_mode == "fit":
        padded = _ceil_to(input_size, size_factor)
        if padded != tuple(int(v) for v in input_size):
            raise ValueError(f"with resize_mode='fit' the input size {tuple(input_size)} must be a multiple of "
                             f"size_factor {size_factor}")
        actual = (min(padded[0], padded[1] * ratio), min(padded[1], padded[0] / ratio))
    elif resize_mode == "expand":
        base = _ceil_to(input_size, size_factor)
        actual = (max(base[0], base[1] * ratio), max(base[1], base[0] / ratio))
        padded = _ceil_to(actual, size_factor)
    else:
        raise ValueError(f"resize_mode must be 'fit' or 'expand', got {resize_mode!r}")
    center, scale, warp = bottomup_resize_warp(img_w, img_h, actual, padded, use_udp)
    return padded, center, scale, warp


def bottomup_to_image(keypoints: np.ndarray, input_size: Tuple[int, int], center: np.ndarray,
                      scale: np.ndarray) -> np.ndarray:
    """Network-input pixels -> image pixels (MMPose's ``BottomupPoseEstimator.add_pred_to_datasample``).

    Args:
        keypoints (ndarray[..., 2]): (x, y) in network-input pixels.
        input_size (tuple[int, int]): the padded network input (w, h).
        center, scale (ndarray[2]): from :func:`bottomup_geometry`.

    Returns:
        ndarray[..., 2] float32: (x, y) in image pixels.
    """
    size = np.asarray(input_size, dtype=np.float32)
    kp = np.asarray(keypoints, dtype=np.float32)
    return (kp / size * scale + center - 0.5 * scale).astype(np.float32)
