"""COCO keypoint results: the results JSON writer, and the pycocotools objects the COCO metrics
evaluate with.

MMPose evaluates with xtcocotools; we evaluate with pycocotools (a runtime dependency) and feed it
ground truth and detections prepared so that it computes what xtcocotools computes:

* a ground-truth instance is ignored when none of its (evaluated) keypoints has v > 0, counted from
  its keypoints (xtcocotools) rather than read from ``num_keypoints`` (which need not exist);
* a detection none of whose (evaluated) keypoint scores is > 0 is left out (xtcocotools skips it);
* ``use_area=False``: the OKS scale and area ranges use ``0.53 * w * h`` of the ground-truth box;
* annotation ids <= 0 are renumbered (pycocotools takes id 0 for "unmatched"); missing ``iscrowd``
  means 0;
* a detection's area is its box's w * h when the results carry boxes, otherwise the extent of its
  ``'keypoints'`` field (the body part for whole-body), as both tools' ``loadRes`` compute it; an
  empty result list is allowed.

CrowdPose's ``iou_type='keypoints_crowd'`` (easy/medium/hard AP from the images' ``crowdIndex``) is
xtcocotools-only: it is not supported here.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

COCO_STATS_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")


def _pycocotools():
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    return COCO, COCOeval


def write_json(obj: Any, path: str) -> str:
    """Write ``obj`` as JSON (sorted keys, compact; NumPy scalars and arrays allowed); returns path."""
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f"cannot write {type(o).__name__} to JSON")

    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    text = json.dumps(obj, sort_keys=True, default=default)  # dumps: the C encoder (dump streams in Python)
    with open(path, "w") as f:
        f.write(text)
    return path


def keypoint_results(image_ids: Sequence[int], category_ids: Sequence[int], keypoints: np.ndarray,
                     scores: Sequence[float], bboxes: Optional[Sequence] = None,
                     parts: Optional[Dict[str, slice]] = None) -> List[dict]:
    """COCO keypoint results, one dict per instance.

    Args:
        image_ids, category_ids (Sequence[int]): per instance.
        keypoints (ndarray[D, K, 3]): (x, y, score) per keypoint.
        scores (Sequence[float]): instance scores.
        bboxes (Sequence[ndarray[4]] | None): optional xywh boxes (None entries are left out).
        parts (dict[str, slice], optional): whole-body: field name -> keypoint range (e.g.
            ``{'keypoints': slice(0, 17), 'foot_kpts': slice(17, 23), ...}``); default one
            ``'keypoints'`` field with all K.

    Returns:
        list[dict]: ``{'image_id', 'category_id', 'keypoints': [x, y, s, ...], 'score'[, 'bbox']}``.
    """
    flat = np.asarray(keypoints)
    parts = parts or {"keypoints": slice(0, flat.shape[1] if flat.ndim == 3 else 0)}
    lists = {name: flat[:, sl].reshape(len(flat), -1).tolist() for name, sl in parts.items()}
    out = []
    for i in range(len(flat)):
        res = {"image_id": image_ids[i], "category_id": category_ids[i], "score": float(scores[i])}
        for name in parts:
            res[name] = lists[name][i]
        if bboxes is not None and bboxes[i] is not None:
            res["bbox"] = np.asarray(bboxes[i]).tolist()
        out.append(res)
    return out


def load_ann_file(ann_file: str) -> dict:
    """The dataset dict of a COCO annotation file, with a clear error when it is missing."""
    if not os.path.isfile(ann_file):
        raise FileNotFoundError(f"ann_file {ann_file!r} does not exist (the COCO-format ground-truth JSON)")
    with open(ann_file) as f:
        dataset = json.load(f)
    if not isinstance(dataset, dict) or "images" not in dataset:
        raise ValueError(f"ann_file {ann_file!r} is not a COCO annotation file (no 'images')")
    return dataset


def _part_keypoints(ann: dict, fields: Sequence[str]) -> list:
    if len(fields) == 1:
        return ann[fields[0]]
    out: list = []
    for f in fields:
        out = out + list(ann[f])
    return out


def build_gt(dataset: dict, fields: Sequence[str] = ("keypoints",), use_area: bool = True):
    """A pycocotools ``COCO`` of the ground truth, evaluated on the keypoints of ``fields``
    (concatenated), prepared as described in the module docstring."""
    COCO, _ = _pycocotools()
    anns = dataset.get("annotations") or []
    renumber = any(int(a.get("id", 0)) <= 0 for a in anns)
    new_anns = []
    for i, ann in enumerate(anns):
        a = dict(ann)
        try:
            kps = _part_keypoints(ann, fields)
        except KeyError as e:
            raise ValueError(f"ground-truth annotation {ann.get('id')} has no {e} field") from None
        a["keypoints"] = kps
        a["num_keypoints"] = int(np.count_nonzero(np.asarray(kps, dtype=np.float64)[2::3] > 0))
        a["iscrowd"] = int(bool(ann.get("iscrowd", 0)))
        if renumber:
            a["id"] = i + 1
        if not use_area or "area" not in a:
            if "bbox" not in a:
                raise ValueError(f"ground-truth annotation {ann.get('id')} needs 'bbox' when use_area=False or "
                                 "'area' is missing")
            a["area"] = a["bbox"][2] * a["bbox"][3] * 0.53
        new_anns.append(a)
    coco = COCO()
    coco.dataset = {"images": list(dataset.get("images", [])), "categories": list(dataset.get("categories", [])),
                    "annotations": new_anns}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def build_dt(coco_gt, results: Sequence[dict], fields: Sequence[str] = ("keypoints",), score_key: str = "score"):
    """A pycocotools ``COCO`` of keypoint results (as ``loadRes`` builds it), evaluated on
    ``fields`` and ranked by ``score_key`` (``'score'`` where a result lacks it, as xtcocotools);
    detections with no positive score on those keypoints are left out."""
    COCO, _ = _pycocotools()
    img_ids = set(coco_gt.getImgIds())
    missing = {r["image_id"] for r in results} - img_ids
    if missing:
        raise ValueError(f"results refer to images that are not in the ground truth: {sorted(missing)[:10]}")
    anns = []
    if results:
        body = np.asarray([r["keypoints"] for r in results], dtype=np.float64)
        x, y = body[:, 0::3], body[:, 1::3]
        x0, x1, y0, y1 = x.min(1), x.max(1), y.min(1), y.max(1)
        use_bbox = bool(results[0].get("bbox"))  # loadRes picks its branch from the first result
        for i, r in enumerate(results):
            kps = _part_keypoints(r, fields)
            if not np.count_nonzero(np.asarray(kps, dtype=np.float64)[2::3] > 0):
                continue
            a = dict(r)
            a["keypoints"] = kps
            a["score"] = r.get(score_key, r["score"])
            a["id"] = i + 1
            if use_bbox:  # loadRes' 'bbox' branch: the result's own box and its area
                if not r.get("bbox"):
                    raise ValueError("either every result has a 'bbox' or none has (as loadRes reads them)")
                a["area"] = r["bbox"][2] * r["bbox"][3]
                a["iscrowd"] = 0
            else:
                a["area"] = float((x1[i] - x0[i]) * (y1[i] - y0[i]))
                a["bbox"] = [float(x0[i]), float(y0[i]), float(x1[i] - x0[i]), float(y1[i] - y0[i])]
            anns.append(a)
    coco = COCO()
    coco.dataset = {"images": list(coco_gt.dataset["images"]), "categories": list(coco_gt.dataset["categories"]),
                    "annotations": anns}
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def evaluate_keypoints(coco_gt, coco_dt, sigmas: np.ndarray) -> tuple[np.ndarray, str]:
    """pycocotools COCOeval (iouType 'keypoints') with the given OKS sigmas; returns (stats[10], the
    printed summary)."""
    _, COCOeval = _pycocotools()
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        coco_eval = COCOeval(coco_gt, coco_dt, "keypoints")
        coco_eval.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=np.float64)
        coco_eval.params.useSegm = None
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    return coco_eval.stats, buf.getvalue()
