"""NumPy reference of the decoding ops (ALGORITHMS.md (c), (f)), written from the spec.

Same arguments and outputs as ``pyposefast.ops.decode`` on NumPy arrays, computed the slow and
obvious way MMPose does: every plane is blurred in full (zero border, or OpenCV's reflect-101 border
for UDP combined), rescaled, clamped and logged, then one Python iteration per keypoint takes the
refinement step. It has no shortcut, so it also checks the kernels' fast path.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

__all__ = ["gaussian_kernel", "gaussian_blur", "decode_heatmaps", "decode_simcc"]

_TABLES = {
    1: [1.0],
    3: [0.25, 0.5, 0.25],
    5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
    7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
    9: [0.015625, 0.05078125, 0.1171875, 0.19921875, 0.234375, 0.19921875, 0.1171875, 0.05078125, 0.015625],
}


def gaussian_kernel(size: int) -> np.ndarray:
    """OpenCV's ``getGaussianKernel(size, 0, CV_32F)``: fixed tables up to 9, else the sigma rule."""
    if size in _TABLES:
        return np.asarray(_TABLES[size], dtype=np.float32)
    sigma = 0.3 * ((size - 1) * 0.5 - 1) + 0.8
    x = np.arange(size) - (size - 1) * 0.5
    t = np.exp(-0.5 / sigma**2 * x * x)
    return (t / t.sum()).astype(np.float32)


def _reflect101(p: np.ndarray, n: int) -> np.ndarray:
    if n == 1:
        return np.zeros_like(p)
    p = p.copy()
    while ((p < 0) | (p >= n)).any():
        p = np.where(p < 0, -p, np.where(p >= n, 2 * n - p - 2, p))
    return p


def _filter_axis(a: np.ndarray, w: np.ndarray, axis: int, reflect: bool) -> np.ndarray:
    """1-D correlation of ``a`` with ``w`` along ``axis`` (float32 accumulation, tap by tap)."""
    n, r = a.shape[axis], len(w) // 2
    out = np.zeros(a.shape, dtype=np.float32)
    for j, wj in enumerate(w):
        src = np.arange(n) + j - r
        if reflect:
            taken = np.take(a, _reflect101(src, n), axis=axis)
        else:
            valid = (src >= 0) & (src < n)
            taken = np.take(a, np.clip(src, 0, n - 1), axis=axis)
            shape = [1] * a.ndim
            shape[axis] = n
            taken = np.where(valid.reshape(shape), taken, np.float32(0))
        out += np.float32(wj) * taken
    return out


def gaussian_blur(planes: np.ndarray, size: int, reflect: bool = False) -> np.ndarray:
    """Separable Gaussian blur of the last two axes (rows first), zero or reflect-101 border."""
    w = gaussian_kernel(size)
    planes = np.asarray(planes, dtype=np.float32)
    return _filter_axis(_filter_axis(planes, w, planes.ndim - 1, reflect), w, planes.ndim - 2, reflect)


def _argmax(planes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """get_heatmap_maximum over [..., H, W]: (x, y) float32 (-1 where max <= 0), max."""
    H, W = planes.shape[-2:]
    flat = planes.reshape(*planes.shape[:-2], H * W)
    idx = np.argmax(flat, axis=-1)
    scores = np.take_along_axis(flat, idx[..., None], axis=-1)[..., 0]
    locs = np.stack([idx % W, idx // W], axis=-1).astype(np.float32)
    locs[scores <= 0] = -1
    return locs, scores.astype(np.float32)


def _modulate(planes: np.ndarray, size: int) -> np.ndarray:
    """DARK's modulation: blur (zero border), then rescale each plane to its original maximum."""
    with np.errstate(divide="ignore", invalid="ignore"):
        blurred = gaussian_blur(planes, size)
        ratio = planes.max(axis=(-2, -1), keepdims=True) / blurred.max(axis=(-2, -1), keepdims=True)
        return (blurred * ratio).astype(np.float32)


def _quarter(kp: np.ndarray, hm: np.ndarray) -> None:
    H, W = hm.shape[-2:]
    for k in range(kp.shape[0]):
        x, y = int(kp[k, 0]), int(kp[k, 1])
        dx = hm[k, y, x + 1] - hm[k, y, x - 1] if 1 < x < W - 1 and 0 < y < H else 0.0
        dy = hm[k, y + 1, x] - hm[k, y - 1, x] if 1 < y < H - 1 and 0 < x < W else 0.0
        kp[k] += np.sign(np.array([dx, dy], dtype=np.float32)) * np.float32(0.25)


def _dark(kp: np.ndarray, hm: np.ndarray, size: int) -> None:
    H, W = hm.shape[-2:]
    with np.errstate(all="ignore"):
        lg = np.log(np.maximum(_modulate(hm, size), np.float32(1e-10)))
    for k in range(kp.shape[0]):
        x, y = int(kp[k, 0]), int(kp[k, 1])
        if not (1 < x < W - 2 and 1 < y < H - 2):
            continue
        h = lg[k]
        dx = 0.5 * (h[y, x + 1] - h[y, x - 1])
        dy = 0.5 * (h[y + 1, x] - h[y - 1, x])
        dxx = 0.25 * (h[y, x + 2] - 2 * h[y, x] + h[y, x - 2])
        dxy = 0.25 * (h[y + 1, x + 1] - h[y - 1, x + 1] - h[y + 1, x - 1] + h[y - 1, x - 1])
        dyy = 0.25 * (h[y + 2, x] - 2 * h[y, x] + h[y - 2, x])
        if dxx * dyy - dxy**2 != 0:
            hessian = np.array([[dxx, dxy], [dxy, dyy]], dtype=np.float64)
            with np.errstate(all="ignore"):
                kp[k] += (-np.linalg.solve(hessian, np.array([dx, dy], dtype=np.float64))).astype(np.float32)


def _dark_udp(kp: np.ndarray, hm: np.ndarray, size: int) -> None:
    K, H, W = hm.shape
    with np.errstate(all="ignore"):
        lg = np.log(np.clip(_modulate(hm, size), np.float32(1e-3), np.float32(50)))
    flat = np.pad(lg, ((0, 0), (1, 1), (1, 1)), mode="edge").reshape(-1)  # NumPy wraps negative indices
    Wp, P = W + 2, (W + 2) * (H + 2)
    for k in range(K):
        i = int(kp[k, 0] + 1 + (kp[k, 1] + 1) * Wp) + P * k
        c, xp, yp, xpyp = flat[i], flat[i + 1], flat[i + Wp], flat[i + Wp + 1]
        xmym, xm, ym = flat[i - Wp - 1], flat[i - 1], flat[i - Wp]
        grad = np.array([0.5 * (xp - xm), 0.5 * (yp - ym)], dtype=np.float64)
        dxy = 0.5 * (xpyp - xp - yp + c + c - xm - ym + xmym)
        hessian = np.array([[xp - 2 * c + xm, dxy], [dxy, yp - 2 * c + ym]], dtype=np.float64)
        hessian += np.finfo(np.float32).eps * np.eye(2)
        (a, bb), (_, d) = hessian
        det = a * d - bb * bb
        if det == 0:  # NumPy's inv would raise: no step
            continue
        step = np.array([d * grad[0] - bb * grad[1], -bb * grad[0] + a * grad[1]]) / det
        kp[k] -= step.astype(np.float32)


def _megvii(hm: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    H, W = hm.shape[-2:]
    m = _modulate(hm, size)
    kp, scores = _argmax(m)
    for k in range(kp.shape[0]):
        x, y = int(kp[k, 0]), int(kp[k, 1])
        if 1 < x < W - 1 and 1 < y < H - 1:
            diff = np.array([m[k, y, x + 1] - m[k, y, x - 1], m[k, y + 1, x] - m[k, y - 1, x]], dtype=np.float32)
            kp[k] += np.sign(diff) * np.float32(0.25) + np.float32(0.5)
    return kp, scores / np.float32(255.0) + np.float32(0.5)


def _udp_combined(hm: np.ndarray, size: int, radius: float) -> tuple[np.ndarray, np.ndarray]:
    C, H, W = hm.shape
    K = C // 3
    kp, scores = _argmax(gaussian_blur(hm[0::3], size, reflect=True))
    x_off = hm[1::3].reshape(-1) * np.float32(radius)
    y_off = hm[2::3].reshape(-1) * np.float32(radius)
    for k in range(K):
        i = int(kp[k, 0] + kp[k, 1] * np.float32(W)) + W * H * k  # NumPy wraps a negative index
        kp[k] += np.array([x_off[i], y_off[i]], dtype=np.float32)
    return kp, scores


def decode_heatmaps(
    heatmaps: np.ndarray, refine: str = "quarter", blur_kernel_size: int = 11, offset_radius: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Reference of ``ops.decode_heatmaps``: [B, C, H, W] -> keypoints [B, K, 2], scores [B, K]."""
    hm = np.asarray(heatmaps, dtype=np.float32)
    if hm.ndim != 4:
        raise ValueError(f"heatmaps must be [B, C, H, W], got {hm.shape}")
    B, C = hm.shape[:2]
    K = C // 3 if refine == "udp_combined" else C
    keypoints = np.zeros((B, K, 2), dtype=np.float32)
    scores = np.zeros((B, K), dtype=np.float32)
    for b in range(B):
        with np.errstate(all="ignore"):
            if refine == "megvii":
                keypoints[b], scores[b] = _megvii(hm[b], blur_kernel_size)
                continue
            if refine == "udp_combined":
                keypoints[b], scores[b] = _udp_combined(hm[b], blur_kernel_size, offset_radius)
                continue
            kp, scores[b] = _argmax(hm[b])
            if refine == "quarter":
                _quarter(kp, hm[b])
            elif refine == "dark":
                _dark(kp, hm[b], blur_kernel_size)
            elif refine == "dark_udp":
                _dark_udp(kp, hm[b], blur_kernel_size)
            elif refine != "none":
                raise ValueError(f"unknown refine {refine!r}")
            keypoints[b] = kp
    return keypoints, scores


def _simcc_dark(loc: np.ndarray, vectors: np.ndarray, size: int) -> np.ndarray:
    """refine_simcc_dark for one axis: loc [M], vectors [M, L] -> refined loc [M]."""
    w = gaussian_kernel(size)
    with np.errstate(all="ignore"):
        blurred = _filter_axis(vectors.astype(np.float32), w, 1, reflect=False)
        ratio = vectors.max(axis=1, keepdims=True) / blurred.max(axis=1, keepdims=True)
        lg = np.log(np.clip((blurred * ratio).astype(np.float32), np.float32(1e-3), np.float32(50)))
    padded = np.pad(lg, ((0, 0), (2, 2)), mode="edge")
    out = loc.copy()
    for m in range(loc.shape[0]):
        p = int(loc[m] + np.float32(2.5))
        v = [padded[m, p + d] for d in (-2, -1, 0, 1, 2)]  # index -1 wraps, as NumPy
        dx = np.float32(0.5) * (v[3] - v[1])
        dxx = np.float32(1e-9) + np.float32(0.25) * (v[4] - 2 * v[2] + v[0])
        with np.errstate(all="ignore"):
            out[m] = loc[m] - dx / dxx
    return out


def decode_simcc(
    simcc_x: np.ndarray, simcc_y: np.ndarray, blur_kernel_size: Optional[Union[int, Sequence[int]]] = None
) -> tuple[np.ndarray, np.ndarray]:
    """Reference of ``ops.decode_simcc``: [B, K, Wx], [B, K, Wy] -> locations [B, K, 2], scores [B, K]."""
    x = np.asarray(simcc_x, dtype=np.float32)
    y = np.asarray(simcc_y, dtype=np.float32)
    B, K = x.shape[:2]
    mx, my = x.max(axis=-1), y.max(axis=-1)
    scores = np.where(mx > my, my, mx).astype(np.float32)
    locs = np.stack([x.argmax(-1), y.argmax(-1)], axis=-1).astype(np.float32)
    locs[scores <= 0] = -1
    if blur_kernel_size is not None:
        bx, by = (blur_kernel_size, blur_kernel_size) if np.isscalar(blur_kernel_size) else blur_kernel_size
        locs[..., 0] = _simcc_dark(locs[..., 0].reshape(-1), x.reshape(B * K, -1), bx).reshape(B, K)
        locs[..., 1] = _simcc_dark(locs[..., 1].reshape(-1), y.reshape(B * K, -1), by).reshape(B, K)
    return locs, scores
