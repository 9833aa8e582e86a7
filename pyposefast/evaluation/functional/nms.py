"""NMS functions with MMPose 1.x's names and signatures (``mmpose.evaluation.functional.nms``).

``oks_nms`` and ``soft_oks_nms`` take one image's candidates as MMPose does (a list of dicts with
``'keypoints'`` [K, 3] (x, y, score/visibility) or flat [K*3], ``'score'`` and ``'area'``) and run
the batched kernels of :mod:`pyposefast.ops.nms` on them; to suppress many images at once call
those ops directly. ``oks_iou`` and box ``nms`` are NumPy. Order of equal scores: lower index first
(MMPose's ``argsort()[::-1]`` leaves it to NumPy's unstable sort; see :mod:`pyposefast.ops.nms`).
"""

from __future__ import annotations

from typing import List, Optional, Sequence

import numpy as np
import torch

from ._arrays import to_numpy

__all__ = ["nms", "oks_iou", "oks_nms", "soft_oks_nms", "COCO_SIGMAS"]

#: The COCO-17 OKS sigmas, MMPose's fallback when ``sigmas`` is None.
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0


def nms(dets, thr: float) -> List[int]:
    """Greedy box NMS: keep boxes whose IoU (areas with +1 pixels) with every kept one is <= thr.

    Args:
        dets (ndarray[N, 5]): boxes [x1, y1, x2, y2, score].
        thr (float): IoU threshold.

    Returns:
        list[int]: kept indices, highest score first.
    """
    dets = to_numpy("dets", dets)
    if len(dets) == 0:
        return []
    if dets.ndim != 2 or dets.shape[1] < 5:
        raise ValueError(f"dets must be [N, 5] (x1, y1, x2, y2, score), got shape {dets.shape}")
    x1, y1, x2, y2, scores = (dets[:, i] for i in range(5))
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while len(order) > 0:
        i = order[0]
        keep.append(int(i))
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        inter = w * h
        ovr = inter / (areas[i] + areas[rest] - inter)
        order = rest[np.where(ovr <= thr)[0]]
    return keep


def oks_iou(g, d, a_g: float, a_d, sigmas: Optional[np.ndarray] = None, vis_thr: Optional[float] = None) -> np.ndarray:
    """OKS of one instance against others (MMPose's formula, see :mod:`pyposefast.ops.nms`).

    Args:
        g (ndarray[K*3]): the instance, (x, y, v) triplets.
        d (ndarray[N, K*3]): the other instances.
        a_g (float): area of g.
        a_d (ndarray[N]): areas of d.
        sigmas (ndarray[K], optional): OKS sigmas; default COCO-17.
        vis_thr (float, optional): only keypoints with v above it in both instances count.

    Returns:
        ndarray[N] float32.
    """
    g = to_numpy("g", g).reshape(-1)
    d = to_numpy("d", d)
    d = d.reshape(len(d), -1)
    sigmas = COCO_SIGMAS if sigmas is None else to_numpy("sigmas", sigmas)
    K = len(sigmas)
    if g.shape != (3 * K,) or d.shape[1] != 3 * K:
        raise ValueError(f"g must be [K*3] and d [N, K*3] with K = len(sigmas) = {K}, got {g.shape} and {d.shape}")
    a_d = to_numpy("a_d", a_d).reshape(-1)
    if len(a_d) != len(d):
        raise ValueError(f"a_d must have one area per instance of d ({len(d)}), got {len(a_d)}")
    variances = (sigmas * 2) ** 2
    dx = d[:, 0::3] - g[0::3]
    dy = d[:, 1::3] - g[1::3]
    e = (dx**2 + dy**2) / variances / ((a_g + a_d[:, None]) / 2 + np.spacing(1)) / 2
    ious = np.zeros(len(d), dtype=np.float32)
    if vis_thr is None:
        if K:
            ious[:] = np.sum(np.exp(-e), axis=1) / K
        return ious
    ind = (g[2::3] > vis_thr) & (d[:, 2::3] > vis_thr)
    cnt = ind.sum(1)
    total = np.where(ind, np.exp(-e), 0.0).sum(1)
    ious[cnt > 0] = total[cnt > 0] / cnt[cnt > 0]
    return ious


def _pack(kpts_db: Sequence[dict], score_per_joint: bool):
    """keypoints [1, N, K, 2], visibility [1, N, K], scores [1, N], areas [1, N] from kpts_db."""
    try:
        kpts = np.stack([np.asarray(to_numpy("keypoints", k["keypoints"]), np.float64) for k in kpts_db])
        if score_per_joint:
            scores = np.array([to_numpy("score", k["score"]).mean() for k in kpts_db], np.float64)
        else:
            scores = np.array([float(to_numpy("score", k["score"])) for k in kpts_db], np.float64)
        areas = np.array([float(to_numpy("area", k["area"])) for k in kpts_db], np.float64)
    except KeyError as e:
        raise ValueError(f"every entry of kpts_db needs 'keypoints', 'score' and 'area'; missing {e}") from None
    N = len(kpts_db)
    if kpts.ndim == 2:  # flat (x, y, v) triplets, as MMPose stores them
        if kpts.shape[1] % 3:
            raise ValueError(f"flat keypoints must hold (x, y, v) triplets, got length {kpts.shape[1]}")
        kpts = kpts.reshape(N, -1, 3)
    if kpts.ndim != 3 or kpts.shape[2] not in (2, 3):
        raise ValueError(f"keypoints must be [K, 3], [K*3] or [K, 2] per instance, got {kpts.shape[1:]}")
    vis = kpts[..., 2] if kpts.shape[2] == 3 else np.ones(kpts.shape[:2])
    to_t = torch.from_numpy
    return (to_t(kpts[None, ..., :2].astype(np.float32)), to_t(vis[None].astype(np.float32)), to_t(scores[None]),
            to_t(areas[None]))


def _sigmas(sigmas, K: int) -> np.ndarray:
    sigmas = COCO_SIGMAS if sigmas is None else np.asarray(to_numpy("sigmas", sigmas), np.float64).reshape(-1)
    if len(sigmas) != K:
        raise ValueError(f"sigmas must have one value per keypoint ({K}), got {len(sigmas)}")
    return sigmas


def oks_nms(kpts_db: List[dict], thr: float, sigmas: Optional[np.ndarray] = None, vis_thr: Optional[float] = None,
            score_per_joint: bool = False):
    """Greedy OKS-NMS of one image's candidates.

    Args:
        kpts_db (list[dict]): candidates with 'keypoints' ([K, 3] or [K*3] (x, y, v); [K, 2] also
            accepted), 'score' (float, or [K] with ``score_per_joint``) and 'area'.
        thr (float): candidates with OKS > thr against a kept one are dropped.
        sigmas (ndarray[K], optional): OKS sigmas; default COCO-17.
        vis_thr (float, optional): only keypoints with v above it in both instances count.
        score_per_joint (bool): 'score' is per keypoint; its mean is used.

    Returns:
        ndarray of kept indices, best first (``[]`` for no candidates).
    """
    if len(kpts_db) == 0:
        return []
    kp, vis, scores, areas = _pack(kpts_db, score_per_joint)
    from ...ops import nms as nms_ops

    keep = nms_ops.oks_nms(kp, scores, areas, _sigmas(sigmas, kp.shape[2]), thr,
                           visibility=vis if vis_thr is not None else None, vis_thr=vis_thr)[0]
    return keep[keep >= 0].numpy()


def soft_oks_nms(kpts_db: List[dict], thr: float, max_dets: int = 20, sigmas: Optional[np.ndarray] = None,
                 vis_thr: Optional[float] = None, score_per_joint: bool = False):
    """Soft OKS-NMS (Gaussian rescoring ``s * exp(-oks^2 / thr)``) of one image's candidates.

    Args: as :func:`oks_nms`, plus ``max_dets`` (int): keep at most this many.

    Returns:
        ndarray of kept indices in the order they were picked (``[]`` for no candidates).
    """
    if len(kpts_db) == 0:
        return []
    kp, vis, scores, areas = _pack(kpts_db, score_per_joint)
    from ...ops import nms as nms_ops

    keep, _ = nms_ops.soft_oks_nms(kp, scores, areas, _sigmas(sigmas, kp.shape[2]), thr, max_dets,
                                   visibility=vis if vis_thr is not None else None, vis_thr=vis_thr)
    keep = keep[0]
    return keep[keep >= 0].numpy().astype(np.intp)
