"""Evaluation: COCO keypoint AP/AR (pycocotools, any keypoint set, OKS-NMS and rescoring), PCK/PCKh,
AUC, EPE, NME and MPJPE, with MMPose 1.x's names, arguments and numbers.

``pyposefast.evaluation.functional`` holds the metric functions and the NMS functions;
``pyposefast.evaluation.results`` the COCO results writer. Dataset facts (OKS sigmas, keypoint
counts) come in through ``dataset_meta``, as MMEngine's runner sets it on MMPose's metrics.
"""

from . import functional
from .metrics import (AUC, EPE, MPJPE, NME, BaseMetric, CocoMetric, CocoWholeBodyMetric, JhmdbPCKAccuracy,
                      InterHandMetric, MpiiPCKAccuracy, PCKAccuracy, evaluate_interhand)

__all__ = ["AUC", "BaseMetric", "CocoMetric", "CocoWholeBodyMetric", "EPE", "JhmdbPCKAccuracy", "MPJPE",
           "MpiiPCKAccuracy", "NME", "PCKAccuracy", "InterHandMetric", "evaluate_interhand", "functional"]
