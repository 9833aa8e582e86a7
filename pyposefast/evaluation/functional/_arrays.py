"""Input normalisation shared by the metric functions: tensors or arrays in, NumPy out."""

from __future__ import annotations

from typing import Any

import numpy as np


def to_numpy(name: str, value: Any, dtype=None) -> np.ndarray:
    """A NumPy array from a tensor (any device; detached), an array or a nested sequence."""
    try:
        import torch

        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    if value is None:
        raise ValueError(f"{name} is required, got None")
    arr = np.asarray(value)
    if arr.dtype == object:
        raise TypeError(f"{name} must be numeric, got an object array")
    return arr if dtype is None else arr.astype(dtype, copy=False)


def check_pred_gt_mask(pred: np.ndarray, gt: np.ndarray, mask: np.ndarray, dims: str = "D") -> None:
    """pred / gt [N, K, D] of one shape and mask [N, K]: raise ValueError naming what differs."""
    if pred.ndim != 3:
        raise ValueError(f"pred must be [N, K, {dims}], got shape {pred.shape}")
    if gt.shape != pred.shape:
        raise ValueError(f"gt must have the shape of pred {pred.shape}, got {gt.shape}")
    if mask.shape != pred.shape[:2]:
        raise ValueError(f"mask must be [N, K] = {pred.shape[:2]}, got {mask.shape}")
