"""Human3.6M's preprocessed ``.npz`` as MMPose 1.x's ``Human36mDataset`` reads it (for the 3D lifter).

The file holds per frame: ``imgname`` [F] (``S1_Directions_1.54138969_000001.jpg``: subject, action,
camera, frame), ``S`` [F, K, 4] (3D joints + visibility), ``part`` [F, K, 3] (2D joints +
visibility), ``center`` [F, 2] and ``scale`` [F]. Frames group into videos by (subject, action,
camera), sorted by that key; each video is cut into windows of ``seq_len`` frames ``seq_step``
apart. Without padding a window lies wholly inside its video; with ``pad_video_seq`` every frame is
a target (the last one of its window when ``causal``, else the middle one) and the window is padded
with the video's first / last frame where it runs past an end. With ``multiple_target`` (``seq_len``
1) consecutive chunks of that many frames form one sample, every frame a target. ``load_h36m(..., compact=True)`` gives the same samples
as :class:`H36mSequences` (2D keypoints once per frame and a window table instead of one copy per
window: what 243-frame windows over the 1.5 M frames of Human3.6M need).
"""

from __future__ import annotations

import os
import pickle
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from .coco import CocoKeypoints
from .errors import AnnotationError

__all__ = ["load_h36m", "parse_h36m_imgname", "h36m_sequence_indices", "h36m_window_table", "H36mSequences"]


def parse_h36m_imgname(imgname: str) -> Tuple[str, str, str]:
    """``'S1_Directions_1.54138969_000001.jpg'`` -> ``('S1', 'Directions_1', '54138969')``
    (subject, action, camera), as MMPose's ``_parse_h36m_imgname``.

    Raises:
        ValueError: a name not of that form.
    """
    try:
        subj, rest = os.path.basename(str(imgname)).split("_", 1)
        action, rest = rest.split(".", 1)
        camera, rest = rest.split("_", 1)
    except ValueError:
        raise ValueError(f"image name {imgname!r} is not '<subject>_<action>.<camera>_<frame>.jpg'") from None
    return subj, action, camera


def _videos(imgnames: Sequence[str], seq_len: int, seq_step: int, multiple_target: int,
            multiple_target_step: int) -> Tuple[Dict[Tuple[str, str, str], List[int]], int]:
    """The window arguments checked, and the frame indices of each (subject, action, camera) video
    in ``imgnames`` order; returns them with the effective ``multiple_target_step``."""
    if seq_len < 1 or seq_step < 1:
        raise ValueError(f"seq_len and seq_step must be >= 1, got {seq_len}, {seq_step}")
    if multiple_target and seq_len != 1:
        raise ValueError("multiple_target needs seq_len == 1 (as MMPose)")
    if multiple_target > 0 and multiple_target_step == 0:
        multiple_target_step = multiple_target
    videos: Dict[Tuple[str, str, str], List[int]] = defaultdict(list)
    for idx, name in enumerate(imgnames):
        videos[parse_h36m_imgname(name)].append(idx)
    return videos, multiple_target_step


def h36m_sequence_indices(imgnames: Sequence[str], seq_len: int = 1, seq_step: int = 1, *,
                          multiple_target: int = 0, multiple_target_step: int = 0,
                          pad_video_seq: bool = False, causal: bool = True) -> List[List[int]]:
    """Frame windows of every video, MMPose's ``Human36mDataset.get_sequence_indices`` (before
    ``subset_frac``).

    Args:
        imgnames (sequence of str): the frames' names (``imgname`` of the npz).
        seq_len (int): frames per window. seq_step (int): stride between a window's frames.
        multiple_target (int): > 0: chunks of this many frames (``seq_len`` must be 1).
        multiple_target_step (int): chunk start stride (0: ``multiple_target``).
        pad_video_seq (bool): one window per frame, padded at the video ends.
        causal (bool): the target is the window's last frame (else its middle).

    Returns:
        list[list[int]]: frame indices per sample.
    """
    videos, multiple_target_step = _videos(imgnames, seq_len, seq_step, multiple_target, multiple_target_step)
    length = (seq_len - 1) * seq_step + 1
    out: List[List[int]] = []
    for _, frames in sorted(videos.items()):
        n = len(frames)
        if multiple_target:
            starts = range(0, n, multiple_target_step)
            chunks = [frames[i:i + multiple_target:seq_step] for i in starts]
            out.extend(chunks[:(n + multiple_target_step - multiple_target) // multiple_target_step])
        elif pad_video_seq:
            left = seq_len - 1 if causal else (seq_len - 1) // 2
            right = 0 if causal else left
            for i in range(n):
                pad_left = max(0, left - i // seq_step)
                pad_right = max(0, right - (n - 1 - i) // seq_step)
                start = max(i % seq_step, i - left * seq_step)
                end = min(n - (n - 1 - i) % seq_step, i + right * seq_step + 1)
                out.append([frames[0]] * pad_left + frames[start:end:seq_step] + [frames[-1]] * pad_right)
        else:
            out.extend(frames[i:i + length:seq_step] for i in range(0, n - length + 1))
    return out


def h36m_window_table(imgnames: Sequence[str], seq_len: int = 1, seq_step: int = 1, *, multiple_target: int = 0,
                      multiple_target_step: int = 0, pad_video_seq: bool = False,
                      causal: bool = True) -> np.ndarray:
    """:func:`h36m_sequence_indices` as one array, built per video without a Python list per window.

    Returns:
        ndarray[S, W] int64: the frame indices of each window (the same rows, in the same order).
    """
    videos, multiple_target_step = _videos(imgnames, seq_len, seq_step, multiple_target, multiple_target_step)
    width = len(range(0, multiple_target, seq_step)) if multiple_target else seq_len
    out: List[np.ndarray] = [np.zeros((0, width), np.int64)]
    for _, frames in sorted(videos.items()):
        fr = np.asarray(frames, np.int64)
        n = len(fr)
        if multiple_target:
            count = max(0, (n + multiple_target_step - multiple_target) // multiple_target_step)
            pos = (np.arange(count)[:, None] * multiple_target_step + np.arange(0, multiple_target, seq_step)[None])
        elif pad_video_seq:
            left = seq_len - 1 if causal else (seq_len - 1) // 2
            pos = np.clip(np.arange(n)[:, None] + (np.arange(seq_len)[None] - left) * seq_step, 0, n - 1)
        else:
            length = (seq_len - 1) * seq_step + 1
            pos = np.arange(max(0, n - length + 1))[:, None] + np.arange(seq_len)[None] * seq_step
        out.append(fr[pos.reshape(-1, width)])
    return np.concatenate(out)


@dataclass
class H36mSequences:
    """``load_h36m(..., compact=True)``: the 2D keypoints once per frame and a window table, with
    small per-sample records (for 243-frame windows over Human3.6M's 1.5 M frames, where one array
    copy per window would not fit in memory).

    Attributes:
        ann_file (str): the npz.
        records (list[dict]): per sample: ``id``, ``window`` (row of ``windows``), ``lifting_target``
            [T, K, 3] and ``lifting_target_visible`` [T, K] (views of one array), ``target_img_path``
            [T], ``camera_param`` (with a camera file; shared dicts), ``category_id``, ``iscrowd``.
        keypoints (ndarray[F, K, 2] float32), keypoints_visible (ndarray[F, K] float32): per npz frame.
        windows (ndarray[S, W] int32): each sample's frames (rows of ``keypoints``).
        imgnames (ndarray[F] str): the frames' names.
    """

    ann_file: str
    records: List[Dict[str, Any]]
    keypoints: np.ndarray
    keypoints_visible: np.ndarray
    windows: np.ndarray
    imgnames: np.ndarray

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: int) -> Dict[str, Any]:
        return self.records[i]


def _array(npz_file: str, data: Any, key: str, shape_tail: Tuple[int, ...], frames: int) -> np.ndarray:
    arr = np.asarray(data[key])
    if arr.ndim != 1 + len(shape_tail) or arr.shape[0] != frames or any(
            want is not None and got != want for got, want in zip(arr.shape[1:], shape_tail)):
        want = "[" + ", ".join(["F"] + ["?" if w is None else str(w) for w in shape_tail]) + "]"
        raise AnnotationError(npz_file, None, f"'{key}' must be {want} with F = {frames} frames, got {arr.shape}")
    if arr.dtype.kind not in "fiu" or not np.isfinite(arr.astype(np.float64)).all():
        raise AnnotationError(npz_file, None, f"'{key}' must hold finite numbers")
    return arr


def load_h36m(ann_file: str, *, seq_len: int = 1, seq_step: int = 1, multiple_target: int = 0,
              multiple_target_step: int = 0, pad_video_seq: bool = False, causal: bool = True,
              subset_frac: float = 1.0, keypoint_2d_src: str = "gt", keypoint_2d_det_file: Optional[str] = None,
              factor_file: Optional[str] = None, camera_param_file: Optional[str] = None,
              img_prefix: str = "", num_keypoints: int = 17, seed: Optional[int] = None,
              filter_invalid: bool = True, compact: bool = False) -> Union[CocoKeypoints, H36mSequences]:
    """Read Human3.6M's npz into MMPose ``Human36mDataset`` records (one per frame window).

    Record fields (W frames per window, T targets, K keypoints): ``keypoints`` [W, K, 2] and
    ``keypoints_visible`` [W, K] float32 (2D, from ``part`` or the detection file);
    ``keypoints_3d`` [W, K, 3], ``keypoints_3d_visible`` [W, K]; ``lifting_target`` [T, K, 3] and
    ``lifting_target_visible`` [T, K] (the last frame when ``causal``, else the middle, or every
    frame with ``multiple_target``); ``target_img_path`` [T]; ``img_paths`` (W names), ``img_ids``
    (frame indices); ``factor`` [W] float32; ``scale`` and ``center`` [1, 2] -- as MMPose, taken from
    row ``id`` of the npz (the sample's index, not its frame); ``camera_param`` (with
    ``camera_param_file``); ``num_keypoints``, ``id``, ``category_id`` 1, ``iscrowd`` 0.

    Args:
        ann_file (str): the ``.npz``.
        seq_len, seq_step, multiple_target, multiple_target_step, pad_video_seq, causal: the
            windows (see :func:`h36m_sequence_indices`).
        subset_frac (float): keep a contiguous random fraction (0, 1] of the samples, as MMPose.
        keypoint_2d_src (str): ``'gt'`` (``part``), ``'detection'`` (``keypoint_2d_det_file``, a
            ``.npy`` [F, K, 3]) or ``'pipeline'``.
        factor_file (str, optional): ``.npy`` [F] of scale factors (else zeros).
        camera_param_file (str, optional): MMPose's ``cameras.pkl``: a dict keyed by (subject, camera).
        img_prefix (str): not used in the names (MMPose keeps them relative); kept for symmetry.
        num_keypoints (int): K. Defaults to 17.
        seed (int, optional): the subset's start (None: NumPy's global generator, as MMPose).
        filter_invalid (bool): drop samples whose 2D keypoints are all <= 0 (MMPose's top-down filter).
        compact (bool): return :class:`H36mSequences` (frames once, a window table, small records:
            the same samples in the same order) instead of one record with array copies per window.

    Raises:
        AnnotationError: a missing or malformed file, array or image name, naming the file (and
        ``imgname[i]``); a frame whose camera is not in ``camera_param_file``.
    """
    if keypoint_2d_src not in ("gt", "detection", "pipeline"):
        raise ValueError(f"keypoint_2d_src must be 'gt', 'detection' or 'pipeline', got {keypoint_2d_src!r}")
    if not 0 < subset_frac <= 1:
        raise ValueError(f"subset_frac must be in (0, 1], got {subset_frac}")
    if not os.path.isfile(ann_file):
        raise AnnotationError(ann_file, None, "file does not exist")
    try:
        with np.load(ann_file, allow_pickle=False) as npz:
            data = {k: npz[k] for k in npz.files}
    except Exception as e:  # zip / format errors of several types
        raise AnnotationError(ann_file, None, f"not a readable .npz file ({e})") from None
    for key in ("imgname", "S"):
        if key not in data:
            raise AnnotationError(ann_file, None, f"missing the '{key}' array")
    names = [str(n) for n in np.asarray(data["imgname"]).reshape(-1)]
    frames = len(names)
    for i, name in enumerate(names):
        try:
            parse_h36m_imgname(name)
        except ValueError as e:
            raise AnnotationError(ann_file, f"imgname[{i}]", str(e)) from None
    kpts_3d = _array(ann_file, data, "S", (num_keypoints, 4), frames).astype(np.float32)
    kpts_2d = (_array(ann_file, data, "part", (num_keypoints, 3), frames).astype(np.float32) if "part" in data
               else np.zeros((frames, num_keypoints, 3), np.float32))
    centers = (_array(ann_file, data, "center", (2,), frames) if "center" in data
               else np.zeros((frames, 2), np.float32))
    scales = (_array(ann_file, data, "scale", (), frames).astype(np.float32) if "scale" in data
              else np.zeros(frames, np.float32))
    if keypoint_2d_src == "detection":
        if not keypoint_2d_det_file or not os.path.isfile(keypoint_2d_det_file):
            raise AnnotationError(str(keypoint_2d_det_file), None, "keypoint_2d_src='detection' needs an existing "
                                                                   "keypoint_2d_det_file")
        kpts_2d = np.load(keypoint_2d_det_file).astype(np.float32)
        if kpts_2d.shape != (frames, num_keypoints, 3):
            raise AnnotationError(keypoint_2d_det_file, None, f"must be [{frames}, {num_keypoints}, 3] (one row "
                                                              f"per frame of {ann_file}), got {kpts_2d.shape}")
    factors = np.zeros(frames, np.float32)
    if factor_file:
        if not os.path.isfile(factor_file):
            raise AnnotationError(factor_file, None, "file does not exist")
        factors = np.load(factor_file).astype(np.float32).reshape(-1)
        if factors.shape[0] != frames:
            raise AnnotationError(factor_file, None, f"has {factors.shape[0]} factors, {ann_file} has {frames} frames")
    cameras = None
    if camera_param_file:
        if not os.path.isfile(camera_param_file):
            raise AnnotationError(camera_param_file, None, "file does not exist")
        with open(camera_param_file, "rb") as f:
            cameras = pickle.load(f)  # MMPose's own cameras.pkl: a trusted local file

    if compact:
        return _compact(ann_file, names, kpts_2d, kpts_3d, cameras, camera_param_file,
                        dict(seq_len=seq_len, seq_step=seq_step, multiple_target=multiple_target,
                             multiple_target_step=multiple_target_step, pad_video_seq=pad_video_seq, causal=causal),
                        subset_frac, seed, filter_invalid)
    seqs = h36m_sequence_indices(names, seq_len, seq_step, multiple_target=multiple_target,
                                 multiple_target_step=multiple_target_step, pad_video_seq=pad_video_seq,
                                 causal=causal)
    subset = int(len(seqs) * subset_frac)
    rng = np.random if seed is None else np.random.RandomState(seed)
    start = rng.randint(0, len(seqs) - subset + 1)
    seqs = seqs[start:start + subset]
    expected = multiple_target or seq_len
    target_idx = list(range(multiple_target)) if multiple_target else ([-1] if causal else [seq_len // 2])
    names_arr = np.asarray(names)
    records: List[Dict[str, Any]] = []
    for idx, frame_ids in enumerate(seqs):
        if len(frame_ids) != expected:  # MMPose asserts; a short last chunk cannot happen by construction
            raise AnnotationError(ann_file, f"sample {idx}", f"has {len(frame_ids)} frames, expected {expected}")
        kp2 = kpts_2d[frame_ids]
        kp3 = kpts_3d[frame_ids]
        rec = {
            "num_keypoints": num_keypoints,
            "keypoints": kp2[..., :2],
            "keypoints_visible": kp2[..., 2],
            "keypoints_3d": kp3[..., :3],
            "keypoints_3d_visible": kp3[..., 3],
            "scale": scales[idx],
            "center": centers[idx].astype(np.float32).reshape(1, -1),
            "id": idx,
            "category_id": 1,
            "iscrowd": 0,
            "img_paths": list(names_arr[frame_ids]),
            "img_ids": list(frame_ids),
            "lifting_target": kp3[target_idx, :, :3],
            "lifting_target_visible": kp3[target_idx, :, 3],
            "target_img_path": names_arr[frame_ids][target_idx],
            "factor": factors[frame_ids],
        }
        if cameras is not None:
            subj, _, cam = parse_h36m_imgname(names[frame_ids[0]])
            if (subj, cam) not in cameras:
                raise AnnotationError(camera_param_file, f"imgname[{frame_ids[0]}]",
                                      f"no camera ({subj!r}, {cam!r}) in the camera file")
            rec["camera_param"] = cameras[(subj, cam)]
        records.append(rec)
    if filter_invalid:
        records = [r for r in records if np.max(r["keypoints"]) > 0]
    return CocoKeypoints(ann_file, records, [], [])


def _compact(ann_file: str, names: List[str], kpts_2d: np.ndarray, kpts_3d: np.ndarray, cameras: Optional[dict],
             camera_param_file: Optional[str], windows_args: Dict[str, Any], subset_frac: float, seed: Optional[int],
             filter_invalid: bool) -> H36mSequences:
    """``load_h36m``'s samples (same subset draw, same filter, same order) without per-window copies."""
    windows = h36m_window_table(names, **windows_args)
    subset = int(len(windows) * subset_frac)
    rng = np.random if seed is None else np.random.RandomState(seed)
    start = rng.randint(0, len(windows) - subset + 1)
    windows = windows[start:start + subset]
    ids = np.arange(len(windows))
    if filter_invalid:
        frame_max = kpts_2d[..., :2].max(axis=(1, 2))
        keep = frame_max[windows].max(axis=1) > 0 if len(windows) else np.zeros(0, bool)
        windows, ids = windows[keep], ids[keep]
    mt, seq_len = windows_args["multiple_target"], windows_args["seq_len"]
    target_idx = list(range(windows.shape[1])) if mt else ([-1] if windows_args["causal"] else [seq_len // 2])
    target_rows = windows[:, target_idx]
    targets = kpts_3d[target_rows]  # [S, T, K, 4]
    names_arr = np.asarray(names)
    records: List[Dict[str, Any]] = []
    for j, (idx, rows) in enumerate(zip(ids.tolist(), target_rows)):
        rec = {"id": idx, "window": j, "category_id": 1, "iscrowd": 0, "lifting_target": targets[j, :, :, :3],
               "lifting_target_visible": targets[j, :, :, 3], "target_img_path": names_arr[rows]}
        if cameras is not None:
            first = names[int(windows[j, 0])]
            subj, _, cam = parse_h36m_imgname(first)
            if (subj, cam) not in cameras:
                raise AnnotationError(camera_param_file, f"imgname[{int(windows[j, 0])}]",
                                      f"no camera ({subj!r}, {cam!r}) in the camera file")
            rec["camera_param"] = cameras[(subj, cam)]
        records.append(rec)
    return H36mSequences(ann_file, records, np.ascontiguousarray(kpts_2d[..., :2]),
                         np.ascontiguousarray(kpts_2d[..., 2]), windows.astype(np.int32), names_arr)
