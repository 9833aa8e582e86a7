"""NumPy reference of the associative-embedding decoding (ALGORITHMS.md (e)), written from the spec.

Same arguments and outputs as ``pyposefast.ops.ae_decode`` on NumPy arrays, one Python loop step per
keypoint type, candidate and instance, the way MMPose 1.3.2's ``AssociativeEmbedding.batch_decode``
computes it: NMS by a max filter, top-k, grouping with a Hungarian assignment per keypoint type
(float64 cost rows, groups keyed by their first tag component), refinement, centre shift, filling of
missing keypoints on the whole map. Ties are broken by the op's rules (larger value then lower
index for candidates; the munkres-style shortest-augmenting-path tie rule for assignments), which
``solver='scipy'`` swaps for ``scipy.optimize.linear_sum_assignment`` (any optimal assignment).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from .decode import _dark_udp, _modulate, _quarter

__all__ = ["ae_decode", "hungarian"]


def hungarian(cost: np.ndarray) -> np.ndarray:
    """Minimum-cost assignment of the n rows of an n x m (n <= m) float64 matrix: column of each row.

    Row reduction, a greedy warm start (each row takes the first free column at its minimum), then a
    shortest augmenting path (Dijkstra with potentials) per unmatched row, lowest column on ties.
    """
    cost = np.asarray(cost, dtype=np.float64)
    n, m = cost.shape
    assert n <= m
    inf = float("inf")
    u = [0.0] * n
    v = [0.0] * (m + 1)
    p = [-1] * (m + 1)
    way = [0] * (m + 1)
    matched = [False] * n
    rows = cost.tolist()
    for i in range(n):
        low = min(rows[i])
        u[i] = low
        for j in range(m):
            if p[j] == -1 and rows[i][j] == low:
                p[j] = i
                matched[i] = True
                break
    for i in range(n):
        if matched[i]:
            continue
        p[m] = i
        j0 = m
        minv = [inf] * (m + 1)
        used = [False] * (m + 1)
        while True:
            used[j0] = True
            i0 = p[j0]
            for j in range(m):
                if not used[j]:
                    cur = rows[i0][j] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
            delta, j1 = inf, -1
            for j in range(m):
                if not used[j] and minv[j] < delta:
                    delta, j1 = minv[j], j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == -1:
                break
        while j0 != m:
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
    col = np.full(n, -1, dtype=np.int64)
    for j in range(m):
        if p[j] >= 0:
            col[p[j]] = j
    return col


def _solve(cost: np.ndarray, solver: str) -> np.ndarray:
    if solver == "scipy":
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(cost)
        col = np.full(cost.shape[0], -1, dtype=np.int64)
        col[rows] = cols
        return col
    return hungarian(cost)


def _nms(hm: np.ndarray, kernel: int) -> np.ndarray:
    """hm * (hm == max_pool2d(hm, kernel, stride 1, padding kernel // 2)) for [K, H, W]."""
    r = kernel // 2
    K, H, W = hm.shape
    padded = np.full((K, H + 2 * r, W + 2 * r), -np.inf, dtype=np.float32)
    padded[:, r : r + H, r : r + W] = hm
    pooled = np.full_like(hm, -np.inf)
    for dy in range(kernel):
        for dx in range(kernel):
            pooled = np.maximum(pooled, padded[:, dy : dy + H, dx : dx + W])
    return hm * (hm == pooled).astype(np.float32)


def _group(vals, locs, tags, order, val_thr, tag_thr, solver):
    """MMPose's _group_keypoints_by_tags (vals [K, T], locs [K, T, 2], tags [K, T, L]): list of groups
    in creation order, each [K, 3] float32 (x, y, val)."""
    K = vals.shape[0]
    groups: dict = {}  # key (float32 first tag component) -> [joints [K, 3], list of tags]
    for i, k in enumerate(order):
        mask = vals[k] > val_thr
        cand_tags = tags[k][mask]
        joints = np.concatenate((locs[k][mask].astype(np.float64), vals[k][mask, None].astype(np.float64)), 1)
        if joints.shape[0] == 0:
            continue

        def new_group(row):
            key = cand_tags[row][0]
            entry = groups.setdefault(key, [np.zeros((K, 3), dtype=np.float32), None])
            entry[0][k] = joints[row]
            entry[1] = [cand_tags[row]]

        if i == 0 or not groups:
            for row in range(joints.shape[0]):
                new_group(row)
            continue
        keys = list(groups.keys())
        means = np.array([np.mean(groups[key][1], axis=0) for key in keys])  # float32
        dist = np.linalg.norm(cand_tags.astype(np.float64)[:, None, :] - means[None], ord=2, axis=2)
        cost = np.round(dist) * 100 - joints[:, 2:3]
        M, G = dist.shape
        if M > G:
            cost = np.concatenate((cost, np.full((M, M - G), 1e10)), axis=1)
        col = _solve(cost, solver)
        for row in range(M):
            j = col[row]
            if j < G and dist[row, j] < tag_thr:
                entry = groups[keys[j]]
                entry[0][k] = joints[row]
                entry[1].append(cand_tags[row])
            else:
                new_group(row)
    return [entry[0] for entry in groups.values()]


def ae_decode(
    heatmaps: np.ndarray,
    tags: np.ndarray,
    keypoint_order: Optional[Sequence[int]] = None,
    *,
    nms_kernel: int = 5,
    topk: int = 30,
    keypoint_thr: float = 0.1,
    tag_thr: float = 1.0,
    max_instances: Optional[int] = None,
    refine: str = "quarter",
    blur_kernel_size: int = 3,
    center_shift: float = 0.0,
    solver: str = "ssp",
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Reference of ``ops.ae_decode``: heatmaps [B, K, H, W], tags [B, K * L, H, W] (NumPy).

    Returns padded (keypoints [B, N, K, 2], keypoint_scores [B, N, K], instance_scores [B, N],
    counts [B]) with N = min(max_instances, K * min(topk, H * W)), as the op does.
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    tags = np.asarray(tags, dtype=np.float32)
    B, K, H, W = heatmaps.shape
    L = tags.shape[1] // K
    order = list(range(K)) if not keypoint_order else list(keypoint_order)
    T = min(topk, H * W)
    N = K * T if max_instances is None else min(max_instances, K * T)
    out_kp = np.zeros((B, N, K, 2), dtype=np.float32)
    out_sc = np.zeros((B, N, K), dtype=np.float32)
    out_is = np.zeros((B, N), dtype=np.float32)
    counts = np.zeros(B, dtype=np.int64)
    for b in range(B):
        hm = heatmaps[b]
        tg = tags[b].reshape(L, K, H * W)
        peaks = _nms(hm, nms_kernel).reshape(K, H * W)
        idx = np.stack([np.argsort(-peaks[k], kind="stable")[:T] for k in range(K)])  # value desc, index asc
        vals = np.take_along_axis(peaks, idx, axis=1)
        locs = np.stack([idx % W, idx // W], axis=-1)
        cand_tags = np.stack([np.take_along_axis(tg[l], idx, axis=1) for l in range(L)], axis=-1)
        groups = _group(vals, locs, cand_tags, order, keypoint_thr, tag_thr, solver)[:N]
        n = len(groups)
        counts[b] = n
        if n == 0:
            continue
        grouped = np.stack(groups)  # [n, K, 3]
        kp = grouped[..., :2].copy()
        sc = grouped[..., 2].copy()
        out_is[b, :n] = sc.mean(axis=-1)
        if refine == "dark_udp":
            with np.errstate(all="ignore"):
                planes = np.log(np.clip(_modulate(hm, blur_kernel_size), np.float32(1e-3), np.float32(50)))
            for i in range(n):
                _dark_udp(kp[i], hm, blur_kernel_size)
        else:
            planes = hm
            for i in range(n):
                _quarter(kp[i], hm)
        kp += np.float32(center_shift) * (sc > 0).astype(np.float32)[..., None]
        ktags = tags[b].reshape(L, K, H, W)
        for i in range(n):
            det = [ktags[:, k, min(max(int(kp[i, k, 1]), 0), H - 1), min(max(int(kp[i, k, 0]), 0), W - 1)]
                   for k in range(K) if sc[i, k] > 0]
            with np.errstate(all="ignore"):
                itag = np.mean(det, axis=0).reshape(L, 1, 1) if det else np.full((L, 1, 1), np.nan, np.float32)
            for k in range(K):
                if sc[i, k] > 0:
                    continue
                with np.errstate(all="ignore"):
                    dist = np.linalg.norm(ktags[:, k] - itag, ord=2, axis=0)
                    cost = np.round(dist) * 100 - planes[k]
                y, x = np.unravel_index(np.argmin(cost), (H, W))
                kp[i, k] = (x, y)
                sc[i, k] = planes[k, y, x]
        out_kp[b, :n] = kp
        out_sc[b, :n] = sc
    return out_kp, out_sc, out_is, counts
