"""Per-sample transforms with MMPose 1.x's names, arguments and results, on our kernels.

These serve MMPose-style per-sample pipelines (a ``results`` dict in, the same dict out). The batched
GPU pipeline uses the same geometry (``pyposefast.structures``) and kernel (``ops.warp_affine``) on
whole batches instead.
"""

from __future__ import annotations

from typing import Dict, Optional, Tuple

import numpy as np
import torch

from .. import ops
from ..structures.bbox import get_udp_warp_matrix, get_warp_matrix


def warp_image(img: np.ndarray, warp_mat: np.ndarray, warp_size: Tuple[int, int]) -> np.ndarray:
    """``cv2.warpAffine(img, warp_mat, warp_size, flags=cv2.INTER_LINEAR)`` through ``ops.warp_affine``.

    Args:
        img (ndarray[H, W, C] or [H, W]): uint8 or float32 image.
        warp_mat (ndarray[2, 3]): forward (source -> output) matrix.
        warp_size (tuple[int, int]): output (w, h).

    Returns:
        ndarray[h, w, C] (or [h, w]) of the input dtype; uint8 results are rounded half up and
        saturated as OpenCV does.
    """
    squeeze = img.ndim == 2
    src = torch.from_numpy(np.ascontiguousarray(img[..., None] if squeeze else img))
    if src.dtype not in (torch.uint8, torch.float32, torch.float64):
        src = src.to(torch.float32)
    out = ops.warp_affine(src[None], torch.from_numpy(np.asarray(warp_mat, dtype=np.float64))[None], warp_size)
    out = out[0].permute(1, 2, 0)
    if img.dtype == np.uint8:
        out = torch.floor(out + 0.5).clamp_(0, 255).to(torch.uint8)
    arr = out.numpy().astype(img.dtype, copy=False)
    return arr[..., 0] if squeeze else arr


def transform_points(points: np.ndarray, warp_mat: np.ndarray) -> np.ndarray:
    """``cv2.transform(points, warp_mat)`` for points [..., 2]: computed in float64, returned in the
    points' dtype."""
    m = np.asarray(warp_mat, dtype=np.float64)
    p = np.asarray(points, dtype=np.float64)
    out = p @ m[:, :2].T + m[:, 2]
    return out.astype(points.dtype if np.issubdtype(points.dtype, np.floating) else np.float64)


class TopdownAffine:
    """Crop the bbox region to the model input by an affine warp, MMPose 1.x ``TopdownAffine``.

    Required keys: ``img`` (HWC array or list of them), ``bbox_center`` [1, 2], ``bbox_scale`` [1, 2],
    optional ``bbox_rotation`` [1] (degrees) and ``keypoints`` [1, K, 2]. Modified: ``img``,
    ``bbox_scale`` (aspect ratio fixed to w/h by growing the box). Added: ``input_size``,
    ``input_center``, ``input_scale``, ``transformed_keypoints``.

    Args:
        input_size (tuple[int, int]): model input (w, h).
        use_udp (bool): unbiased data processing warp (``get_udp_warp_matrix``). Defaults to False.
    """

    def __init__(self, input_size: Tuple[int, int], use_udp: bool = False) -> None:
        if (not isinstance(input_size, (tuple, list)) or len(input_size) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in input_size)):
            raise ValueError(f"Invalid input_size {input_size!r}: expected (w, h) ints")
        self.input_size = input_size
        self.use_udp = use_udp

    @staticmethod
    def _fix_aspect_ratio(bbox_scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
        """Grow (w, h) scales [n, 2] to the aspect ratio w/h (never shrink)."""
        w, h = bbox_scale[:, :1], bbox_scale[:, 1:2]
        return np.where(w > h * aspect_ratio, np.hstack([w, w / aspect_ratio]), np.hstack([h * aspect_ratio, h]))

    def transform(self, results: Dict) -> Optional[dict]:
        w, h = self.input_size
        warp_size = (int(w), int(h))
        results["bbox_scale"] = self._fix_aspect_ratio(results["bbox_scale"], aspect_ratio=w / h)
        if results["bbox_center"].shape[0] != 1:
            raise ValueError(
                "Top-down heatmap only supports single instance. Got invalid shape of bbox_center "
                f"{results['bbox_center'].shape}."
            )
        center = results["bbox_center"][0]
        scale = results["bbox_scale"][0]
        rot = results["bbox_rotation"][0] if "bbox_rotation" in results else 0.0
        if self.use_udp:
            warp_mat = get_udp_warp_matrix(center, scale, rot, output_size=(w, h))
        else:
            warp_mat = get_warp_matrix(center, scale, rot, output_size=(w, h))
        if isinstance(results["img"], list):
            results["img"] = [warp_image(img, warp_mat, warp_size) for img in results["img"]]
        else:
            results["img"] = warp_image(results["img"], warp_mat, warp_size)
        if results.get("keypoints", None) is not None:
            if results.get("transformed_keypoints", None) is not None:
                transformed = results["transformed_keypoints"].copy()
            else:
                transformed = results["keypoints"].copy()
            transformed[..., :2] = transform_points(results["keypoints"][..., :2], warp_mat)
            results["transformed_keypoints"] = transformed
        else:
            results["transformed_keypoints"] = np.zeros([])
            results["keypoints_visible"] = np.ones((1, 1, 1))
        results["input_size"] = (w, h)
        results["input_center"] = center
        results["input_scale"] = scale
        return results

    def __call__(self, results: Dict) -> Optional[dict]:
        return self.transform(results)

    def __repr__(self) -> str:
        return f"TopdownAffine(input_size={tuple(self.input_size)}, use_udp={self.use_udp})"
