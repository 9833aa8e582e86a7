"""NumPy reference of the heatmap-target ops (ALGORITHMS.md (a), (b)).

Same arguments, layouts and weight rules as ``pyposefast.ops.heatmap`` (see its module docstring),
on NumPy arrays. Gaussians are evaluated in float64 from the formula and rounded once to float32.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np

FAR_AWAY = 1e9


def _layout(keypoints, keypoints_visible, instance_valid):
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.ndim not in (3, 4) or kp.shape[-1] != 2:
        raise ValueError(f"keypoints must be [B, K, 2] or [B, N, K, 2], got {kp.shape}")
    top_down = kp.ndim == 3
    if keypoints_visible is None:
        vis = np.ones(kp.shape[:-1], dtype=np.float32)
    else:
        vis = np.asarray(keypoints_visible, dtype=np.float32).copy()
    if vis.shape != kp.shape[:-1]:
        raise ValueError(f"keypoints_visible must have shape {kp.shape[:-1]}, got {vis.shape}")
    if instance_valid is not None:
        vis = vis * (np.asarray(instance_valid) != 0)[..., None]
    if top_down:
        kp, vis = kp[:, None], vis[:, None]
    return kp, vis, top_down


def _skip_weight(x: np.float32, y: np.float32, v: np.float32) -> Optional[float]:
    """The weight of a keypoint that is not drawn for reasons other than bounds, else None."""
    if not v >= 0.5:
        return 0.0 if math.isnan(v) else float(v)
    if not (abs(x) < FAR_AWAY and abs(y) < FAR_AWAY):
        return 0.0
    return None


def _drawn_keypoints(kp: np.ndarray, vis: np.ndarray, weights: np.ndarray):
    """Yield (b, n, k, x, y) for every keypoint that may be drawn; writes the weight of the others."""
    B, N, K, _ = kp.shape
    for b in range(B):
        for n in range(N):
            for k in range(K):
                x, y = kp[b, n, k]
                skip = _skip_weight(x, y, vis[b, n, k])
                if skip is not None:
                    weights[b, n, k] = skip
                    continue
                yield b, n, k, x, y


def gaussian_heatmaps(
    keypoints: np.ndarray,
    keypoints_visible: Optional[np.ndarray],
    heatmap_size: Sequence[int],
    sigma: float,
    method: str = "msra",
    instance_valid: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian heatmaps: keypoints [B,K,2] or [B,N,K,2] (heatmap pixels) -> ([B,K,H,W] float32,
    weights [B,K] or [B,N,K] float32). ``method``: 'msra' | 'unbiased' | 'udp'."""
    if method not in ("msra", "unbiased", "udp"):
        raise ValueError(f"method must be 'msra', 'unbiased' or 'udp', got {method!r}")
    kp, vis, top_down = _layout(keypoints, keypoints_visible, instance_valid)
    B, N, K, _ = kp.shape
    W, H = int(heatmap_size[0]), int(heatmap_size[1])
    heatmaps = np.zeros((B, K, H, W), dtype=np.float32)
    weights = vis.copy()
    radius = 3.0 * sigma
    two_sigma_sq = 2.0 * sigma * sigma
    for b, n, k, x, y in _drawn_keypoints(kp, vis, weights):
        if method == "unbiased":
            # float32 bounds around the float centre; the Gaussian covers the whole map
            r32 = np.float32(radius)
            left, top = x - r32, y - r32
            right, bottom = x + r32 + np.float32(1), y + r32 + np.float32(1)
            if left >= W or top >= H or right < 0 or bottom < 0:
                weights[b, n, k] = 0
                continue
            cols = np.arange(W, dtype=np.float64)
            rows = np.arange(H, dtype=np.float64)[:, None]
            g = np.exp(-((cols - float(x)) ** 2 + (rows - float(y)) ** 2) / two_sigma_sq)
            np.maximum(heatmaps[b, k], g.astype(np.float32), out=heatmaps[b, k])
            continue
        # msra / udp: integer centre int(mu + 0.5) (float32 add, truncation)
        mx, my = int(x + np.float32(0.5)), int(y + np.float32(0.5))
        left, top = int(mx - radius), int(my - radius)
        right, bottom = int(mx + radius + 1), int(my + radius + 1)
        if left >= W or top >= H or right < 0 or bottom < 0:
            weights[b, n, k] = 0
            continue
        size = 2 * radius + 1
        x0 = y0 = size // 2
        if method == "udp":  # sub-pixel centre inside the integer patch
            x0 += float(x) - mx
            y0 += float(y) - my
        idx = np.arange(0, size, 1, dtype=np.float64)
        patch = np.exp(-((idx - x0) ** 2 + (idx[:, None] - y0) ** 2) / two_sigma_sq)
        gx1, gx2 = max(0, -left), min(W, right) - left
        gy1, gy2 = max(0, -top), min(H, bottom) - top
        hx1, hx2 = max(0, left), min(W, right)
        hy1, hy2 = max(0, top), min(H, bottom)
        region = heatmaps[b, k, hy1:hy2, hx1:hx2]
        np.maximum(region, patch[gy1:gy2, gx1:gx2].astype(np.float32), out=region)
    return heatmaps, (weights[:, 0] if top_down else weights)


def udp_offset_heatmaps(
    keypoints: np.ndarray,
    keypoints_visible: Optional[np.ndarray],
    heatmap_size: Sequence[int],
    radius_factor: float = 0.0546875,
    instance_valid: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """UDP combined targets: -> ([B,3K,H,W] float32 with (cls, x_off, y_off) per keypoint, weights)."""
    kp, vis, top_down = _layout(keypoints, keypoints_visible, instance_valid)
    B, N, K, _ = kp.shape
    W, H = int(heatmap_size[0]), int(heatmap_size[1])
    radius = radius_factor * max(W, H)
    heatmaps = np.zeros((B, K, 3, H, W), dtype=np.float32)
    weights = vis.copy()
    cols = np.arange(W, dtype=np.float64)
    rows = np.arange(H, dtype=np.float64)[:, None]
    for b, n, k, x, y in _drawn_keypoints(kp, vis, weights):
        x_off = (float(x) - cols) / radius + 0 * rows
        y_off = (float(y) - rows) / radius + 0 * cols
        heatmaps[b, k, 0] = np.where(x_off**2 + y_off**2 <= 1, 1.0, 0.0)  # last one wins
        heatmaps[b, k, 1] = x_off
        heatmaps[b, k, 2] = y_off
    return heatmaps.reshape(B, 3 * K, H, W), (weights[:, 0] if top_down else weights)
