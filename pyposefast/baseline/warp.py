"""NumPy reference of warp_affine (ALGORITHMS.md (d): cv2.warpAffine INTER_LINEAR, constant border).

One crop at a time, vectorised over its pixels, in float64: crop pixel (x, y) samples the source at
M^-1 (x, y) (pixel centres at integer coordinates), bilinear, neighbours outside the image take
``border_value``; then optional channel reversal, normalisation and horizontal flip.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np


def invert_affine(m: np.ndarray) -> Optional[np.ndarray]:
    """cv2.invertAffineTransform in float64, or None for a singular / non-finite matrix."""
    m = np.asarray(m, dtype=np.float64)
    det = m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]
    if not np.isfinite(m).all() or det == 0 or not np.isfinite(det):
        return None
    a, b, d, e = m[1, 1] / det, -m[0, 1] / det, -m[1, 0] / det, m[0, 0] / det
    inv = np.array([[a, b, -(a * m[0, 2] + b * m[1, 2])], [d, e, -(d * m[0, 2] + e * m[1, 2])]])
    return inv if np.isfinite(inv).all() else None


def warp_affine(
    images: Sequence[np.ndarray],
    matrices: np.ndarray,
    output_size: Sequence[int],
    image_index: Optional[Sequence[int]] = None,
    mean: Optional[Sequence[float]] = None,
    std: Optional[Sequence[float]] = None,
    bgr_to_rgb: bool = False,
    flip: bool = False,
    border_value: float = 0.0,
) -> np.ndarray:
    """images: list of HWC arrays; matrices [N, 2, 3] forward; -> crops [N, C, h, w] float64."""
    w, h = int(output_size[0]), int(output_size[1])
    matrices = np.asarray(matrices, dtype=np.float64)
    N = matrices.shape[0]
    index = np.arange(N) if image_index is None else np.asarray(image_index)
    C = images[0].shape[2] if len(images) else 3
    out = np.empty((N, C, h, w), dtype=np.float64)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    if flip:
        xs = (w - 1) - xs
    for n in range(N):
        img = np.asarray(images[index[n]], dtype=np.float64)
        H, W = img.shape[:2]
        inv = invert_affine(matrices[n])
        if inv is None:
            crop = np.full((h, w, C), float(border_value))
        else:
            sx = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2]
            sy = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2]
            x0, y0 = np.floor(sx), np.floor(sy)
            fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
            x0, y0 = x0.astype(np.int64), y0.astype(np.int64)

            def tap(yy, xx):
                inside = (xx >= 0) & (xx < W) & (yy >= 0) & (yy < H)
                vals = img[np.clip(yy, 0, max(H - 1, 0)), np.clip(xx, 0, max(W - 1, 0))] if H and W else 0
                return np.where(inside[..., None], vals, float(border_value))

            crop = ((1 - fy) * ((1 - fx) * tap(y0, x0) + fx * tap(y0, x0 + 1))
                    + fy * ((1 - fx) * tap(y0 + 1, x0) + fx * tap(y0 + 1, x0 + 1)))
        if bgr_to_rgb:
            crop = crop[..., ::-1]
        if mean is not None:
            crop = (crop - np.asarray(mean, dtype=np.float64)) / np.asarray(std, dtype=np.float64)
        out[n] = crop.transpose(2, 0, 1)
    return out
