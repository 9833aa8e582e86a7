"""MPJPE metric (3D pose lifting): ``mode`` 'mpjpe' | 'p-mpjpe' | 'n-mpjpe', overall and per action.

MMPose 1.x ``mmpose.evaluation.metrics.keypoint_3d_metrics.MPJPE``. Each data sample holds
``pred_instances['keypoints']`` [T, K, C] (or [1, T, K, C]), ``gt_instances['lifting_target']``
[T, K, C], ``gt_instances['lifting_target_visible']`` [T, K] (or [T, K, 1]) and
``target_img_path`` (a list; the action is parsed from the first file name ``S<subj>_<action>.<...>``
as on Human3.6M). Results ``MPJPE`` / ``P-MPJPE`` / ``N-MPJPE`` and ``<NAME>_<action>``.
"""

from __future__ import annotations

import os.path as osp
from collections import defaultdict
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..functional import keypoint_mpjpe
from .base import BaseMetric, array, field

__all__ = ["MPJPE"]


class MPJPE(BaseMetric):
    """Mean per-joint position error after no / Procrustes / scale alignment.

    Args:
        mode (str): 'mpjpe' (default), 'p-mpjpe' or 'n-mpjpe'.
        skip_list (list[str]): ``<subject>_<action>`` names (file stems) to leave out.
    """

    ALIGNMENT = {"mpjpe": "none", "p-mpjpe": "procrustes", "n-mpjpe": "scale"}

    def __init__(self, mode: str = "mpjpe", collect_device: str = "cpu", prefix: Optional[str] = None,
                 skip_list: Optional[List[str]] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if mode not in self.ALIGNMENT:
            raise KeyError(f"`mode` should be 'mpjpe', 'p-mpjpe', or 'n-mpjpe', but got '{mode}'.")
        self.mode = mode
        self.skip_list = list(skip_list or [])

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            pred = array(field(sample, "pred_instances"), "keypoints", "pred_instances")
            if pred.ndim == 4:
                pred = np.squeeze(pred, axis=0)
            gt_inst = field(sample, "gt_instances")
            gt = array(gt_inst, "lifting_target", "gt_instances")
            if pred.shape != gt.shape:
                raise ValueError(f"pred_instances['keypoints'] {pred.shape} and gt_instances['lifting_target'] "
                                 f"{gt.shape} must have one shape [T, K, C]")
            mask = array(gt_inst, "lifting_target_visible", "gt_instances").astype(bool).reshape(gt.shape[0], -1)
            img_path = field(sample, "target_img_path")[0]
            stem = osp.basename(img_path)
            try:
                _, rest = stem.split("_", 1)
                action, _ = rest.split(".", 1)
            except ValueError:
                raise ValueError(f"target_img_path {img_path!r} is not named <subject>_<action>.<ext>") from None
            if stem.split(".")[0] in self.skip_list:
                continue
            self.results.append({"pred_coords": pred, "gt_coords": gt, "mask": mask,
                                 "actions": np.array([action] * gt.shape[0])})

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred = np.concatenate([r["pred_coords"] for r in results])
        gt = np.concatenate([r["gt_coords"] for r in results])
        mask = np.concatenate([r["mask"] for r in results])
        by_action = defaultdict(list)
        for idx, action in enumerate(np.concatenate([r["actions"] for r in results])):
            by_action[action.split("_")[0]].append(idx)
        name = self.mode.upper()
        alignment = self.ALIGNMENT[self.mode]
        metrics = {name: keypoint_mpjpe(pred, gt, mask, alignment)}
        for action, idx in by_action.items():
            metrics[f"{name}_{action}"] = keypoint_mpjpe(pred[idx], gt[idx], mask[idx], alignment)
        return metrics
