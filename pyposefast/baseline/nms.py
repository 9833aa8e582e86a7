"""NumPy reference of the OKS-NMS ops (ALGORITHMS.md (g)), one image and one candidate at a time.

Same arguments, layouts and semantics as ``pyposefast.ops.nms`` (see its module docstring), on NumPy
arrays: MMPose's ``oks_iou`` / ``oks_nms`` / ``soft_oks_nms`` loops with a defined order for equal
scores (lower index first; NaN scores first).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

SPACING1 = float(np.spacing(1))


def pair_oks(kp_a, kp_b, area_a, area_b, sigmas, vis_a=None, vis_b=None, vis_thr=None) -> np.float32:
    """OKS of two instances: kp_* [K, 2] float32, sigmas [K] float64."""
    dx = (kp_b[:, 0] - kp_a[:, 0]).astype(np.float32)
    dy = (kp_b[:, 1] - kp_a[:, 1]).astype(np.float32)
    d2 = dx * dx + dy * dy  # float32
    scale = (float(area_a) + float(area_b)) / 2.0 + SPACING1
    total, count = 0.0, 0
    for k in range(len(sigmas)):
        if vis_thr is not None and not (vis_a[k] > np.float32(vis_thr) and vis_b[k] > np.float32(vis_thr)):
            continue
        two_sigma = float(sigmas[k]) * 2.0
        e = float(d2[k]) / (two_sigma * two_sigma) / scale / 2.0
        total += math.exp(-e)
        count += 1
    return np.float32(total / count) if count else np.float32(0.0)


def _order(scores: np.ndarray) -> list[int]:
    def key(i):
        s = scores[i]
        return (0, 0.0, i) if math.isnan(s) else (1, -s, i)

    return sorted(range(len(scores)), key=key)


def _ranks_before(s_i, i, s_j, j) -> bool:
    if math.isnan(s_i) != math.isnan(s_j):
        return math.isnan(s_i)
    if not math.isnan(s_i) and s_i != s_j:
        return s_i > s_j
    return i < j


def _layout(keypoints, scores, areas, counts, visibility):
    kp = np.asarray(keypoints, dtype=np.float32)
    batched = kp.ndim == 4
    if not batched:
        kp = kp[None]
    B, N = kp.shape[:2]
    s = np.asarray(scores, dtype=np.float64).reshape(B, N)
    a = np.asarray(areas, dtype=np.float64).reshape(B, N)
    c = np.full(B, N, np.int64) if counts is None else np.clip(np.asarray(counts, np.int64), 0, N)
    v = None if visibility is None else np.asarray(visibility, np.float32).reshape(kp.shape[:3])
    return kp, s, a, c, v, batched


def oks_nms(keypoints, scores, areas, sigmas, thr, *, counts=None, visibility=None,
            vis_thr: Optional[float] = None) -> np.ndarray:
    """keep [B, N] (or [N]) int64: kept indices in score order, then -1."""
    kp, s, a, c, v, batched = _layout(keypoints, scores, areas, counts, visibility)
    sigmas = np.asarray(sigmas, np.float64)
    B, N = s.shape
    keep = np.full((B, N), -1, np.int64)
    for b in range(B):
        n = int(c[b])
        order = _order(s[b, :n])
        removed = [False] * n
        kept = 0
        for p, i in enumerate(order):
            if removed[i]:
                continue
            keep[b, kept] = i
            kept += 1
            for j in order[p + 1:]:
                if removed[j]:
                    continue
                o = pair_oks(kp[b, i], kp[b, j], a[b, i], a[b, j], sigmas,
                             None if v is None else v[b, i], None if v is None else v[b, j], vis_thr)
                if o > np.float32(thr):
                    removed[j] = True
    return keep if batched else keep[0]


def soft_oks_nms(keypoints, scores, areas, sigmas, thr, max_dets=20, *, method="gaussian", counts=None,
                 visibility=None, vis_thr: Optional[float] = None):
    """(keep [B, M] int64, kept_scores [B, M] float64), M = min(N, max_dets)."""
    kp, s_all, a, c, v, batched = _layout(keypoints, scores, areas, counts, visibility)
    sigmas = np.asarray(sigmas, np.float64)
    B, N = s_all.shape
    M = min(N, max_dets)
    keep = np.full((B, M), -1, np.int64)
    kept_scores = np.zeros((B, M), np.float64)
    for b in range(B):
        n = int(c[b])
        s = [float(x) for x in s_all[b, :n]]
        alive = [True] * n
        for t in range(min(n, M)):
            best = -1
            for j in range(n):
                if alive[j] and (best < 0 or _ranks_before(s[j], j, s[best], best)):
                    best = j
            keep[b, t], kept_scores[b, t] = best, s[best]
            alive[best] = False
            for j in range(n):
                if not alive[j]:
                    continue
                o = pair_oks(kp[b, best], kp[b, j], a[b, best], a[b, j], sigmas,
                             None if v is None else v[b, best], None if v is None else v[b, j], vis_thr)
                if method == "linear":
                    if o >= np.float32(thr):
                        s[j] = s[j] * float(np.float32(1.0) - o)
                else:
                    s[j] = s[j] * math.exp(-float(o * o) / thr)
    return (keep, kept_scores) if batched else (keep[0], kept_scores[0])
