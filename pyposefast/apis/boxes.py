"""Person boxes for top-down inference: given by the caller, read from a COCO detection results
file, or (MMPose's fallback when there are none) the whole image. Detections are kept above the
score threshold (``score > bbox_thr``) and then through box NMS (``nms_thr``), as MMPose's
``Pose2DInferencer`` filters its detector's boxes."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from ..evaluation.functional.nms import nms

__all__ = ["as_boxes", "filter_boxes", "whole_image_box", "DetectionFile"]

Boxes = Tuple[np.ndarray, np.ndarray]  # (xyxy [n, 4] float32, scores [n] float32)


def as_boxes(value: Any, name: str = "bboxes") -> Boxes:
    """Caller boxes -> (xyxy [n, 4] float32, scores [n] float32).

    Args:
        value (array-like [n, 4] or [n, 5]): (x1, y1, x2, y2[, score]) in image pixels; a single
            box may be given as [4] / [5]. Without a score column every score is 1.
        name (str): the argument's name for error messages.

    Raises:
        ValueError: not [n, 4] / [n, 5] finite numbers, or x2 < x1 / y2 < y1.
    """
    try:
        arr = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be an array [n, 4] or [n, 5] (x1, y1, x2, y2[, score])") from e
    if arr.size == 0:
        return np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] not in (4, 5):
        raise ValueError(f"{name} must be an array [n, 4] or [n, 5] (x1, y1, x2, y2[, score]), got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite numbers")
    if (arr[:, 2] < arr[:, 0]).any() or (arr[:, 3] < arr[:, 1]).any():
        raise ValueError(f"{name} must be (x1, y1, x2, y2) with x2 >= x1 and y2 >= y1 (xyxy, not xywh?)")
    scores = arr[:, 4].copy() if arr.shape[1] == 5 else np.ones(len(arr), np.float32)
    return np.ascontiguousarray(arr[:, :4]), scores


def filter_boxes(boxes: Boxes, bbox_thr: float, nms_thr: float) -> Boxes:
    """Keep boxes with ``score > bbox_thr``, then greedy box NMS at IoU ``nms_thr`` (highest
    score first): MMPose's detector-box filter."""
    xyxy, scores = boxes
    keep = scores > bbox_thr
    xyxy, scores = xyxy[keep], scores[keep]
    if len(xyxy) > 1:
        order = nms(np.concatenate([xyxy, scores[:, None]], axis=1).astype(np.float64), nms_thr)
        xyxy, scores = xyxy[order], scores[order]
    return xyxy, scores


def whole_image_box(width: int, height: int) -> Boxes:
    """MMPose's box when there are none: ``[0, 0, w, h]`` with score 1."""
    return np.array([[0.0, 0.0, float(width), float(height)]], np.float32), np.ones(1, np.float32)


class DetectionFile:
    """Boxes from a COCO detection results JSON (a list of ``{'image_id', 'category_id', 'bbox':
    [x, y, w, h], 'score'}``), looked up by image.

    With ``ann_file`` (the COCO file whose ``images`` the detections refer to), records come from
    ``pyposefast.datasets.coco.load_detection_boxes`` and images are matched by path (absolute) or
    file name; without it, an image matches when its file stem is the ``image_id`` (COCO's
    ``000000397133.jpg`` naming).

    Args:
        det_file (str): the detections.
        ann_file (str, optional): the COCO annotation file for the image names.
        img_prefix (str): image folder of ``ann_file``'s file names.
        num_keypoints (int): K (for ``load_detection_boxes``'s dummy keypoints).
        category_id (int): the detections kept. Defaults to 1 (person).
    """

    def __init__(self, det_file: str, ann_file: Optional[str] = None, img_prefix: str = "",
                 num_keypoints: int = 17, category_id: int = 1) -> None:
        self.det_file = os.fspath(det_file)
        if not os.path.isfile(self.det_file):
            raise FileNotFoundError(f"det_file: no such file: {self.det_file!r}")
        self._by_key: Dict[Any, Tuple[List[np.ndarray], List[float], Optional[int]]] = {}
        if ann_file is not None:
            from ..datasets.coco import load_detection_boxes

            recs = load_detection_boxes(self.det_file, ann_file, num_keypoints, img_prefix,
                                        category_id=category_id).records
            for r in recs:
                for key in (self._path_key(r["img_path"]), os.path.basename(r["img_path"])):
                    entry = self._by_key.setdefault(key, ([], [], r.get("img_id")))
                    entry[0].append(r["bbox"][0])
                    entry[1].append(float(r["bbox_score"][0]))
        else:
            with open(self.det_file) as f:
                dets = json.load(f)
            if not isinstance(dets, list):
                raise ValueError(f"det_file {self.det_file!r}: expected a list of detections, "
                                 f"got {type(dets).__name__}")
            for i, d in enumerate(dets):
                if not isinstance(d, dict) or not all(k in d for k in ("image_id", "bbox", "score")):
                    raise ValueError(f"det_file {self.det_file!r}[{i}]: a detection needs 'image_id', 'bbox', 'score'")
                if d.get("category_id", category_id) != category_id:
                    continue
                x, y, w, h = (float(v) for v in d["bbox"][:4])
                entry = self._by_key.setdefault(int(d["image_id"]), ([], [], int(d["image_id"])))
                entry[0].append(np.array([x, y, x + w, y + h], np.float32))
                entry[1].append(float(d["score"]))
        self.use_names = ann_file is not None

    @staticmethod
    def _path_key(path: str) -> str:
        return os.path.normcase(os.path.abspath(path))

    def lookup(self, img_path: Optional[str]) -> Optional[Tuple[Boxes, Optional[int]]]:
        """The boxes of the image at ``img_path`` and its image id, or None when it has no entry
        (an image the file does not list has no detections)."""
        if img_path is None:
            return None
        if self.use_names:
            entry = self._by_key.get(self._path_key(img_path)) or self._by_key.get(os.path.basename(img_path))
        else:
            stem = os.path.splitext(os.path.basename(img_path))[0]
            entry = self._by_key.get(int(stem)) if stem.isdigit() else None
        if entry is None:
            return None
        boxes, scores, img_id = entry
        return (np.stack(boxes).astype(np.float32), np.asarray(scores, np.float32)), img_id
