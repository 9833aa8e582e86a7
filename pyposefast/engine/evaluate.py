"""Top-down evaluation: batched predictions on the device, one host copy, a metric on rank 0.

Symbols: N validation instances (crops), K keypoints.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch
from torch import nn

from .distributed import all_gather_objects, broadcast_object, is_main_process

__all__ = ["evaluate", "predict_topdown", "autocast_context"]


def autocast_context(device: torch.device, amp: Optional[str]):
    """``torch.autocast`` for ``amp`` in (None, ``'bf16'``, ``'fp16'``)."""
    if amp is None:
        return contextlib.nullcontext()
    if amp not in ("bf16", "fp16"):
        raise ValueError(f"amp must be None, 'bf16' or 'fp16', got {amp!r}")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _device_of(model: nn.Module) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@torch.no_grad()
def predict_topdown(model: nn.Module, val_data: Any, *, amp: Optional[str] = None) -> Dict[str, np.ndarray]:
    """Keypoints of this rank's share of ``val_data`` in image pixels.

    The crops of each batch go through ``model.predict`` (flip test as the model is configured)
    on the device; the results stay there until one copy to the host at the end.

    Returns:
        dict: ``index`` ndarray[N] int64 (record indices), ``keypoints`` ndarray[N, K, 2] float32,
        ``keypoint_scores`` ndarray[N, K] float32, ``bbox_scale`` ndarray[N, 2] float32.
    """
    model = _unwrap(model)
    if not hasattr(model, "predict"):
        raise TypeError(f"model must be a top-down estimator with predict(), got {type(model).__name__}")
    was_training = model.training
    model.eval()
    device = _device_of(model)
    idx: List[torch.Tensor] = []
    kps: List[torch.Tensor] = []
    scs: List[torch.Tensor] = []
    scales: List[torch.Tensor] = []
    try:
        for batch in val_data:
            with autocast_context(device, amp):
                kp, sc = model.predict(batch["inputs"], batch["bbox_center"], batch["bbox_scale"])
            idx.append(batch["index"])
            kps.append(kp.float())
            scs.append(sc.float())
            scales.append(batch["bbox_scale"])
    finally:
        model.train(was_training)
    if not idx:
        k = int(val_data.meta["num_keypoints"])
        return {"index": np.zeros(0, np.int64), "keypoints": np.zeros((0, k, 2), np.float32),
                "keypoint_scores": np.zeros((0, k), np.float32), "bbox_scale": np.zeros((0, 2), np.float32)}
    return {"index": torch.cat(idx).cpu().numpy().astype(np.int64),
            "keypoints": torch.cat(kps).cpu().numpy(),
            "keypoint_scores": torch.cat(scs).cpu().numpy(),
            "bbox_scale": torch.cat(scales).cpu().numpy().astype(np.float32)}


# record key -> ``gt_instances`` key: what MMPose's ``PackPoseInputs`` packs for the metrics
# (``instance_mapping_table``), plus AFLW's ``box_size`` (an ``NME`` ``norm_item``).
GT_INSTANCE_KEYS = (("bbox", "bboxes"), ("keypoints", "keypoints"), ("keypoints_visible", "keypoints_visible"),
                    ("head_size", "head_size"), ("box_size", "box_size"))
# what detection-box records (``bbox_file``) do not have: their keypoints are dummies
_GROUND_TRUTH_KEYS = ("keypoints", "keypoints_visible", "head_size", "box_size")


def _gt_instances(rec: Dict[str, Any], ground_truth: bool) -> Dict[str, np.ndarray]:
    """The record's ground truth as ``gt_instances`` entries (one instance): ``bboxes`` [1, 4]
    float32 (x1, y1, x2, y2), ``keypoints`` [1, K, 2] float32 (image pixels), ``keypoints_visible``
    [1, K] float32, and when the record has them ``head_size`` [1, 1] (MPII, PCKh) and ``box_size``
    [1] (an NME normaliser). Without ``ground_truth`` (detected boxes) only ``bboxes``."""
    out: Dict[str, np.ndarray] = {}
    for key, packed in GT_INSTANCE_KEYS:
        if key not in rec or rec[key] is None or (not ground_truth and key in _GROUND_TRUTH_KEYS):
            continue
        value = np.asarray(rec[key])
        if key == "bbox":
            value = value.astype(np.float32).reshape(1, 4)
        elif key == "keypoints":
            value = value.astype(np.float32).reshape(1, -1, value.shape[-1])
        elif key == "keypoints_visible":
            value = value.astype(np.float32).reshape(1, -1)
        out[packed] = value
    return out


def _samples(records: List[Dict[str, Any]], pred: Dict[str, np.ndarray], *,
             ground_truth: bool = True) -> List[Dict[str, Any]]:
    """MMPose-style data samples (one per instance) from the stacked predictions.

    Each sample: ``id``, ``img_id``, ``pred_instances`` (``keypoints`` [1, K, 2] float32 image
    pixels, ``keypoint_scores`` [1, K], ``bboxes`` [1, 4], ``bbox_scores`` [1]), ``gt_instances``
    (``bbox_scales`` [1, 2] padded box size, ``bbox_scores`` [1], and the record's ground truth as
    :func:`_gt_instances` packs it), plus ``ori_shape`` / ``raw_ann_info`` / ``category_id`` when
    the record has them: what ``CocoMetric``, ``PCKAccuracy``, ``MpiiPCKAccuracy``,
    ``JhmdbPCKAccuracy``, ``AUC``, ``EPE`` and ``NME`` read.
    """
    out = []
    kp, sc, scale = pred["keypoints"], pred["keypoint_scores"], pred["bbox_scale"]
    for j, i in enumerate(pred["index"].tolist()):
        rec = records[i]
        bbox = np.asarray(rec["bbox"], np.float32).reshape(1, 4)
        bbox_score = np.asarray(rec.get("bbox_score", [1.0]), np.float32).reshape(1)
        gt = _gt_instances(rec, ground_truth)
        gt.update(bbox_scales=scale[j:j + 1], bbox_scores=bbox_score)
        sample = {"id": rec.get("id", i), "img_id": rec["img_id"],
                  "pred_instances": {"keypoints": kp[j:j + 1], "keypoint_scores": sc[j:j + 1], "bboxes": bbox,
                                     "bbox_scores": bbox_score},
                  "gt_instances": gt}
        if "img_shape" in rec:
            sample["ori_shape"] = tuple(rec["img_shape"])
        if rec.get("raw_ann_info") is not None:
            sample["raw_ann_info"] = rec["raw_ann_info"]
        if "category_id" in rec:
            sample["category_id"] = int(np.asarray(rec["category_id"]).reshape(-1)[0])
        out.append(sample)
    return out


def evaluate(model: nn.Module, val_data: Any, metric: Any, *, amp: Optional[str] = None,
             batch_process: int = 256) -> Dict[str, float]:
    """Evaluate a top-down model (or, given ``LiftingValData``, a pose lifter: see
    :func:`pyposefast.engine.lifting.evaluate_lifting`) on validation data with a metric.

    Every rank predicts its shard (:func:`predict_topdown`); the predictions are gathered, put in
    record order (so the result does not depend on the number of processes), fed to
    ``metric.process`` and scored on rank 0; every rank returns rank 0's numbers.

    Args:
        model (nn.Module): a ``TopdownPoseEstimator`` (or DDP around one), on its device.
        val_data (TopdownValData): crops, boxes and records.
        metric: e.g. ``CocoMetric(ann_file=...)``, ``PCKAccuracy``, ``MpiiPCKAccuracy``, ``AUC``,
            ``EPE``, ``NME`` (each data sample carries the record's ground truth, see
            :func:`_samples`); its ``dataset_meta`` is set from ``val_data.meta`` when unset.
        amp (str, optional): ``'bf16'`` / ``'fp16'`` autocast for the forward passes.
        batch_process (int): samples per ``metric.process`` call.

    Returns:
        dict[str, float]: the metric's results (e.g. ``coco/AP``, ``coco/AR`` ..., ``PCKh``, ``NME``).

    Raises:
        ValueError: a metric needing ground-truth keypoints on detection boxes (``bbox_file``).
    """
    if metric is None or not hasattr(metric, "process") or not hasattr(metric, "evaluate"):
        raise TypeError(f"metric must have process() and evaluate() (e.g. CocoMetric), got {type(metric).__name__}")
    from .lifting import LiftingValData, evaluate_lifting

    if isinstance(val_data, LiftingValData):
        return evaluate_lifting(model, val_data, metric, amp=amp)
    pred = predict_topdown(model, val_data, amp=amp)

    def score(merged: Dict[str, np.ndarray]) -> Dict[str, float]:
        if getattr(metric, "dataset_meta", None) is None:
            metric.dataset_meta = dict(val_data.meta)
        ground_truth = bool(getattr(val_data, "ground_truth", True))
        samples = _samples(val_data.records, merged, ground_truth=ground_truth)
        try:
            for s in range(0, len(samples), batch_process):
                metric.process(None, samples[s:s + batch_process])
        except ValueError as e:
            if ground_truth or "gt_instances" not in str(e):
                raise
            raise ValueError(f"{type(metric).__name__} needs ground-truth keypoints, but val_data's boxes are "
                             f"detections (bbox_file), which have none: {e}") from None
        return metric.evaluate()

    return score_on_main_process(pred, score)


def score_on_main_process(pred: Dict[str, np.ndarray], score: Callable[[Dict[str, np.ndarray]], Any]) -> Any:
    """Gather every rank's predictions (arrays with a leading sample axis and an ``index`` [N] of
    record indices), put them in record order, run ``score`` on them on rank 0 and return its result
    on every rank; an exception on rank 0 is raised on every rank (no rank is left waiting)."""
    gathered = all_gather_objects(pred)
    result: Any = None
    if is_main_process():
        try:
            merged = {k: np.concatenate([g[k] for g in gathered]) for k in pred}
            order = np.argsort(merged["index"], kind="stable")
            result = score({k: v[order] for k, v in merged.items()})
        except Exception as e:  # tell the other ranks instead of leaving them waiting
            result = e
    result = broadcast_object(result)
    if isinstance(result, Exception):
        raise result
    return result
