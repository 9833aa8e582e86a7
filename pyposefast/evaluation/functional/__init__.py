"""Metric functions with MMPose 1.x's names, signatures and return values.

Inputs may be NumPy arrays or torch tensors; see each module for shapes.
"""

from .keypoint_eval import (get_heatmap_maximum, keypoint_auc, keypoint_epe, keypoint_mpjpe, keypoint_nme,
                            keypoint_pck_accuracy, pose_pck_accuracy)
from .mesh_eval import batch_similarity_transform, compute_similarity_transform
from .nms import COCO_SIGMAS, nms, oks_iou, oks_nms, soft_oks_nms

__all__ = [
    "COCO_SIGMAS", "batch_similarity_transform", "compute_similarity_transform", "get_heatmap_maximum",
    "keypoint_auc", "keypoint_epe", "keypoint_mpjpe", "keypoint_nme", "keypoint_pck_accuracy", "nms", "oks_iou",
    "oks_nms", "pose_pck_accuracy", "soft_oks_nms",
]
