"""Keypoint accuracy functions: PCK, AUC, EPE, NME, MPJPE, and PCK from heatmaps.

MMPose 1.x names, signatures and return values (``mmpose.evaluation.functional.keypoint_eval``),
ALGORITHMS.md (g). Inputs may be NumPy arrays or torch tensors (any device); results are NumPy
values. Symbols: N instances, K keypoints, D coordinate dims (2 or 3), heatmaps [H, W].

The arithmetic (dtypes included) is the one MMPose does, so the numbers agree to the last bit in
practice; unlike MMPose the functions never modify their arguments in place.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from ._arrays import check_pred_gt_mask, to_numpy
from .mesh_eval import batch_similarity_transform

__all__ = [
    "keypoint_pck_accuracy", "keypoint_auc", "keypoint_nme", "keypoint_epe", "pose_pck_accuracy",
    "keypoint_mpjpe", "get_heatmap_maximum",
]

MPJPE_ALIGNMENTS = ("none", "procrustes", "scale")


def _calc_distances(preds: np.ndarray, gts: np.ndarray, mask: np.ndarray, norm_factor: np.ndarray) -> np.ndarray:
    """Normalised distances [K, N] (float32); -1 where masked out or the norm has a zero entry."""
    N, K, _ = preds.shape
    mask = mask.astype(bool, copy=True)
    mask[np.where((norm_factor == 0).sum(1))[0], :] = False
    norm_factor = norm_factor.copy()
    norm_factor[np.where(norm_factor <= 0)] = 1e6
    distances = np.full((N, K), -1, dtype=np.float32)
    distances[mask] = np.linalg.norm(((preds - gts) / norm_factor[:, None, :])[mask], axis=-1)
    return distances.T


def _distance_acc_rows(distances: np.ndarray, thr) -> np.ndarray:
    """Per row of distances [K, N]: fraction of valid (!= -1) entries below thr, or -1 if none."""
    valid = distances != -1
    n_valid = valid.sum(1)
    below = (np.where(valid, distances, np.inf) < thr).sum(1)
    acc = np.full(distances.shape[0], -1.0)
    ok = n_valid > 0
    acc[ok] = below[ok] / n_valid[ok]
    return acc


def _pck_from_distances(distances: np.ndarray, thr) -> tuple:
    acc = _distance_acc_rows(distances, thr)
    valid_acc = acc[acc >= 0]
    cnt = len(valid_acc)
    avg_acc = valid_acc.mean() if cnt > 0 else 0.0
    return acc, avg_acc, cnt


def _inputs(pred, gt, mask, dims="D"):
    pred, gt = to_numpy("pred", pred), to_numpy("gt", gt)
    mask = to_numpy("mask", mask).astype(bool)
    check_pred_gt_mask(pred, gt, mask, dims)
    return pred, gt, mask


def _norm(name: str, value, N: int, D: int) -> np.ndarray:
    norm = to_numpy(name, value)
    if norm.shape != (N, D):
        raise ValueError(f"{name} must be [N, {D}] = ({N}, {D}), got {norm.shape}")
    return norm


def keypoint_pck_accuracy(pred, gt, mask, thr, norm_factor) -> tuple:
    """PCK per keypoint and averaged over keypoints.

    Args:
        pred (ndarray[N, K, 2]): predicted (x, y).
        gt (ndarray[N, K, 2]): ground-truth (x, y).
        mask (ndarray[N, K]): True where the keypoint counts.
        thr (float): threshold on the normalised distance.
        norm_factor (ndarray[N, 2]): per-instance normaliser of x and y (<= 0 entries count as 1e6,
            a 0 entry masks the instance out).

    Returns:
        (acc ndarray[K] (-1 where no valid sample), avg_acc float (mean over keypoints with
        valid samples, 0.0 if none), cnt int (number of such keypoints)).
    """
    pred, gt, mask = _inputs(pred, gt, mask)
    norm = _norm("norm_factor", norm_factor, pred.shape[0], pred.shape[2])
    return _pck_from_distances(_calc_distances(pred, gt, mask, norm), thr)


def keypoint_auc(pred, gt, mask, norm_factor: float, num_thrs: int = 20) -> float:
    """Area under the PCK curve for thresholds ``i / num_thrs``, i = 0 .. num_thrs - 1, with the
    constant ``norm_factor`` (pixels) on both axes.

    Args: pred, gt (ndarray[N, K, 2]), mask (ndarray[N, K]), norm_factor (float), num_thrs (int).
    """
    pred, gt, mask = _inputs(pred, gt, mask)
    if isinstance(num_thrs, bool) or not isinstance(num_thrs, (int, np.integer)) or num_thrs <= 0:
        raise ValueError(f"num_thrs must be a positive int, got {num_thrs!r}")
    nor = np.tile(np.array([[norm_factor, norm_factor]]), (pred.shape[0], 1))
    distances = _calc_distances(pred, gt, mask, nor)
    auc = 0
    for i in range(num_thrs):
        _, avg_acc, _ = _pck_from_distances(distances, 1.0 * i / num_thrs)
        auc += 1.0 / num_thrs * avg_acc
    return auc


def keypoint_nme(pred, gt, mask, normalize_factor) -> float:
    """Normalised mean error over the valid keypoints.

    Args: pred, gt (ndarray[N, K, 2]), mask (ndarray[N, K]), normalize_factor (ndarray[N, 2]).
    """
    pred, gt, mask = _inputs(pred, gt, mask)
    norm = _norm("normalize_factor", normalize_factor, pred.shape[0], pred.shape[2])
    distances = _calc_distances(pred, gt, mask, norm)
    distance_valid = distances[distances != -1]
    return distance_valid.sum() / max(1, len(distance_valid))


def keypoint_epe(pred, gt, mask) -> float:
    """End-point error: mean Euclidean distance (pixels) over the valid keypoints.

    Args: pred, gt (ndarray[N, K, D]), mask (ndarray[N, K]).
    """
    pred, gt, mask = _inputs(pred, gt, mask)
    distances = _calc_distances(pred, gt, mask, np.ones((pred.shape[0], pred.shape[2]), dtype=np.float32))
    distance_valid = distances[distances != -1]
    return distance_valid.sum() / max(1, len(distance_valid))


def get_heatmap_maximum(heatmaps) -> tuple[np.ndarray, np.ndarray]:
    """Argmax location (x, y) and value of heatmaps [K, H, W] or [B, K, H, W]; (-1, -1) where the
    maximum is <= 0 (MMPose ``codecs.utils.get_heatmap_maximum``)."""
    heatmaps = to_numpy("heatmaps", heatmaps)
    if heatmaps.ndim not in (3, 4):
        raise ValueError(f"heatmaps must be [K, H, W] or [B, K, H, W], got shape {heatmaps.shape}")
    H, W = heatmaps.shape[-2:]
    flat = heatmaps.reshape(-1, H * W)
    y_locs, x_locs = np.unravel_index(np.argmax(flat, axis=1), shape=(H, W))
    locs = np.stack((x_locs, y_locs), axis=-1).astype(np.float32)
    vals = np.amax(flat, axis=1)
    locs[vals <= 0.0] = -1
    return locs.reshape(heatmaps.shape[:-2] + (2,)), vals.reshape(heatmaps.shape[:-2])


def pose_pck_accuracy(output, target, mask, thr: float = 0.05, normalize: Optional[np.ndarray] = None) -> tuple:
    """PCK between the argmax locations of predicted and target heatmaps.

    Args:
        output (ndarray[N, K, H, W]): predicted heatmaps.
        target (ndarray[N, K, H, W]): target heatmaps.
        mask (ndarray[N, K]): True where the keypoint counts.
        thr (float): PCK threshold. Default 0.05.
        normalize (ndarray[N, 2], optional): normaliser; default ``[H, W]`` per instance (MMPose's
            order, as coded, although locations are (x, y)).

    Returns:
        (acc ndarray[K], avg_acc float, cnt int); ``(None, 0, 0)`` when K == 0.
    """
    output, target = to_numpy("output", output), to_numpy("target", target)
    if output.ndim != 4:
        raise ValueError(f"output must be [N, K, H, W], got shape {output.shape}")
    if target.shape != output.shape:
        raise ValueError(f"target must have the shape of output {output.shape}, got {target.shape}")
    N, K, H, W = output.shape
    if K == 0:
        return None, 0, 0
    if normalize is None:
        normalize = np.tile(np.array([[H, W]]), (N, 1))
    pred, _ = get_heatmap_maximum(output)
    gt, _ = get_heatmap_maximum(target)
    return keypoint_pck_accuracy(pred, gt, mask, thr, normalize)


def keypoint_mpjpe(pred, gt, mask, alignment: str = "none"):
    """Mean per-joint position error, optionally after aligning each prediction to its ground truth.

    Args:
        pred (ndarray[N, K, C]): predicted keypoints (C = 3 for 3D; procrustes needs C >= 2).
        gt (ndarray[N, K, C]): ground-truth keypoints.
        mask (ndarray[N, K]): True where the joint counts; at least one must be True.
        alignment (str): ``'none'``; ``'scale'`` (per sample ``s = <p, g> / <p, p>`` over all
            joints, N-MPJPE); ``'procrustes'`` (per sample similarity transform, P-MPJPE).

    Returns:
        float: the mean Euclidean error over the masked joints.

    Raises:
        ValueError: unknown alignment, mismatched shapes, or an all-False mask.
    """
    pred, gt, mask = _inputs(pred, gt, mask, "C")
    if alignment not in MPJPE_ALIGNMENTS:
        raise ValueError(f"Invalid value for alignment: {alignment!r}; expected one of {MPJPE_ALIGNMENTS}")
    if not mask.any():
        raise ValueError("mask selects no joint: MPJPE of nothing is undefined")
    if alignment == "procrustes":
        pred = batch_similarity_transform(pred, gt)
    elif alignment == "scale":
        pred_dot_pred = np.einsum("nkc,nkc->n", pred, pred)
        pred_dot_gt = np.einsum("nkc,nkc->n", pred, gt)
        scale_factor = pred_dot_gt / pred_dot_pred
        pred = pred * scale_factor[:, None, None]
    return np.linalg.norm(pred - gt, ord=2, axis=-1)[mask].mean()
