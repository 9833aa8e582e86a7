"""COCO-style keypoint annotations (JSON) and detection-box files, read the way MMPose 1.x reads them.

Most MMPose datasets ship COCO-style keypoint JSON: ``images`` (``id``, ``file_name``, ``width``,
``height``), ``annotations`` (``id``, ``image_id``, ``category_id``, ``bbox`` as (x, y, w, h),
``keypoints`` as K (x, y, v) triples with v in {0, 1, 2}, ``num_keypoints``, ``area``,
``iscrowd``, ``segmentation``) and ``categories``.

Records follow MMPose's ``BaseCocoStyleDataset``: ``bbox`` [1, 4] float32 (x1, y1, x2, y2)
clipped to ``[0, W-1] x [0, H-1]``; ``keypoints`` [1, K, 2] float32 (x, y) in image pixels;
``keypoints_visible`` [1, K] float32 = ``min(1, v)``; ``bbox_score`` [1]; ``area``; ``iscrowd``;
``num_keypoints`` (the annotation's, else the count of non-zero keypoints). Each record also has
``img_shape`` (H, W) from the annotation, so the batch pipeline needs no decoded image to flip.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from .errors import AnnotationError, BadRecords

__all__ = ["CocoKeypoints", "load_coco_keypoints", "load_detection_boxes", "is_valid_instance",
           "invalid_region_mask", "read_json"]


def read_json(path: str) -> Any:
    """``json.load`` with an :class:`AnnotationError` naming the file for a missing or bad file."""
    if not os.path.isfile(path):
        raise AnnotationError(path, None, "file does not exist")
    try:
        with open(path, "r", encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AnnotationError(path, None, f"not valid JSON ({e})") from None


@dataclass
class CocoKeypoints:
    """A COCO-style keypoint file, read.

    Attributes:
        ann_file (str): the file.
        records (list[dict]): top-down: one per person instance; bottom-up: one per image.
        images (list[dict]): the ``images`` entries, with ``img_id`` and ``img_path`` added.
        categories (list[dict]): the ``categories`` entries.
        skipped (list[AnnotationError]): bad records skipped (``skip_bad=True``).
    """

    ann_file: str
    records: List[Dict[str, Any]]
    images: List[Dict[str, Any]]
    categories: List[Dict[str, Any]]
    skipped: List[AnnotationError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> Dict[str, Any]:
        return self.records[i]


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def _check_image(path: str, i: int, img: Any) -> str:
    rec = f"images[{i}]"
    if not isinstance(img, dict):
        return f"{rec}: not an object"
    for key in ("id", "file_name", "width", "height"):
        if key not in img:
            return f"{rec}: missing '{key}'"
    if not (_is_number(img["width"]) and _is_number(img["height"])) or img["width"] <= 0 or img["height"] <= 0:
        return f"{rec} (id={img['id']}): width/height must be positive numbers"
    return ""


def is_valid_instance(rec: Dict[str, Any]) -> bool:
    """MMPose's ``_is_valid_instance``: not crowd, ``num_keypoints > 0``, a box of positive size and
    some keypoint coordinate above 0."""
    if rec.get("iscrowd", 0):
        return False
    if "num_keypoints" in rec and rec["num_keypoints"] == 0:
        return False
    box = rec["bbox"][0]
    if box[2] - box[0] <= 0 or box[3] - box[1] <= 0:
        return False
    return bool(np.max(rec["keypoints"]) > 0)


def _parse_instance(ann: Dict[str, Any], img: Dict[str, Any], num_keypoints: Optional[int]) -> Dict[str, Any]:
    """One annotation -> MMPose's instance record; raises ValueError with the reason."""
    for key in ("id", "bbox", "keypoints"):
        if key not in ann:
            raise ValueError(f"missing '{key}'")
    bbox = ann["bbox"]
    if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
        raise ValueError(f"bbox must be 4 finite numbers (x, y, w, h), got {bbox!r}")
    kps = ann["keypoints"]
    if not isinstance(kps, (list, tuple)) or len(kps) % 3 or not all(_is_number(v) for v in kps):
        raise ValueError("keypoints must be a flat list of (x, y, v) numbers, length a multiple of 3")
    if num_keypoints is not None and len(kps) != 3 * num_keypoints:
        raise ValueError(f"has {len(kps) // 3} keypoints, the dataset has {num_keypoints}")
    img_w, img_h = img["width"], img["height"]
    x, y, w, h = bbox
    x1, y1 = np.clip(x, 0, img_w - 1), np.clip(y, 0, img_h - 1)
    x2, y2 = np.clip(x + w, 0, img_w - 1), np.clip(y + h, 0, img_h - 1)
    box = np.array([x1, y1, x2, y2], dtype=np.float32).reshape(1, 4)
    raw = np.array(kps, dtype=np.float32).reshape(1, -1, 3)
    keypoints = raw[..., :2]
    visible = np.minimum(1, raw[..., 2])
    num = ann["num_keypoints"] if "num_keypoints" in ann else int(np.count_nonzero(keypoints.max(axis=2)))
    if "area" in ann:
        area = np.array(ann["area"], dtype=np.float32)
    else:
        area = np.array(np.clip((x2 - x1) * (y2 - y1) * 0.53, a_min=1.0, a_max=None), dtype=np.float32)
    rec = {
        "img_id": ann["image_id"],
        "img_path": img["img_path"],
        "img_shape": (int(img_h), int(img_w)),
        "bbox": box,
        "bbox_score": np.ones(1, dtype=np.float32),
        "num_keypoints": num,
        "keypoints": keypoints,
        "keypoints_visible": visible,
        "area": area,
        "iscrowd": ann.get("iscrowd", 0),
        "segmentation": ann.get("segmentation", None),
        "id": ann["id"],
        "category_id": np.array(ann.get("category_id", 1)),
        "raw_ann_info": ann,
    }
    if "crowdIndex" in img:
        rec["crowd_index"] = img["crowdIndex"]
    return rec


def _load_index(ann_file: str, img_prefix: str, bad: BadRecords, check_images: bool):
    data = read_json(ann_file)
    if not isinstance(data, dict):
        raise AnnotationError(ann_file, None, f"expected a JSON object with 'images' and 'annotations', "
                                              f"got {type(data).__name__}")
    for key in ("images", "annotations"):
        if not isinstance(data.get(key), list):
            raise AnnotationError(ann_file, None, f"'{key}' is missing or not a list")
    images: Dict[Any, Dict[str, Any]] = {}
    for i, img in enumerate(data["images"]):
        msg = _check_image(ann_file, i, img)
        if not msg:
            img = dict(img, img_id=img["id"], img_path=os.path.join(img_prefix, img["file_name"]))
            if check_images and not os.path.isfile(img["img_path"]):
                msg = f"images[{i}] (id={img['id']}): image file {img['img_path']} does not exist"
        if msg:
            rec, _, reason = msg.partition(": ")
            bad(AnnotationError(ann_file, rec, reason))
            continue
        images[img["id"]] = img
    return data, images


def load_coco_keypoints(
    ann_file: str,
    img_prefix: str = "",
    mode: str = "topdown",
    *,
    num_keypoints: Optional[int] = None,
    filter_invalid: bool = True,
    include_empty_images: bool = False,
    check_images: bool = False,
    skip_bad: bool = False,
    sample_interval: int = 1,
) -> CocoKeypoints:
    """Read a COCO-style keypoint file into MMPose-style records.

    Args:
        ann_file (str): the JSON file.
        img_prefix (str): folder the ``file_name`` entries are relative to.
        mode (str): ``'topdown'`` (one record per person instance) or ``'bottomup'`` (one record per
            image: its instances' fields concatenated along the instance axis, plus
            ``invalid_segs``, the segmentations of crowd and keypoint-less instances, for
            :func:`invalid_region_mask`).
        num_keypoints (int, optional): K of the dataset; records with another K are bad.
        filter_invalid (bool): top-down: drop crowd instances and instances without keypoints
            (MMPose's ``_is_valid_instance``). Defaults to True.
        include_empty_images (bool): bottom-up: also yield images without instances (MMPose's test
            mode). Defaults to False.
        check_images (bool): a record whose image file does not exist is bad. Defaults to False.
        skip_bad (bool): skip and count bad records (``CocoKeypoints.skipped``) instead of raising.
        sample_interval (int): keep images whose id is a multiple of this. Defaults to 1.

    Returns:
        CocoKeypoints: the records, images and categories.

    Raises:
        AnnotationError: a missing or malformed file; with ``skip_bad=False`` also a bad record
            (malformed fields, an ``image_id`` not in ``images``, a missing image file), naming the
            file and the record.
    """
    if mode not in ("topdown", "bottomup"):
        raise ValueError(f"mode must be 'topdown' or 'bottomup', got {mode!r}")
    bad = BadRecords(skip_bad)
    data, images = _load_index(ann_file, img_prefix, bad, check_images)
    by_image: Dict[Any, List[Dict[str, Any]]] = {img_id: [] for img_id in images}
    for i, ann in enumerate(data["annotations"]):
        rec_name = f"annotations[{i}]" + (f" (id={ann['id']})" if isinstance(ann, dict) and "id" in ann else "")
        if not isinstance(ann, dict):
            bad(AnnotationError(ann_file, rec_name, "not an object"))
            continue
        if "image_id" not in ann:
            bad(AnnotationError(ann_file, rec_name, "missing 'image_id'"))
            continue
        img = images.get(ann["image_id"])
        if img is None:
            bad(AnnotationError(ann_file, rec_name, f"image_id {ann['image_id']!r} is not in 'images'"))
            continue
        if "bbox" not in ann or "keypoints" not in ann:  # MMPose drops these silently
            continue
        try:
            rec = _parse_instance(ann, img, num_keypoints)
        except ValueError as e:
            bad(AnnotationError(ann_file, rec_name, str(e)))
            continue
        by_image[ann["image_id"]].append(rec)

    # file order, as pycocotools' getImgIds
    image_list = [img for img_id, img in images.items() if not (isinstance(img_id, int) and img_id % sample_interval)]
    records: List[Dict[str, Any]] = []
    for img in image_list:
        instances = by_image[img["img_id"]]
        if mode == "topdown":
            records.extend(r for r in instances if not filter_invalid or is_valid_instance(r))
        elif instances:
            records.append(_bottomup_record(instances))
        elif include_empty_images:
            records.append({"img_id": img["img_id"], "img_path": img["img_path"],
                            "img_shape": (int(img["height"]), int(img["width"])), "id": [], "raw_ann_info": None,
                            "invalid_segs": []})
    cats = data.get("categories", [])
    return CocoKeypoints(ann_file, records, image_list, cats if isinstance(cats, list) else [], bad.errors)


def _bottomup_record(instances: List[Dict[str, Any]]) -> Dict[str, Any]:
    """MMPose's bottom-up grouping of one image's instance records."""
    first = instances[0]
    out: Dict[str, Any] = {"img_id": first["img_id"], "img_path": first["img_path"], "img_shape": first["img_shape"]}
    for key in first:
        if key in out:
            continue
        seq = [d[key] for d in instances]
        if isinstance(seq[0], np.ndarray):
            seq = np.concatenate(seq, axis=0) if seq[0].ndim > 0 else np.stack(seq, axis=0)
        elif isinstance(seq[0], (tuple, list)):
            seq = list(chain.from_iterable(seq))
        out[key] = seq
    out["invalid_segs"] = [d["segmentation"] for d in instances
                           if not is_valid_instance(d) and d.get("segmentation") is not None]
    return out


def invalid_region_mask(invalid_segs: Sequence[Any], img_shape: Sequence[int]) -> np.ndarray:
    """The mask of regions to ignore in bottom-up training (crowds, people without keypoints).

    Polygons (lists) are rasterised as MMPose's ``BottomupGetHeatmapMask`` does; RLE dicts
    (COCO's crowd regions) are decoded too (MMPose skips them).

    Args:
        invalid_segs (list): COCO segmentations (polygon lists or RLE dicts).
        img_shape (tuple[int, int]): (H, W).

    Returns:
        ndarray[H, W] uint8: 1 inside an invalid region. (MMPose's heatmap mask is ``1 - this``.)
    """
    from pycocotools import mask as cocomask

    h, w = int(img_shape[0]), int(img_shape[1])
    rles = []
    for seg in invalid_segs:
        if isinstance(seg, (list, tuple)):
            if not seg:
                continue
            rle = cocomask.frPyObjects(seg, h, w)
            rles.extend(rle if isinstance(rle, list) else [rle])
        elif isinstance(seg, dict) and "counts" in seg:
            rles.append(cocomask.frPyObjects(seg, h, w) if isinstance(seg["counts"], list) else seg)
    if not rles:
        return np.zeros((h, w), dtype=np.uint8)
    return cocomask.decode(cocomask.merge(rles))


def load_detection_boxes(
    bbox_file: str,
    ann_file: str,
    num_keypoints: int,
    img_prefix: str = "",
    *,
    category_id: int = 1,
    score_thr: Optional[float] = None,
    skip_bad: bool = False,
) -> CocoKeypoints:
    """Top-down records from detected boxes (a COCO results JSON: a list of ``image_id``,
    ``category_id``, ``bbox`` (x, y, w, h), ``score``), as MMPose's ``_load_detection_results``.

    Only ``category_id`` boxes are kept (people: 1); keypoints are dummies (zeros, all visible);
    ``bbox`` is xyxy float32 [1, 4] (not clipped), ``bbox_score`` [1], ``id`` a running index.

    Args:
        bbox_file (str): the detections.
        ann_file (str): the COCO keypoint file whose ``images`` the detections refer to.
        num_keypoints (int): K for the dummy keypoints.
        img_prefix (str): image folder.
        category_id (int): the category kept. Defaults to 1.
        score_thr (float, optional): drop boxes scoring below (MMPose's ``bbox_score_thr``).
        skip_bad (bool): skip and count bad entries instead of raising.

    Raises:
        AnnotationError: a malformed file or entry, or an ``image_id`` not in ``ann_file``.
    """
    bad = BadRecords(skip_bad)
    dets = read_json(bbox_file)
    if not isinstance(dets, list):
        raise AnnotationError(bbox_file, None, f"expected a list of detections, got {type(dets).__name__}")
    data, images = _load_index(ann_file, img_prefix, bad, False)
    records = []
    for i, det in enumerate(dets):
        name = f"[{i}]"
        if not isinstance(det, dict) or not all(k in det for k in ("image_id", "bbox", "score")):
            bad(AnnotationError(bbox_file, name, "a detection needs 'image_id', 'bbox' and 'score'"))
            continue
        if det.get("category_id", category_id) != category_id:
            continue
        img = images.get(det["image_id"])
        if img is None:
            bad(AnnotationError(bbox_file, name, f"image_id {det['image_id']!r} is not in {ann_file}"))
            continue
        b = det["bbox"]
        if not isinstance(b, (list, tuple)) or len(b) < 4 or not all(_is_number(v) for v in b[:4]):
            bad(AnnotationError(bbox_file, name, f"bbox must be 4 finite numbers (x, y, w, h), got {b!r}"))
            continue
        if not _is_number(det["score"]):
            bad(AnnotationError(bbox_file, name, f"score must be a number, got {det['score']!r}"))
            continue
        if score_thr is not None and det["score"] < score_thr:
            continue
        x, y, w, h = (float(v) for v in b[:4])
        records.append({
            "img_id": det["image_id"],
            "img_path": img["img_path"],
            "img_shape": (int(img["height"]), int(img["width"])),
            "bbox": np.array([[x, y, x + w, y + h]], dtype=np.float32),
            "bbox_score": np.array([det["score"]], dtype=np.float32),
            "keypoints": np.zeros((1, num_keypoints, 2), dtype=np.float32),
            "keypoints_visible": np.ones((1, num_keypoints), dtype=np.float32),
            "id": len(records),
        })
    return CocoKeypoints(bbox_file, records, list(images.values()), data.get("categories", []), bad.errors)
