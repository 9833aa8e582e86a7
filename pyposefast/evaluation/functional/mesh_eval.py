"""Similarity (Procrustes) alignment of point sets, for P-MPJPE.

MMPose 1.x ``evaluation/functional/mesh_eval.py::compute_similarity_transform`` (ALGORITHMS.md (g)):
centre both sets; ``K = X1 X2^T``; ``K = U S V^T``; ``R = V diag(1, .., sign det(U V^T)) U^T``;
``s = tr(R K) / |X1|^2``; ``t = mu2 - s R mu1``; return ``s R X + t``.
"""

from __future__ import annotations

import numpy as np

from ._arrays import to_numpy

__all__ = ["compute_similarity_transform", "batch_similarity_transform"]


def batch_similarity_transform(source_points, target_points) -> np.ndarray:
    """Align every source set to its target set.

    Args:
        source_points (ndarray[N, K, C]): points to move.
        target_points (ndarray[N, K, C]): points to align to.

    Returns:
        ndarray[N, K, C]: the aligned source points (float64 unless the inputs are float32).
    """
    src = to_numpy("source_points", source_points)
    dst = to_numpy("target_points", target_points)
    if src.shape != dst.shape or src.ndim != 3:
        raise ValueError(f"source_points and target_points must both be [N, K, C], got {src.shape} and {dst.shape}")
    X = np.swapaxes(src, 1, 2)  # [N, C, K]
    Y = np.swapaxes(dst, 1, 2)
    mu1 = X.mean(axis=2, keepdims=True)
    mu2 = Y.mean(axis=2, keepdims=True)
    X1 = X - mu1
    X2 = Y - mu2
    var1 = np.sum(X1**2, axis=(1, 2))
    Kmat = X1 @ np.swapaxes(X2, 1, 2)  # [N, C, C]
    U, _, Vh = np.linalg.svd(Kmat)
    V = np.swapaxes(Vh, 1, 2)
    C = Kmat.shape[-1]
    Z = np.broadcast_to(np.eye(C), Kmat.shape).copy()
    Z[:, -1, -1] *= np.sign(np.linalg.det(U @ np.swapaxes(V, 1, 2)))
    R = V @ (Z @ np.swapaxes(U, 1, 2))
    scale = np.trace(R @ Kmat, axis1=1, axis2=2) / var1
    t = mu2 - scale[:, None, None] * (R @ mu1)
    out = scale[:, None, None] * (R @ X) + t
    return np.swapaxes(out, 1, 2)


def compute_similarity_transform(source_points, target_points) -> np.ndarray:
    """MMPose's single-sample form: source_points / target_points [K, 3] -> aligned [K, 3]."""
    src = to_numpy("source_points", source_points)
    dst = to_numpy("target_points", target_points)
    if src.ndim != 2 or src.shape != dst.shape or src.shape[1] != 3:
        raise ValueError(f"source_points and target_points must both be [K, 3], got {src.shape} and {dst.shape}")
    return batch_similarity_transform(src[None], dst[None])[0]
