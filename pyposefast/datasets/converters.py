"""Converters into the JSON formats MMPose reads: MPII's official ``.mat`` release -> MMPose's MPII
JSON -> COCO-style keypoint JSON.

MPII's release (``mpii_human_pose_v1_u12_1.mat``) holds ``RELEASE.annolist[i]`` (``image.name``,
``annorect[j]`` with the head box ``x1, y1, x2, y2``, ``scale``, ``objpos.x / .y`` and
``annopoints.point[k]`` (``id`` 0-15, ``x``, ``y``, ``is_visible``)) and ``RELEASE.img_train[i]``.
MMPose's JSON (``mpii_train.json``, from HRNet's preparation) has one entry per annotated person:
``image``, ``center`` [x, y], ``scale``, ``joints`` [16, 2] (-1 where not annotated) and
``joints_vis`` [16] (1 where annotated), in MATLAB's 1-based pixels (MMPose's ``MpiiDataset`` moves
the centre by -1); this converter adds the ``headbox`` [x1, y1, x2, y2] that PCKh needs (read by
:func:`pyposefast.datasets.load_mpii` when no ``.mat`` head-box file is given).

scipy is needed to read ``.mat`` files (an optional dependency).
"""

from __future__ import annotations

import json
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .errors import AnnotationError

__all__ = ["mpii_mat_to_mmpose_json", "mpii_json_to_coco", "mpii_mat_to_coco"]

MPII_NUM_KEYPOINTS = 16


def _loadmat(mat_file: str):
    try:
        from scipy.io import loadmat
    except ImportError:
        raise ImportError("converting MPII .mat annotations needs scipy (pip install scipy)") from None
    if not os.path.isfile(mat_file):
        raise AnnotationError(mat_file, None, "file does not exist")
    try:
        return loadmat(mat_file, struct_as_record=False, squeeze_me=True)
    except Exception as e:  # scipy raises several types for a bad file
        raise AnnotationError(mat_file, None, f"not a readable .mat file ({e})") from None


def _items(value: Any) -> List[Any]:
    """A MATLAB struct array / cell / scalar struct (squeezed by loadmat) as a list."""
    if value is None:
        return []
    if isinstance(value, np.ndarray):
        return list(value.reshape(-1)) if value.size else []
    return [value]


def _field(obj: Any, name: str, default: Any = None) -> Any:
    return getattr(obj, name, default) if not isinstance(obj, np.ndarray) else default


def _number(obj: Any, name: str) -> float:
    v = _field(obj, name)
    if isinstance(v, np.ndarray):
        if v.size != 1:
            raise ValueError(f"'{name}' must be a number")
        v = v.reshape(-1)[0]
    if v is None or isinstance(v, (str, bytes)):
        raise ValueError(f"missing '{name}'")
    f = float(v)
    if not np.isfinite(f):
        raise ValueError(f"'{name}' must be finite")
    return f


def _person(rect: Any) -> Optional[Dict[str, Any]]:
    """One ``annorect`` -> an MMPose MPII entry (without ``image``); None when it has no keypoints."""
    points = _items(_field(_field(rect, "annopoints"), "point"))
    if not points:
        return None
    joints = [[-1.0, -1.0] for _ in range(MPII_NUM_KEYPOINTS)]
    vis = [0] * MPII_NUM_KEYPOINTS
    for p in points:
        k = int(_number(p, "id"))
        if not 0 <= k < MPII_NUM_KEYPOINTS:
            raise ValueError(f"keypoint id {k} is not in [0, {MPII_NUM_KEYPOINTS})")
        joints[k] = [_number(p, "x"), _number(p, "y")]
        vis[k] = 1
    objpos = _field(rect, "objpos")
    entry = {"center": [_number(objpos, "x"), _number(objpos, "y")], "scale": _number(rect, "scale"),
             "joints": joints, "joints_vis": vis}
    if all(hasattr(rect, k) for k in ("x1", "y1", "x2", "y2")):
        entry["headbox"] = [_number(rect, k) for k in ("x1", "y1", "x2", "y2")]
    return entry


def mpii_mat_to_mmpose_json(mat_file: str, out_file: Optional[str] = None, *, split: str = "train",
                            skip_bad: bool = False) -> List[Dict[str, Any]]:
    """MPII's official ``.mat`` release -> MMPose's MPII JSON entries (one per annotated person).

    Args:
        mat_file (str): ``mpii_human_pose_v1_u12_1.mat`` (a ``RELEASE`` struct).
        out_file (str, optional): where to write the JSON list.
        split (str): ``'train'`` (images with ``img_train == 1``, MMPose's train + val pool),
            ``'test'`` (``img_train == 0``; MPII's test people have no keypoints, so usually empty)
            or ``'all'``. MMPose's ``mpii_val.json`` is Tompson's subset of the train images:
            filter the result by image name to reproduce it.
        skip_bad (bool): skip malformed people instead of raising.

    Returns:
        list[dict]: entries with ``image``, ``center`` [2], ``scale``, ``joints`` [16, 2],
        ``joints_vis`` [16] and ``headbox`` [4] (when the person has a head box).

    Raises:
        ImportError: no scipy. AnnotationError: a missing / malformed file or person
        (``annolist[i].annorect[j]``), naming the file and the record.
    """
    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    mat = _loadmat(mat_file)
    release = mat.get("RELEASE")
    annolist = _items(_field(release, "annolist")) if release is not None else []
    if release is None or not annolist:
        raise AnnotationError(mat_file, None, "needs a 'RELEASE' struct with 'annolist' (MPII's release format)")
    img_train = np.asarray(_field(release, "img_train", np.ones(len(annolist)))).reshape(-1)
    if img_train.shape[0] != len(annolist):
        raise AnnotationError(mat_file, None, f"'img_train' has {img_train.shape[0]} flags for "
                                              f"{len(annolist)} images")
    entries: List[Dict[str, Any]] = []
    for i, anno in enumerate(annolist):
        if split != "all" and bool(img_train[i]) != (split == "train"):
            continue
        name = _field(_field(anno, "image"), "name")
        if not isinstance(name, str) or not name:
            err = AnnotationError(mat_file, f"annolist[{i}]", "missing 'image.name'")
            if skip_bad:
                continue
            raise err
        for j, rect in enumerate(_items(_field(anno, "annorect"))):
            try:
                person = _person(rect)
            except (ValueError, TypeError) as e:
                if skip_bad:
                    continue
                raise AnnotationError(mat_file, f"annolist[{i}].annorect[{j}] (image {name})", str(e)) from None
            if person is not None:
                entries.append({"image": name, **person})
    if out_file:
        with open(out_file, "w", encoding="utf-8") as f:
            json.dump(entries, f)
    return entries


def _image_size(name: str, image_root: Optional[str], image_sizes: Optional[Dict[str, Tuple[int, int]]]):
    if image_sizes is not None and name in image_sizes:
        w, h = image_sizes[name]
        return int(w), int(h)
    if image_root is None:
        raise ValueError(f"no size for image {name}: pass image_sizes or image_root")
    import cv2

    img = cv2.imread(os.path.join(image_root, name), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f"cannot read image {os.path.join(image_root, name)} for its size")
    return int(img.shape[1]), int(img.shape[0])


def mpii_json_to_coco(entries: Union[str, Sequence[Dict[str, Any]]], out_file: Optional[str] = None, *,
                      image_root: Optional[str] = None,
                      image_sizes: Optional[Dict[str, Tuple[int, int]]] = None) -> Dict[str, Any]:
    """MMPose's MPII JSON -> a COCO-style keypoint file (16 keypoints, category ``person``).

    Boxes are MMPose's (``MpiiDataset``: square ``scale * 200``, centre 15 px-at-scale-1 down and
    -1 to 0-based) as (x, y, w, h); keypoints are ``joints - 1`` (0-based pixels) with v = 2 where
    annotated, (0, 0, 0) elsewhere; ``num_keypoints`` counts the annotated ones; ``area`` is
    MMPose's ``w * h * 0.53``; the image id is the file stem (MPII's names are numeric).

    Args:
        entries (str or list[dict]): the JSON file or its entries.
        out_file (str, optional): where to write the COCO JSON.
        image_root (str, optional): image folder, to read sizes not in ``image_sizes``.
        image_sizes (dict, optional): ``file name -> (width, height)``.

    Returns:
        dict: ``images``, ``annotations``, ``categories``.

    Raises:
        AnnotationError: a malformed entry or an image without a size, naming the entry.
    """
    from .metainfo import dataset_meta
    from .mpii import _parse_entry

    source = entries if isinstance(entries, str) else "<entries>"
    if isinstance(entries, str):
        from .coco import read_json

        entries = read_json(entries)
        if not isinstance(entries, list):
            raise AnnotationError(source, None, "expected a JSON list of MPII entries")
    meta = dataset_meta("mpii")
    names = [meta["keypoint_id2name"][k] for k in range(meta["num_keypoints"])]
    skeleton = [[int(a) + 1, int(b) + 1] for a, b in meta["skeleton_links"]]
    images: Dict[int, Dict[str, Any]] = {}
    annotations: List[Dict[str, Any]] = []
    for i, ann in enumerate(entries):
        where = f"[{i}]" + (f" (image={ann['image']})" if isinstance(ann, dict) and "image" in ann else "")
        try:
            rec = _parse_entry(ann, "", MPII_NUM_KEYPOINTS)
            if rec["img_id"] not in images:
                w, h = _image_size(ann["image"], image_root, image_sizes)
                images[rec["img_id"]] = {"id": rec["img_id"], "file_name": ann["image"], "width": w, "height": h}
        except ValueError as e:
            raise AnnotationError(source, where, str(e)) from None
        x1, y1, x2, y2 = (float(v) for v in rec["bbox"][0])
        vis = np.asarray(ann["joints_vis"]) > 0
        kp = np.asarray(ann["joints"], dtype=np.float64) - 1.0
        triples = np.concatenate([np.where(vis[:, None], kp, 0.0), np.where(vis, 2.0, 0.0)[:, None]], 1)
        annotations.append({
            "id": i + 1, "image_id": rec["img_id"], "category_id": 1, "iscrowd": 0,
            "bbox": [x1, y1, x2 - x1, y2 - y1], "area": float(rec["area"][0]),
            "keypoints": [round(float(v), 3) for v in triples.reshape(-1)], "num_keypoints": int(vis.sum()),
            "mpii_scale": float(ann["scale"]), "mpii_center": [float(v) for v in ann["center"]],
            **({"headbox": [float(v) for v in ann["headbox"]]} if "headbox" in ann else {}),
        })
    coco = {"images": list(images.values()), "annotations": annotations,
            "categories": [{"id": 1, "name": "person", "supercategory": "person", "keypoints": names,
                            "skeleton": skeleton}]}
    if out_file:
        with open(out_file, "w", encoding="utf-8") as f:
            json.dump(coco, f)
    return coco


def mpii_mat_to_coco(mat_file: str, out_file: Optional[str] = None, *, split: str = "train",
                     image_root: Optional[str] = None, image_sizes: Optional[Dict[str, Tuple[int, int]]] = None,
                     skip_bad: bool = False) -> Dict[str, Any]:
    """MPII's ``.mat`` release straight to COCO-style JSON (:func:`mpii_mat_to_mmpose_json` then
    :func:`mpii_json_to_coco`); arguments as theirs."""
    entries = mpii_mat_to_mmpose_json(mat_file, split=split, skip_bad=skip_bad)
    return mpii_json_to_coco(entries, out_file, image_root=image_root, image_sizes=image_sizes)
