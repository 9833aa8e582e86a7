"""MPII annotations as MMPose 1.x reads them (``MpiiDataset``): a JSON list plus, for PCKh, the head
boxes of the official ``mpii_gt_val.mat``.

Each JSON entry: ``image`` (file name, its stem the image id), ``center`` [2] and ``scale`` (MPII's
person centre and scale, in units of 200 px), ``joints`` [16, 2] and ``joints_vis`` [16]. MMPose
turns the centre and scale into a box: ``scale *= 200`` (square), the centre moves 15 px-at-scale-1
down (``c_y += 15 / 200 * s``) unless ``c_x == -1``, both coordinates shift by -1 (MATLAB to 0-based),
and ``bbox = (c - s/2, c + s/2)``. Head sizes for PCKh are ``0.6 * ||head_br - head_tl||`` from
``headboxes_src`` [2, 2, N] of the ``.mat`` (one column per JSON entry, in file order).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

import numpy as np

from .coco import CocoKeypoints, _is_number, read_json
from .errors import AnnotationError, BadRecords

__all__ = ["load_mpii", "load_mpii_headboxes", "MPII_PIXEL_STD", "MPII_HEAD_SIZE_FACTOR"]

#: MPII's scale unit (pixels)
MPII_PIXEL_STD = 200.0
#: PCKh's head size is this times the head box diagonal (MMPose's ``SC_BIAS``)
MPII_HEAD_SIZE_FACTOR = 0.6


def load_mpii_headboxes(headbox_file: str) -> np.ndarray:
    """The head boxes of MPII's ground-truth ``.mat`` (``headboxes_src`` [2, 2, N]).

    Returns:
        ndarray[N, 2, 2] float64: per instance (top-left, bottom-right) (x, y).

    Raises:
        ImportError: scipy is not installed. AnnotationError: a missing or malformed file.
    """
    try:
        from scipy.io import loadmat
    except ImportError:
        raise ImportError("reading MPII head boxes (.mat) needs scipy (pip install scipy)") from None
    if not os.path.isfile(headbox_file):
        raise AnnotationError(headbox_file, None, "file does not exist")
    try:
        mat = loadmat(headbox_file)
    except Exception as e:  # scipy raises several types for a bad file
        raise AnnotationError(headbox_file, None, f"not a readable .mat file ({e})") from None
    boxes = mat.get("headboxes_src")
    if boxes is None or np.ndim(boxes) != 3 or boxes.shape[:2] != (2, 2):
        raise AnnotationError(headbox_file, None, "needs 'headboxes_src' of shape [2, 2, N], got "
                                                  f"{None if boxes is None else np.shape(boxes)}")
    return np.transpose(np.asarray(boxes, dtype=np.float64), (2, 0, 1))


def _parse_entry(ann: Any, img_prefix: str, num_keypoints: int) -> Dict[str, Any]:
    if not isinstance(ann, dict):
        raise ValueError("not an object")
    for key in ("image", "center", "scale", "joints", "joints_vis"):
        if key not in ann:
            raise ValueError(f"missing '{key}'")
    image = ann["image"]
    stem = os.path.splitext(str(image))[0].split(".")[0]
    if not stem.isdigit():
        raise ValueError(f"image {image!r}: the file stem must be the numeric image id")
    c = ann["center"]
    if not isinstance(c, (list, tuple)) or len(c) != 2 or not all(_is_number(v) for v in c):
        raise ValueError(f"center must be 2 finite numbers, got {c!r}")
    if not _is_number(ann["scale"]) or ann["scale"] <= 0:
        raise ValueError(f"scale must be a positive number, got {ann['scale']!r}")
    joints = np.asarray(ann["joints"], dtype=object)
    if joints.shape != (num_keypoints, 2) or not all(_is_number(v) for v in joints.ravel()):
        raise ValueError(f"joints must be [{num_keypoints}, 2] numbers, got shape {joints.shape}")
    vis = ann["joints_vis"]
    if not isinstance(vis, (list, tuple)) or len(vis) != num_keypoints or not all(_is_number(v) for v in vis):
        raise ValueError(f"joints_vis must be {num_keypoints} numbers")

    center = np.array(c, dtype=np.float32)
    scale = np.array([ann["scale"], ann["scale"]], dtype=np.float32) * MPII_PIXEL_STD
    if center[0] != -1:
        center[1] = center[1] + 15.0 / MPII_PIXEL_STD * scale[1]
    center = (center - 1).reshape(1, 2)
    scale = scale.reshape(1, 2)
    bbox = np.concatenate([center - scale * 0.5, center + scale * 0.5], axis=1)
    x1, y1, x2, y2 = bbox[0]
    return {
        "img_id": int(stem),
        "img_path": os.path.join(img_prefix, image),
        "bbox_center": center,
        "bbox_scale": scale,
        "bbox": bbox,
        "bbox_score": np.ones(1, dtype=np.float32),
        "keypoints": np.array(ann["joints"], dtype=np.float32).reshape(1, -1, 2),
        "keypoints_visible": np.minimum(1, np.array(vis, dtype=np.float32)).reshape(1, -1),
        "area": np.clip(np.array([(x2 - x1) * (y2 - y1) * 0.53], dtype=np.float32), 1.0, None),
        "category_id": ann.get("category_id", [1]),
    }


def load_mpii(ann_file: str, img_prefix: str = "", *, headbox_file: Optional[str] = None,
              num_keypoints: int = 16, check_images: bool = False, skip_bad: bool = False) -> CocoKeypoints:
    """Read MMPose's MPII JSON (``mpii_train.json`` / ``mpii_val.json``) into top-down records.

    Records carry MMPose's ``MpiiDataset`` fields: ``id`` (running), ``img_id``, ``img_path``,
    ``bbox_center`` / ``bbox_scale`` [1, 2] float32, ``bbox`` [1, 4] float32 (x1, y1, x2, y2),
    ``bbox_score`` [1], ``keypoints`` [1, K, 2] float32, ``keypoints_visible`` [1, K] float32,
    ``area`` [1], ``category_id``, and with ``headbox_file`` ``head_size`` [1, 1] float64 (PCKh).

    Args:
        ann_file (str): the JSON list.
        img_prefix (str): the image folder.
        headbox_file (str, optional): ``mpii_gt_val.mat`` (needs scipy); one head box per entry.
        num_keypoints (int): K. Defaults to 16.
        check_images (bool): an entry whose image file is missing is bad. Defaults to False.
        skip_bad (bool): skip and count bad entries (``.skipped``) instead of raising.

    Returns:
        CocoKeypoints: ``records`` and ``images`` (one per distinct image id, first-seen order).

    Raises:
        AnnotationError: a missing or malformed file, an entry that is not MPII's, a head-box count
            that differs from the entries' (naming the file and the entry ``[i] (image=...)``).
    """
    data = read_json(ann_file)
    if not isinstance(data, list):
        raise AnnotationError(ann_file, None, f"expected a JSON list of MPII entries, got {type(data).__name__}")
    headboxes = None
    if headbox_file:
        headboxes = load_mpii_headboxes(headbox_file)
        if len(headboxes) != len(data):
            raise AnnotationError(headbox_file, None, f"has {len(headboxes)} head boxes but {ann_file} has "
                                                      f"{len(data)} entries (one each, in order)")
    bad = BadRecords(skip_bad)
    records: List[Dict[str, Any]] = []
    images: Dict[int, Dict[str, Any]] = {}
    for i, ann in enumerate(data):
        name = f"[{i}]" + (f" (image={ann['image']})" if isinstance(ann, dict) and "image" in ann else "")
        try:
            rec = _parse_entry(ann, img_prefix, num_keypoints)
        except ValueError as e:
            bad(AnnotationError(ann_file, name, str(e)))
            continue
        if check_images and not os.path.isfile(rec["img_path"]):
            bad(AnnotationError(ann_file, name, f"image file {rec['img_path']} does not exist"))
            continue
        rec["id"] = i
        box = headboxes[i] if headboxes is not None else ann.get("headbox")
        if box is not None:
            try:
                box = np.asarray(box, dtype=np.float64).reshape(2, 2)  # (x1, y1), (x2, y2)
            except (TypeError, ValueError):
                box = np.full((2, 2), np.nan)
            if not np.isfinite(box).all():
                bad(AnnotationError(ann_file, name, f"headbox must be 4 finite numbers, got {ann.get('headbox')!r}"))
                continue
            rec["head_size"] = (np.linalg.norm(box[1] - box[0], axis=0) * MPII_HEAD_SIZE_FACTOR).reshape(1, -1)
        images.setdefault(rec["img_id"], {"img_id": rec["img_id"], "img_path": rec["img_path"]})
        records.append(rec)
    return CocoKeypoints(ann_file, records, list(images.values()), [], bad.errors)
