"""Metrics with MMPose 1.x's names, arguments and result keys: ``process`` batches of data
samples, then ``evaluate()`` (or ``compute_metrics(results)``)."""

from .base import BaseMetric
from .coco_metric import CocoMetric
from .coco_wholebody_metric import CocoWholeBodyMetric
from .keypoint_2d_metrics import AUC, EPE, NME, JhmdbPCKAccuracy, MpiiPCKAccuracy, PCKAccuracy
from .keypoint_3d_metrics import MPJPE
from .hand_metric import InterHandMetric, evaluate_interhand, interhand_data_samples

__all__ = ["AUC", "BaseMetric", "CocoMetric", "CocoWholeBodyMetric", "EPE", "JhmdbPCKAccuracy", "MPJPE",
           "MpiiPCKAccuracy", "NME", "PCKAccuracy", "InterHandMetric", "evaluate_interhand", "interhand_data_samples"]
