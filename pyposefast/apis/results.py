"""Inference results on disk: MMPose's per-input prediction JSON files and COCO keypoint results.

A result is one dict per image or video frame (see :class:`pyposefast.apis.PoseInferencer`):
``keypoints`` [N, K, 2] float32 image pixels, ``keypoint_scores`` [N, K], ``bboxes`` [N, 4] xyxy,
``bbox_scores`` [N], ``img_path``, ``frame_id``, ``input_index`` (and ``img_id`` where known).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Mapping, Sequence, Union

import numpy as np

__all__ = ["instances_to_mmpose", "write_prediction_json", "coco_score", "write_coco_results"]


def instances_to_mmpose(result: Dict[str, Any]) -> List[Dict[str, Any]]:
    """One result as MMPose's ``split_instances`` lists it: per instance ``keypoints`` [[x, y], ...],
    ``keypoint_scores`` [s, ...], ``bbox`` [[x1, y1, x2, y2]] (MMPose writes the box inside a
    one-element list, and so do we, so files read the same) and ``bbox_score``."""
    kp = np.asarray(result["keypoints"], dtype=np.float64)
    sc = np.asarray(result["keypoint_scores"], dtype=np.float64)
    boxes = result.get("bboxes")
    box_scores = result.get("bbox_scores")
    out = []
    for i in range(len(kp)):
        inst: Dict[str, Any] = {"keypoints": kp[i].tolist(), "keypoint_scores": sc[i].tolist()}
        if boxes is not None:
            inst["bbox"] = [np.asarray(boxes[i], dtype=np.float64).tolist()]
            if box_scores is not None:
                inst["bbox_score"] = float(box_scores[i])
        out.append(inst)
    return out


def write_prediction_json(obj: Any, path: str) -> str:
    """Write ``obj`` as indented JSON (MMPose's ``mmengine.dump(..., indent='  ')``); returns path."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent="  ")
    return path


def coco_score(keypoint_scores: np.ndarray, bbox_score: float, keypoint_score_thr: float = 0.2) -> float:
    """MMPose's ``CocoMetric(score_mode='bbox_keypoint')`` instance score: the mean of the keypoint
    scores above ``keypoint_score_thr`` (0 when none is) times the box score."""
    s = np.asarray(keypoint_scores, dtype=np.float64).reshape(-1)
    valid = s[s > keypoint_score_thr]
    mean = float(valid.mean()) if valid.size else 0.0
    return float(bbox_score) * mean


def _image_id(result: Dict[str, Any], i: int, image_ids: Union[None, Sequence[Any], Mapping[str, Any]]) -> int:
    if image_ids is None:
        if result.get("img_id") is None:
            raise ValueError(f"results[{i}] has no 'img_id': pass image_ids (one per result, or a dict from "
                             "image path / file name to id)")
        return int(result["img_id"])
    if isinstance(image_ids, Mapping):
        path = result.get("img_path")
        for key in (path, None if path is None else os.path.basename(path)):
            if key is not None and key in image_ids:
                return int(image_ids[key])
        raise KeyError(f"results[{i}] (img_path {path!r}) is not in image_ids (by path or file name)")
    return int(image_ids[i])


def write_coco_results(results: Sequence[Dict[str, Any]], path: str,
                       image_ids: Union[None, Sequence[Any], Mapping[str, Any]] = None, *,
                       category_id: int = 1, score_mode: str = "bbox_keypoint",
                       keypoint_score_thr: float = 0.2) -> List[Dict[str, Any]]:
    """Write inference results as a COCO keypoint results JSON (the file ``pycocotools``'
    ``loadRes`` and ``pyposefast.evaluation.CocoMetric`` read).

    Each instance becomes ``{'image_id', 'category_id': 1, 'keypoints': [x1, y1, s1, ...],
    'score', 'bbox': [x, y, w, h]}``. The score is MMPose's ``CocoMetric`` rescoring:
    ``score_mode='bbox_keypoint'`` (its default) = the box score times the mean keypoint score above
    ``keypoint_score_thr``; ``'bbox'`` = the box score; ``'keypoint'`` = the mean keypoint score.
    No OKS-NMS is applied (run it before, if wanted).

    Args:
        results (list[dict]): the inferencer's results.
        path (str): the JSON file to write (folders are created).
        image_ids: the COCO image id of each result: a sequence (one per result), a dict from image
            path or file name to id, or None to use each result's ``img_id`` (set when boxes came
            from a detection file).
        category_id (int): Defaults to 1 (person).
        score_mode (str): ``'bbox_keypoint'``, ``'bbox'`` or ``'keypoint'``.
        keypoint_score_thr (float): for ``'bbox_keypoint'``. Defaults to 0.2 (MMPose's).

    Returns:
        list[dict]: the written entries.

    Raises:
        ValueError: a bad ``score_mode``, ids that do not match the results, or a result without
        keypoints.
    """
    if score_mode not in ("bbox_keypoint", "bbox", "keypoint"):
        raise ValueError(f"score_mode must be 'bbox_keypoint', 'bbox' or 'keypoint', got {score_mode!r}")
    if image_ids is not None and not isinstance(image_ids, Mapping) and len(image_ids) != len(results):
        raise ValueError(f"image_ids must have one id per result ({len(results)}), got {len(image_ids)}")
    entries: List[Dict[str, Any]] = []
    for i, res in enumerate(results):
        if "keypoints" not in res or "keypoint_scores" not in res:
            raise ValueError(f"results[{i}] must have 'keypoints' and 'keypoint_scores'")
        img_id = _image_id(res, i, image_ids)
        kp = np.asarray(res["keypoints"], dtype=np.float64)
        sc = np.asarray(res["keypoint_scores"], dtype=np.float64)
        n = len(kp)
        boxes = res.get("bboxes")
        box_scores = res.get("bbox_scores")
        for j in range(n):
            bscore = float(box_scores[j]) if box_scores is not None else 1.0
            if score_mode == "bbox":
                score = bscore
            elif score_mode == "keypoint":
                score = float(sc[j].mean()) if sc[j].size else 0.0
            else:
                score = coco_score(sc[j], bscore, keypoint_score_thr)
            entry: Dict[str, Any] = {
                "image_id": img_id,
                "category_id": int(category_id),
                "keypoints": np.concatenate([kp[j, :, :2], sc[j][:, None]], -1).reshape(-1).tolist(),
                "score": score,
            }
            if boxes is not None:
                x1, y1, x2, y2 = (float(v) for v in np.asarray(boxes[j]).reshape(-1)[:4])
                entry["bbox"] = [x1, y1, x2 - x1, y2 - y1]
            entries.append(entry)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, "w") as f:
        json.dump(entries, f)
    return entries
