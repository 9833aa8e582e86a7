"""InterHandMetric (3D interacting hands, InterHand2.6M), MMPose 1.x's ``InterHandMetric``: modes
``'MPJPE'`` (results ``MPJPE_all``, ``MPJPE_single``, ``MPJPE_interacting``), ``'MRRPE'`` and
``'HandednessAcc'``.

Each data sample is a dict holding ``pred_instances`` (``keypoints`` [1, 42, 3]: x, y in image
pixels, z the depth relative to its hand's wrist in mm; ``hand_type`` [1, 2]; ``rel_root_depth``:
left wrist minus right wrist, mm), ``gt_instances`` (``keypoints_cam`` [1, 42, 3] camera
coordinates in mm; ``keypoints_visible`` [1, 42]), and the record's ``hand_type`` [1, 2],
``hand_type_valid`` [1], ``abs_depth`` [2] (right, left wrist depths, mm), ``focal`` [2] and
``principal_pt`` [2]. :func:`interhand_data_samples` builds them from reader records and predictions.

- MPJPE: predictions lifted to camera space (z + the wrist's absolute depth, then
  ``(u - c) / f * z``), both hands made wrist-relative, mean joint distance (mm) over visible joints
  of all / single-hand / interacting-hands samples.
- MRRPE: for interacting samples with both wrists visible, the error of the left wrist relative to
  the right (MMPose lifts both predicted wrists with the right wrist's absolute depth, the left one
  plus ``rel_root_depth``).
- HandednessAcc: share of samples with ``hand_type_valid`` whose two hand-type labels both match.
"""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..functional import keypoint_epe
from .base import BaseMetric, array, field

__all__ = ["InterHandMetric", "pixel_to_camera", "interhand_data_samples", "evaluate_interhand"]

_RIGHT_ROOT, _LEFT_ROOT = 20, 41


def pixel_to_camera(keypoints: np.ndarray, fx: float, fy: float, cx: float, cy: float) -> np.ndarray:
    """(u, v, z) -> camera (x, y, z): ``x = (u - cx) / fx * z``, ``y = (v - cy) / fy * z`` (MMPose's
    ``pixel_to_camera``, in the input's dtype).

    Args:
        keypoints (ndarray[..., 3]): pixels and camera depth.
        fx, fy (float): focal lengths (pixels). cx, cy (float): principal point (pixels).

    Returns:
        ndarray[..., 3]: a new array.
    """
    out = keypoints.copy()
    out[..., 0] -= cx
    out[..., 1] -= cy
    out[..., 0] /= fx
    out[..., 1] /= fy
    out[..., 0] *= keypoints[..., 2]
    out[..., 1] *= keypoints[..., 2]
    return out


def _values(sample: dict, key: str, n: int) -> Any:
    """The sample's ``key`` as given (a list or array keeps its element types, as MMPose adds them);
    a tensor comes to the host."""
    value = field(sample, key)
    if not isinstance(value, (list, tuple, np.ndarray)):
        value = array(sample, key, "data sample")
    if len(value) != n:
        raise ValueError(f"`{key}` must have {n} entries, got {len(value)}")
    return value


class InterHandMetric(BaseMetric):
    """MPJPE per hand type, MRRPE and handedness accuracy on InterHand2.6M (see the module doc).

    Args:
        modes (list[str]): any of ``'MPJPE'``, ``'MRRPE'``, ``'HandednessAcc'`` (all by default).
        collect_device (str), prefix (str, optional): as MMEngine's ``BaseMetric``.
    """

    METRICS = ("MPJPE", "MRRPE", "HandednessAcc")

    def __init__(self, modes: Sequence[str] = ("MPJPE", "MRRPE", "HandednessAcc"), collect_device: str = "cpu",
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        for mode in modes:
            if mode not in self.METRICS:
                raise ValueError(f"`mode` should be 'MPJPE', 'MRRPE', or 'HandednessAcc', but got '{mode}'.")
        self.modes = list(modes)

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Store what each data sample contributes (see the module doc for the keys)."""
        for sample in data_samples:
            pred_inst = field(sample, "pred_instances")
            gt_inst = field(sample, "gt_instances")
            pred = array(pred_inst, "keypoints", "pred_instances")
            if pred.ndim != 3 or pred.shape[-1] != 3 or pred.shape[1] != 42:
                raise ValueError(f"pred_instances['keypoints'] must be [1, 42, 3], got {pred.shape}")
            K = pred.shape[1]
            gt = array(gt_inst, "keypoints_cam", "gt_instances")
            if gt.shape != pred.shape:
                raise ValueError(f"gt_instances['keypoints_cam'] {gt.shape} must match the prediction {pred.shape}")
            visible = array(gt_inst, "keypoints_visible", "gt_instances")
            mask = visible.astype(bool).reshape(1, -1)
            gt_hand_type = array(sample, "hand_type", "data sample")
            abs_depth = _values(sample, "abs_depth", 2)
            focal = _values(sample, "focal", 2)
            principal_pt = _values(sample, "principal_pt", 2)
            result: Dict[str, Any] = {}

            if "MPJPE" in self.modes:
                gt_rel = gt.copy()
                gt_rel[..., :21, :] -= gt_rel[..., _RIGHT_ROOT, :]
                gt_rel[..., 21:, :] -= gt_rel[..., _LEFT_ROOT, :]
                pred_cam = pred.copy()
                pred_cam[..., :21, 2] += abs_depth[0]
                pred_cam[..., 21:, 2] += abs_depth[1]
                pred_cam = pixel_to_camera(pred_cam, focal[0], focal[1], principal_pt[0], principal_pt[1])
                pred_cam[..., :21, :] -= pred_cam[..., _RIGHT_ROOT, :]
                pred_cam[..., 21:, :] -= pred_cam[..., _LEFT_ROOT, :]
                interacting = bool(gt_hand_type.all())
                none = np.zeros((1, K), dtype=bool)
                result.update(pred_coords=pred_cam, gt_coords=gt_rel, mask=mask,
                              single_mask=none if interacting else mask, interacting_mask=mask if interacting else none)

            if "HandednessAcc" in self.modes:
                if pred_inst.get("hand_type") is None:
                    raise KeyError("metric HandednessAcc is not supported")
                result.update(pred_hand_type=array(pred_inst, "hand_type", "pred_instances"),
                              gt_hand_type=gt_hand_type,
                              hand_type_mask=array(sample, "hand_type_valid", "data sample") > 0)

            if "MRRPE" in self.modes:
                if pred_inst.get("rel_root_depth") is None:
                    raise KeyError("metric MRRPE is not supported")
                root_depth = array(pred_inst, "rel_root_depth", "pred_instances")
                if gt_hand_type.all() and visible[..., _RIGHT_ROOT] and visible[..., _LEFT_ROOT]:
                    left = np.array(pred[..., _LEFT_ROOT, :], dtype=np.float32)
                    left[..., 2] += abs_depth[0] + root_depth
                    left = pixel_to_camera(left, focal[0], focal[1], principal_pt[0], principal_pt[1])
                    right = np.array(pred[..., _RIGHT_ROOT, :], dtype=np.float32)
                    right[..., 2] += abs_depth[0]
                    right = pixel_to_camera(right, focal[0], focal[1], principal_pt[0], principal_pt[1])
                    gt_rel_root = gt[..., _LEFT_ROOT, :] - gt[..., _RIGHT_ROOT, :]
                    result.update(pred_rel_root_coords=np.expand_dims(left - right, axis=0),
                                  gt_rel_root_coords=np.expand_dims(gt_rel_root, axis=0), rel_root_mask=np.array([True]))
                else:
                    result.update(pred_rel_root_coords=np.zeros((1, 1, 3), dtype=np.int64),
                                  gt_rel_root_coords=np.zeros((1, 1, 3), dtype=np.int64),
                                  rel_root_mask=np.array([False]))
            self.results.append(result)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Results named as MMPose's: ``MPJPE_all``, ``MPJPE_single``, ``MPJPE_interacting`` (mm),
        ``HandednessAcc`` (NaN when no sample has a valid hand type), ``MRRPE`` (mm)."""
        metrics: Dict[str, float] = {}

        def cat(key: str) -> np.ndarray:
            return np.concatenate([r[key] for r in results])

        if "MPJPE" in self.modes:
            pred, gt = cat("pred_coords"), cat("gt_coords")
            metrics["MPJPE_all"] = keypoint_epe(pred, gt, cat("mask"))
            metrics["MPJPE_single"] = keypoint_epe(pred, gt, cat("single_mask"))
            metrics["MPJPE_interacting"] = keypoint_epe(pred, gt, cat("interacting_mask"))
        if "HandednessAcc" in self.modes:
            acc = (cat("pred_hand_type") == cat("gt_hand_type")).all(axis=-1)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                metrics["HandednessAcc"] = float(np.mean(acc[cat("hand_type_mask")]))
        if "MRRPE" in self.modes:
            mask = np.array([r["rel_root_mask"] for r in results])
            metrics["MRRPE"] = keypoint_epe(cat("pred_rel_root_coords"), cat("gt_rel_root_coords"), mask)
        return metrics


def interhand_data_samples(records: Sequence[dict], keypoints: Any, rel_root_depth: Any,
                           hand_type: Any) -> List[dict]:
    """Data samples for :class:`InterHandMetric` from ``load_interhand3d`` records and a batch of
    predictions (``InternetHead.predict``'s outputs, image pixels).

    Args:
        records (Sequence[dict]): B reader records (``keypoints_cam``, ``keypoints_visible``,
            ``hand_type``, ``hand_type_valid``, ``abs_depth``, ``focal``, ``principal_pt``).
        keypoints (Tensor or ndarray [B, 42, 3]), rel_root_depth ([B]), hand_type ([B, 2]).

    Returns:
        list[dict]: one data sample per record.
    """
    from ..functional._arrays import to_numpy

    kp = to_numpy("keypoints", keypoints)
    root = to_numpy("rel_root_depth", rel_root_depth).reshape(-1)
    types = to_numpy("hand_type", hand_type)
    if not (len(records) == kp.shape[0] == root.shape[0] == types.shape[0]):
        raise ValueError(f"records ({len(records)}), keypoints {kp.shape}, rel_root_depth {root.shape} and "
                         f"hand_type {types.shape} must have one batch size")
    return [{"pred_instances": {"keypoints": kp[i:i + 1], "rel_root_depth": root[i:i + 1],
                                "hand_type": types[i:i + 1]},
             "gt_instances": {"keypoints_cam": rec["keypoints_cam"], "keypoints_visible": rec["keypoints_visible"]},
             "hand_type": rec["hand_type"], "hand_type_valid": rec["hand_type_valid"],
             "abs_depth": rec["abs_depth"], "focal": rec["focal"], "principal_pt": rec["principal_pt"]}
            for i, rec in enumerate(records)]


def evaluate_interhand(model: Any, records: Sequence[dict], metric: Optional[InterHandMetric] = None, *,
                       batch_size: int = 16, input_size: Optional[Sequence[int]] = None,
                       flip_test: Optional[bool] = None, device: Any = None) -> Dict[str, float]:
    """Evaluate an InterNet estimator on InterHand2.6M records (MMPose's val pipeline and
    ``InterHandMetric``): crops by ``interhand_topdown_batch``, ``model.predict``, the metric.

    Args:
        model: a ``TopdownPoseEstimator`` with an ``InternetHead`` (e.g. ``build_internet(...)``).
        records (Sequence[dict]): ``load_interhand3d`` records (images read from ``img_path``).
        metric (InterHandMetric, optional): default ``InterHandMetric()`` (all modes).
        batch_size (int): crops per forward pass.
        input_size (Sequence[int], optional): (w, h); default the codec's ``image_size``.
        flip_test (bool, optional): overrides the model's.
        device (optional): default the model's parameters' device.

    Returns:
        dict[str, float]: the metric's results (``MPJPE_all``, ``MPJPE_single``,
        ``MPJPE_interacting``, ``MRRPE``, ``HandednessAcc``).
    """
    import torch

    from ...datasets.interhand import interhand_topdown_batch

    records = list(getattr(records, "records", records))
    if not records:
        raise ValueError("records is empty")
    metric = metric if metric is not None else InterHandMetric()
    size = tuple(int(v) for v in (input_size if input_size is not None else model.head.decoder.image_size))
    dev = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for s in range(0, len(records), int(batch_size)):
                chunk = records[s:s + int(batch_size)]
                batch = interhand_topdown_batch(chunk, input_size=size, device=dev)
                keypoints, _, root, hand_type = model.predict(batch["inputs"], batch["input_center"],
                                                              batch["input_scale"], flip_test=flip_test)
                metric.process(None, interhand_data_samples(chunk, keypoints, root, hand_type))
    finally:
        model.train(was_training)
    return metric.evaluate()
