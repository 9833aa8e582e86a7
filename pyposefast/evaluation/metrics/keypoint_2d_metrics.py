"""2D keypoint accuracy metrics: PCKAccuracy, MpiiPCKAccuracy, JhmdbPCKAccuracy, AUC, EPE, NME.

MMPose 1.x names, arguments and result keys (``mmpose.evaluation.metrics.keypoint_2d_metrics``).
Each data sample holds ``pred_instances['keypoints']`` [N, K, 2] and ``gt_instances['keypoints']``
[N, K, 2], ``gt_instances['keypoints_visible']`` [N, K] (or [N, K, 1]), plus the normaliser the
metric uses (``gt_instances['bboxes']`` [N, 4] xyxy, ``gt_instances['head_size']``, ...). Top-down
samples have N = 1, as in MMPose; with N > 1 each instance uses its own box.
"""

from __future__ import annotations

import warnings
from typing import Dict, Optional, Sequence, Union

import numpy as np

from ..functional import keypoint_auc, keypoint_epe, keypoint_nme, keypoint_pck_accuracy
from .base import BaseMetric, array, field

__all__ = ["PCKAccuracy", "MpiiPCKAccuracy", "JhmdbPCKAccuracy", "AUC", "EPE", "NME"]


def _coords(sample: dict) -> dict:
    pred = array(field(sample, "pred_instances"), "keypoints", "pred_instances")
    gt_inst = field(sample, "gt_instances")
    gt = array(gt_inst, "keypoints", "gt_instances")
    if pred.shape != gt.shape or pred.ndim != 3:
        raise ValueError(f"pred_instances['keypoints'] {pred.shape} and gt_instances['keypoints'] {gt.shape} must "
                         "both be [N, K, D]")
    mask = array(gt_inst, "keypoints_visible", "gt_instances").astype(bool)
    if mask.ndim == 3:
        mask = mask[:, :, 0]
    if mask.size != gt.shape[0] * gt.shape[1]:
        raise ValueError(f"gt_instances['keypoints_visible'] must be [N, K] = {gt.shape[:2]}, got {mask.shape}")
    return {"pred_coords": pred, "gt_coords": gt, "mask": mask.reshape(gt.shape[0], -1)}


def _pair(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values).reshape(-1, 1)
    return np.concatenate([values, values], axis=1)


def _cat(results: list, key: str) -> np.ndarray:
    return np.concatenate([r[key] for r in results])


class PCKAccuracy(BaseMetric):
    """PCK normalised by the box (``'bbox'``: max(w, h) of the GT box), the head size (``'head'``) or
    the torso (``'torso'``: |gt[4] - gt[5]|, or the predicted one when that is < 1).

    Args:
        thr (float): PCK threshold. Default 0.05.
        norm_item (str | Sequence[str]): any of 'bbox', 'head', 'torso'. Default 'bbox'.
        collect_device (str), prefix (str, optional): as MMEngine.

    Results: ``PCK`` (bbox), ``PCKh`` (head), ``tPCK`` (torso).
    """

    NORM_ITEMS = ("bbox", "head", "torso")

    def __init__(self, thr: float = 0.05, norm_item: Union[str, Sequence[str]] = "bbox", collect_device: str = "cpu",
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.thr = thr
        self.norm_item = list(norm_item) if isinstance(norm_item, (tuple, list)) else [norm_item]
        for item in self.norm_item:
            if item not in self.NORM_ITEMS:
                raise KeyError(f"The normalized item {item!r} is not supported by {type(self).__name__}. Should be "
                               f"one of 'bbox', 'head', 'torso', but got {item!r}.")

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            result = _coords(sample)
            gt = field(sample, "gt_instances")
            if "bbox" in self.norm_item:
                boxes = array(gt, "bboxes", "gt_instances (norm_item 'bbox')").reshape(-1, 4)
                result["bbox_size"] = _pair(np.max(boxes[:, 2:] - boxes[:, :2], axis=1))
            if "head" in self.norm_item:
                result["head_size"] = _pair(array(gt, "head_size", "gt_instances (norm_item 'head')"))
            if "torso" in self.norm_item:
                gc, pc = result["gt_coords"], result["pred_coords"]
                sizes = []
                for n in range(gc.shape[0]):
                    size = np.linalg.norm(gc[n][4] - gc[n][5])
                    if size < 1:
                        size = np.linalg.norm(pc[n][4] - pc[n][5])
                        warnings.warn("Ground truth torso size < 1. Use torso size from predicted keypoint results "
                                      "instead.")
                    sizes.append(size)
                result["torso_size"] = _pair(np.array(sizes))
            self.results.append(result)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt, mask = _cat(results, "pred_coords"), _cat(results, "gt_coords"), _cat(results, "mask")
        metrics = {}
        for item, key, name in (("bbox", "bbox_size", "PCK"), ("head", "head_size", "PCKh"),
                                ("torso", "torso_size", "tPCK")):
            if item in self.norm_item:
                _, pck, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, _cat(results, key))
                metrics[name] = pck
        return metrics


class MpiiPCKAccuracy(PCKAccuracy):
    """PCKh on MPII (16 joints): predictions + 1 (MATLAB indexing), per-joint-group values, the
    joint-count-weighted mean without pelvis and thorax (joints 6, 7), and ``PCK@0.1`` from the
    0:0.01:0.5 sweep. Values in percent. Default thr 0.5, norm_item 'head'."""

    def __init__(self, thr: float = 0.5, norm_item: Union[str, Sequence[str]] = "head", collect_device: str = "cpu",
                 prefix: Optional[str] = None) -> None:
        super().__init__(thr=thr, norm_item=norm_item, collect_device=collect_device, prefix=prefix)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt, mask = _cat(results, "pred_coords"), _cat(results, "gt_coords"), _cat(results, "mask")
        pred = pred + 1.0
        metrics: Dict[str, float] = {}
        if "head" not in self.norm_item:
            return metrics
        if pred.shape[1] != 16:
            raise ValueError(f"MpiiPCKAccuracy needs the 16 MPII joints, got K = {pred.shape[1]}")
        norm = _cat(results, "head_size")
        pck_p, _, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, norm)
        jnt_count = np.sum(mask, axis=0)
        PCKh = 100.0 * pck_p
        rng = np.arange(0, 0.5 + 0.01, 0.01)
        pck_all = np.zeros((len(rng), 16), dtype=np.float32)
        for r, threshold in enumerate(rng):
            pck_r, _, _ = keypoint_pck_accuracy(pred, gt, mask, threshold, norm)
            pck_all[r, :] = 100.0 * pck_r
        PCKh = np.ma.array(PCKh, mask=False)
        PCKh.mask[6:8] = True
        jnt_count = np.ma.array(jnt_count, mask=False)
        jnt_count.mask[6:8] = True
        jnt_ratio = jnt_count / np.sum(jnt_count).astype(np.float64)
        metrics.update({
            "Head PCK": PCKh[9],
            "Shoulder PCK": 0.5 * (PCKh[13] + PCKh[12]),
            "Elbow PCK": 0.5 * (PCKh[14] + PCKh[11]),
            "Wrist PCK": 0.5 * (PCKh[15] + PCKh[10]),
            "Hip PCK": 0.5 * (PCKh[3] + PCKh[2]),
            "Knee PCK": 0.5 * (PCKh[4] + PCKh[1]),
            "Ankle PCK": 0.5 * (PCKh[5] + PCKh[0]),
            "PCK": np.sum(PCKh * jnt_ratio),
            "PCK@0.1": np.sum(pck_all[10, :] * jnt_ratio),
        })
        return metrics


class JhmdbPCKAccuracy(PCKAccuracy):
    """PCK on JHMDB (15 joints) per joint group, normalised by the box (``PCK``, 'Head PCK', ...)
    and/or the torso (``tPCK``, 'Head tPCK', ...). Default thr 0.05, norm_item 'bbox'."""

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt, mask = _cat(results, "pred_coords"), _cat(results, "gt_coords"), _cat(results, "mask")
        if pred.shape[1] != 15:
            raise ValueError(f"JhmdbPCKAccuracy needs the 15 JHMDB joints, got K = {pred.shape[1]}")
        metrics: Dict[str, float] = {}
        for item, key, suffix in (("bbox", "bbox_size", "PCK"), ("torso", "torso_size", "tPCK")):
            if item not in self.norm_item:
                continue
            p, pck, _ = keypoint_pck_accuracy(pred, gt, mask, self.thr, _cat(results, key))
            metrics.update({
                f"Head {suffix}": p[2],
                f"Sho {suffix}": 0.5 * p[3] + 0.5 * p[4],
                f"Elb {suffix}": 0.5 * p[7] + 0.5 * p[8],
                f"Wri {suffix}": 0.5 * p[11] + 0.5 * p[12],
                f"Hip {suffix}": 0.5 * p[5] + 0.5 * p[6],
                f"Knee {suffix}": 0.5 * p[9] + 0.5 * p[10],
                f"Ank {suffix}": 0.5 * p[13] + 0.5 * p[14],
                suffix: pck,
            })
        return metrics


class AUC(BaseMetric):
    """Area under the PCK curve with a constant normaliser (pixels). Result: ``AUC``.

    Args:
        norm_factor (float): default 30.
        num_thrs (int): thresholds i / num_thrs, default 20.
    """

    def __init__(self, norm_factor: float = 30, num_thrs: int = 20, collect_device: str = "cpu",
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.norm_factor = norm_factor
        self.num_thrs = num_thrs

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        self.results.extend(_coords(s) for s in data_samples)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt, mask = _cat(results, "pred_coords"), _cat(results, "gt_coords"), _cat(results, "mask")
        return {"AUC": keypoint_auc(pred, gt, mask, self.norm_factor, self.num_thrs)}


class EPE(BaseMetric):
    """End-point error (mean pixel distance over visible keypoints). Result: ``EPE``."""

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        self.results.extend(_coords(s) for s in data_samples)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt, mask = _cat(results, "pred_coords"), _cat(results, "gt_coords"), _cat(results, "mask")
        return {"EPE": keypoint_epe(pred, gt, mask)}


class NME(BaseMetric):
    """Normalised mean error. Result: ``NME``.

    Args:
        norm_mode (str): ``'use_norm_item'`` (divide by ``gt_instances[norm_item]``; ``'bbox_size'``
            means max(w, h) of ``gt_instances['bboxes']``) or ``'keypoint_distance'`` (divide by
            |gt[i1] - gt[i2]|, the indices from ``keypoint_indices`` or, when None, the dataset's
            default by ``dataset_meta['dataset_name']``).
        norm_item (str, optional): see above.
        keypoint_indices (Sequence[int], optional): the pair (i1, i2).
    """

    DEFAULT_KEYPOINT_INDICES = {
        "horse10": [0, 1],
        "300w": [36, 45],
        "coco_wholebody_face": [36, 45],
        "cofw": [8, 9],
        "wflw": [60, 72],
        "lapa": [66, 79],
    }

    def __init__(self, norm_mode: str, norm_item: Optional[str] = None,
                 keypoint_indices: Optional[Sequence[int]] = None, collect_device: str = "cpu",
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if norm_mode not in ("use_norm_item", "keypoint_distance"):
            raise KeyError(f"`norm_mode` should be 'use_norm_item' or 'keypoint_distance', but got {norm_mode}.")
        self.norm_mode = norm_mode
        if norm_mode == "use_norm_item" and not norm_item:
            raise KeyError('`norm_mode` is set to `"use_norm_item"`, please specify the `norm_item` in the datainfo '
                           "used as the normalization factor.")
        self.norm_item = norm_item
        if keypoint_indices is not None and len(keypoint_indices) != 2:
            raise ValueError(f"keypoint_indices must be a pair (i1, i2), got {keypoint_indices!r}")
        self.keypoint_indices = keypoint_indices

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            result = _coords(sample)
            if self.norm_item:
                gt = field(sample, "gt_instances")
                if self.norm_item == "bbox_size":
                    boxes = array(gt, "bboxes", "gt_instances (norm_item 'bbox_size')").reshape(-1, 4)
                    result["bbox_size"] = np.max(boxes[:, 2:] - boxes[:, :2], axis=1).reshape(-1, 1)
                else:
                    result[self.norm_item] = array(gt, self.norm_item, "gt_instances").reshape(-1, 1)
            self.results.append(result)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        pred, gt, mask = _cat(results, "pred_coords"), _cat(results, "gt_coords"), _cat(results, "mask")
        if self.norm_mode == "use_norm_item":
            norm = np.tile(_cat(results, self.norm_item), [1, 2])
        else:
            indices = self.keypoint_indices
            if indices is None:
                name = (self.dataset_meta or {}).get("dataset_name")
                if name not in self.DEFAULT_KEYPOINT_INDICES:
                    raise KeyError("`norm_mode` is set to `keypoint_distance`, and the keypoint_indices is set to "
                                   f"None, can not find the keypoint_indices of dataset {name!r} in "
                                   "`DEFAULT_KEYPOINT_INDICES`, please specify `keypoint_indices` appropriately.")
                indices = self.DEFAULT_KEYPOINT_INDICES[name]
            i1, i2 = indices
            K = gt.shape[1]
            if not (0 <= i1 < K and 0 <= i2 < K):
                raise ValueError(f"keypoint_indices {tuple(indices)} out of range for K = {K} keypoints")
            interocular = np.linalg.norm(gt[:, i1, :] - gt[:, i2, :], axis=1, keepdims=True)
            norm = np.tile(interocular, [1, 2])
        return {"NME": keypoint_nme(pred, gt, mask, norm)}
