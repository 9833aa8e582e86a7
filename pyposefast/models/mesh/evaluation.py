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

__all__ = ["mesh_mpjpe", "mesh_pve", "mesh_joint_error", "LSP14_FROM_MESH24"]

#: the 14 LSP joints MMPose 0.x scores among its 24 mesh joints (``MeshH36MDataset._report_metric``).
LSP14_FROM_MESH24 = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 18)

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


def mesh_joint_error(pred_joints_3d, gt_joints_3d, gt_joints_visible) -> dict:
    """MMPose 0.x's mesh ``joint_error`` (``MeshH36MDataset``): MPJPE and MPJPE-PA in millimetres on the 14
    LSP joints of the 24 mesh joints, both sets centred on their pelvis (mean of joints 2 and 3, the hips),
    over the visible ground-truth joints.

    Args:
        pred_joints_3d (ndarray[N, 24, 3]): predicted joints in metres (e.g. ``predict``'s ``keypoints_3d``
            with the CMR joints regressor).
        gt_joints_3d (ndarray[N, 24, 3]): ground truth in metres.
        gt_joints_visible (ndarray[N, 24, 1] | ndarray[N, 24]): > 0 where a joint counts.

    Returns:
        dict: ``{"MPJPE": float, "MPJPE-PA": float}`` in millimetres.
    """
    pred = to_numpy("pred_joints_3d", pred_joints_3d).astype(np.float64)
    gt = to_numpy("gt_joints_3d", gt_joints_3d).astype(np.float64)
    visible = to_numpy("gt_joints_visible", gt_joints_visible)
    if pred.ndim != 3 or pred.shape[1] < 19 or pred.shape != gt.shape:
        raise ValueError(f"pred_joints_3d and gt_joints_3d must both be [N, 24, 3], got {pred.shape} and {gt.shape}")
    idx = list(LSP14_FROM_MESH24)
    pred = _centred(pred[:, idx], [2, 3])
    gt = _centred(gt[:, idx], [2, 3])
    mask = (visible.reshape(len(visible), -1)[:, idx] > 0)
    return {"MPJPE": float(keypoint_mpjpe(pred, gt, mask)) * 1000.0,
            "MPJPE-PA": float(keypoint_mpjpe(pred, gt, mask, alignment="procrustes")) * 1000.0}
