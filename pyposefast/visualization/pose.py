"""Skeletons, boxes and heatmaps drawn over images with OpenCV (MMPose's ``PoseLocalVisualizer``
conventions: the dataset's keypoint and link colours, keypoints above ``kpt_thr`` only, a link only
when both its ends are above it, boxes in green, heatmaps blended in the JET colour map).

Images are OpenCV's BGR ``HWC uint8``; dataset metainfo colours (``keypoint_colors``,
``skeleton_link_colors``) are RGB, as MMPose's visualiser uses them, and are swapped to BGR here.
Points are (x, y) in image pixels.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

__all__ = ["draw_pose", "overlay_heatmaps", "draw_batch_grid", "BBOX_COLOR", "DEFAULT_KEYPOINT_COLOR",
           "DEFAULT_LINK_COLOR"]

#: box colour (BGR): green, MMPose's ``bbox_color``.
BBOX_COLOR = (0, 255, 0)
#: colours (BGR) when the metainfo has none: MMPose's ``kpt_color='red'`` / ``link_color=None`` (white here).
DEFAULT_KEYPOINT_COLOR = (0, 0, 255)
DEFAULT_LINK_COLOR = (255, 255, 255)

ArrayLike = Union[np.ndarray, torch.Tensor, Sequence]


def _numpy(name: str, value: Any, dtype=np.float32) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}") from e


def _check_image(image: Any) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"image must be a NumPy array (H, W, 3) uint8 BGR, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must be (H, W, 3) uint8 BGR, got {image.shape} {image.dtype}")
    return image


def _bgr_palette(meta: Optional[Dict[str, Any]], key: str, count: int, default: Tuple[int, int, int]) -> list:
    """``count`` BGR int triples from the metainfo's RGB palette ``key`` (a default where missing)."""
    colors = None if meta is None else meta.get(key)
    if colors is None or len(colors) == 0:
        return [default] * count
    colors = np.asarray(colors).reshape(-1, 3)
    if len(colors) < count:  # a palette shorter than the keypoint set: cycle it
        colors = np.resize(colors, (count, 3))
    return [tuple(int(c) for c in rgb[::-1]) for rgb in colors[:count]]


def _point(xy: np.ndarray) -> Tuple[int, int]:
    return int(round(float(xy[0]))), int(round(float(xy[1])))


def draw_pose(image: np.ndarray, keypoints: ArrayLike, scores: Optional[ArrayLike], meta: Optional[Dict[str, Any]],
              *, kpt_thr: float = 0.3, radius: int = 3, thickness: int = 1,
              bboxes: Optional[ArrayLike] = None, copy: bool = True) -> np.ndarray:
    """Draw the skeletons of N instances over an image.

    Links are drawn first, then keypoints (filled circles) on top, so a keypoint's centre pixel has
    its keypoint colour. A keypoint is drawn when its score is > ``kpt_thr`` and it lies inside the
    image; a link when both its ends are. Boxes (optional) are drawn first, in green.

    Args:
        image (ndarray[H, W, 3] uint8): BGR image.
        keypoints (ndarray or Tensor [N, K, 2] or [K, 2]): (x, y) in image pixels.
        scores (ndarray or Tensor [N, K] or [K], optional): keypoint scores (None: all drawn).
        meta (dict, optional): dataset metainfo (``pyposefast.datasets.dataset_meta``): uses
            ``keypoint_colors`` [K, 3] and ``skeleton_link_colors`` [L, 3] (RGB) and
            ``skeleton_links`` (pairs of keypoint ids). None: red keypoints, no links.
        kpt_thr (float): score threshold (strictly above is drawn). Defaults to 0.3.
        radius (int): keypoint circle radius in pixels. Defaults to 3.
        thickness (int): link (and box) line width in pixels. Defaults to 1.
        bboxes (ndarray or Tensor [N, 4], optional): boxes (x1, y1, x2, y2) to draw.
        copy (bool): draw on a copy (True) or in place.

    Returns:
        ndarray[H, W, 3] uint8: the drawn image (BGR).

    Raises:
        TypeError / ValueError: an image that is not (H, W, 3) uint8, or keypoints / scores / boxes
        of the wrong shape.
    """
    image = _check_image(image)
    out = image.copy() if copy else image
    kp = _numpy("keypoints", keypoints)
    if kp.ndim == 2:
        kp = kp[None]
    if kp.ndim != 3 or kp.shape[-1] not in (2, 3):
        raise ValueError(f"keypoints must be [N, K, 2] or [K, 2] (x, y), got shape {kp.shape}")
    N, K = kp.shape[:2]
    sc = np.ones((N, K), np.float32) if scores is None else _numpy("scores", scores).reshape(-1)
    if sc.size != N * K:
        raise ValueError(f"scores must be [N, K] = [{N}, {K}], got {sc.size} values")
    sc = sc.reshape(N, K)
    if radius < 0 or thickness < 1:
        raise ValueError(f"radius must be >= 0 and thickness >= 1, got radius={radius} thickness={thickness}")
    H, W = out.shape[:2]
    if bboxes is not None:
        boxes = _numpy("bboxes", bboxes).reshape(-1, 4) if np.size(bboxes) else np.zeros((0, 4), np.float32)
        for x1, y1, x2, y2 in boxes:
            if np.all(np.isfinite([x1, y1, x2, y2])):
                cv2.rectangle(out, _point((x1, y1)), _point((x2, y2)), BBOX_COLOR, thickness, cv2.LINE_8)
    links = [] if meta is None else [tuple(int(i) for i in link) for link in meta.get("skeleton_links", [])]
    link_colors = _bgr_palette(meta, "skeleton_link_colors", len(links), DEFAULT_LINK_COLOR)
    kpt_colors = _bgr_palette(meta, "keypoint_colors", K, DEFAULT_KEYPOINT_COLOR)
    finite = np.isfinite(kp[..., :2]).all(-1)
    inside = finite & (kp[..., 0] >= 0) & (kp[..., 0] < W) & (kp[..., 1] >= 0) & (kp[..., 1] < H)
    shown = inside & (sc > kpt_thr)
    for n in range(N):
        for (a, b), color in zip(links, link_colors):
            if a < K and b < K and shown[n, a] and shown[n, b]:
                cv2.line(out, _point(kp[n, a]), _point(kp[n, b]), color, thickness, cv2.LINE_AA)
        for k in np.flatnonzero(shown[n]):
            cv2.circle(out, _point(kp[n, k]), radius, kpt_colors[k], -1, cv2.LINE_AA)
    return out


def overlay_heatmaps(image: np.ndarray, heatmaps: ArrayLike, alpha: float = 0.5) -> np.ndarray:
    """Blend a heatmap (the maximum over channels) in the JET colour map over an image, as MMPose's
    ``draw_featmap(..., 'pred', alpha=0.5)`` shows ``pred_fields.heatmaps``.

    Args:
        image (ndarray[H, W, 3] uint8): BGR image.
        heatmaps (ndarray or Tensor [K, h, w] or [h, w]): heatmaps over the whole image (any
            resolution: resized to the image bilinearly). Negative values count as 0; the map is
            scaled so that its maximum is 1 (an all-zero map adds nothing).
        alpha (float): weight of the coloured map in [0, 1]. Defaults to 0.5.

    Returns:
        ndarray[H, W, 3] uint8: BGR blend ``(1 - alpha) * image + alpha * colour``.
    """
    image = _check_image(image)
    hm = _numpy("heatmaps", heatmaps)
    if hm.ndim == 3:
        hm = hm.max(axis=0) if hm.shape[0] else np.zeros(hm.shape[1:], np.float32)
    if hm.ndim != 2 or hm.size == 0:
        raise ValueError(f"heatmaps must be [K, h, w] or [h, w], got shape {hm.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    hm = np.nan_to_num(hm, nan=0.0, posinf=0.0, neginf=0.0).clip(min=0.0)
    H, W = image.shape[:2]
    if hm.shape != (H, W):
        hm = cv2.resize(hm, (W, H), interpolation=cv2.INTER_LINEAR)
    peak = float(hm.max())
    gray = np.zeros((H, W), np.uint8) if peak <= 0 else (hm / peak * 255.0 + 0.5).clip(0, 255).astype(np.uint8)
    color = cv2.applyColorMap(gray, cv2.COLORMAP_JET)
    return cv2.addWeighted(image, 1.0 - alpha, color, alpha, 0.0)


def _images_to_bgr(images: ArrayLike, mean: Optional[Sequence[float]], std: Optional[Sequence[float]],
                   rgb: bool) -> np.ndarray:
    """Crops -> uint8 [B, h, w, 3] BGR: float [B, 3, h, w] are un-normalised ``v * std + mean``."""
    if isinstance(images, torch.Tensor):
        images = images.detach().float().cpu().numpy() if images.is_floating_point() else images.cpu().numpy()
    arr = np.asarray(images)
    if arr.ndim != 4:
        raise ValueError(f"images must be [B, 3, h, w] (float, normalised) or [B, h, w, 3] uint8, got {arr.shape}")
    if arr.dtype == np.uint8:
        if arr.shape[-1] != 3:
            raise ValueError(f"uint8 images must be [B, h, w, 3] BGR, got {arr.shape}")
        return arr
    if arr.shape[1] != 3:
        raise ValueError(f"float images must be [B, 3, h, w], got {arr.shape}")
    arr = arr.astype(np.float32).transpose(0, 2, 3, 1)
    if mean is not None and std is not None:
        arr = arr * np.asarray(std, np.float32) + np.asarray(mean, np.float32)
    arr = (arr + 0.5).clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr[..., ::-1]) if rgb else arr


def draw_batch_grid(images: ArrayLike, keypoints: ArrayLike, visible: Optional[ArrayLike],
                    meta: Optional[Dict[str, Any]], *, cols: int = 8,
                    mean: Optional[Sequence[float]] = (123.675, 116.28, 103.53),
                    std: Optional[Sequence[float]] = (58.395, 57.12, 57.375), rgb: bool = True,
                    radius: int = 2, thickness: int = 1, gap: int = 2) -> np.ndarray:
    """A grid of a batch's crops with their keypoints (``pyposefast browse-dataset``).

    Args:
        images (Tensor[B, 3, h, w] float or ndarray[B, h, w, 3] uint8): the pipeline's crops:
            float crops are un-normalised with ``mean`` / ``std`` (the pipeline's ImageNet values by
            default) and, with ``rgb``, swapped to BGR; uint8 crops are taken as BGR.
        keypoints (Tensor or ndarray [B, K, 2]): (x, y) in crop pixels (``transformed_keypoints``).
        visible (Tensor or ndarray [B, K], optional): keypoints with visibility > 0.5 are drawn
            (None: all).
        meta (dict, optional): dataset metainfo for the colours and links.
        cols (int): crops per row. Defaults to 8.
        mean, std (3 floats, optional): the normalisation to undo (None: the crops are 0..255).
        rgb (bool): float crops are RGB (the pipeline's ``bgr_to_rgb=True``). Defaults to True.
        radius, thickness (int): keypoint radius and link width. gap (int): pixels between crops.

    Returns:
        ndarray[rows * (h + gap) - gap, cols' * (w + gap) - gap, 3] uint8 BGR, with
        ``cols' = min(cols, B)``; gaps are black.
    """
    if not isinstance(cols, int) or cols < 1:
        raise ValueError(f"cols must be a positive int, got {cols!r}")
    crops = _images_to_bgr(images, mean, std, rgb)
    B, h, w = crops.shape[:3]
    kp = _numpy("keypoints", keypoints)
    if kp.ndim != 3 or kp.shape[0] != B:
        raise ValueError(f"keypoints must be [B, K, 2] with B = {B}, got shape {kp.shape}")
    vis = np.ones(kp.shape[:2], np.float32) if visible is None else _numpy("visible", visible).reshape(kp.shape[:2])
    ncols = min(cols, max(B, 1))
    rows = max(1, -(-B // ncols))
    grid = np.zeros((rows * (h + gap) - gap, ncols * (w + gap) - gap, 3), np.uint8)
    for b in range(B):
        r, c = divmod(b, ncols)
        tile = draw_pose(np.ascontiguousarray(crops[b]), kp[b], vis[b], meta, kpt_thr=0.5, radius=radius,
                         thickness=thickness)
        grid[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = tile
    return grid
