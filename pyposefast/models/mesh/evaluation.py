"""Mesh-recovery metrics: MPJPE / PA-MPJPE on regressed joints (through the shared
``keypoint_mpjpe``) and the per-vertex error (PVE, also called MPVPE; PA-PVE after Procrustes).

Symbols: N samples, K joints, V vertices. Inputs are NumPy arrays or torch tensors; results are in the
inputs' units (multiply metres by 1000 for the usual millimetres).
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from ...evaluation.functional._arrays import to_numpy
from ...evaluation.functional.keypoint_eval import keypoint_mpjpe
from ...evaluation.functional.mesh_eval import batch_similarity_transform

__all__ = ["mesh_mpjpe", "mesh_pve"]

_ALIGNMENTS = ("none", "procrustes")


def _centred(points: np.ndarray, root: Optional[Union[int, Sequence[int]]]) -> np.ndarray:
    if root is None:
        return points
    idx = [root] if isinstance(root, int) else list(root)
    return points - points[:, idx].mean(axis=1, keepdims=True)


def mesh_mpjpe(pred_joints, gt_joints, mask=None, alignment: str = "none",
               root_index: Optional[Union[int, Sequence[int]]] = None) -> float:
    """Mean per-joint position error of regressed joints (MMPose 0.x mesh ``MPJPE`` / ``MPJPE-PA``).

    Args:
        pred_joints (ndarray[N, K, 3]), gt_joints (ndarray[N, K, 3]): joints.
        mask (ndarray[N, K] bool, optional): joints that count (default: all).
        alignment (str): ``'none'`` (MPJPE) or ``'procrustes'`` (PA-MPJPE: similarity transform per sample).
        root_index (int | Sequence[int], optional): joint(s) whose mean is subtracted from both sets first
            (e.g. the pelvis; MMPose's H36M protocol), ``None`` for none.

    Returns:
        float: the mean Euclidean error.
    """
    if alignment not in _ALIGNMENTS:
        raise ValueError(f"alignment must be one of {_ALIGNMENTS}, got {alignment!r}")
    pred = _centred(to_numpy("pred_joints", pred_joints).astype(np.float64), root_index)
    gt = _centred(to_numpy("gt_joints", gt_joints).astype(np.float64), root_index)
    if mask is None:
        mask = np.ones(pred.shape[:2], dtype=bool)
    return float(keypoint_mpjpe(pred, gt, to_numpy("mask", mask).astype(bool), alignment=alignment))


def mesh_pve(pred_vertices, gt_vertices, alignment: str = "none") -> float:
    """Per-vertex error: mean Euclidean distance between corresponding vertices.

    Args:
        pred_vertices (ndarray[N, V, 3]), gt_vertices (ndarray[N, V, 3]): meshes of the same topology.
        alignment (str): ``'none'`` (PVE) or ``'procrustes'`` (PA-PVE: similarity transform per sample).

    Returns:
        float: the mean Euclidean error.
    """
    if alignment not in _ALIGNMENTS:
        raise ValueError(f"alignment must be one of {_ALIGNMENTS}, got {alignment!r}")
    pred = to_numpy("pred_vertices", pred_vertices).astype(np.float64)
    gt = to_numpy("gt_vertices", gt_vertices).astype(np.float64)
    if pred.shape != gt.shape or pred.ndim != 3 or pred.shape[-1] != 3:
        raise ValueError(f"pred_vertices and gt_vertices must both be [N, V, 3], got {pred.shape} and {gt.shape}")
    if pred.shape[0] == 0 or pred.shape[1] == 0:
        raise ValueError("PVE of no vertices is undefined")
    if alignment == "procrustes":
        pred = batch_similarity_transform(pred, gt)
    return float(np.linalg.norm(pred - gt, axis=-1).mean())
