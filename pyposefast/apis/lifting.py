"""PoseLifterInferencer: a video's 2D keypoints -> 3D keypoints per person and frame (VideoPose3D),
as MMPose's ``Pose3DInferencer`` / ``body3d_pose_lifter_demo`` do, batched over frame windows on the
device, with a 3D skeleton plot per frame.

Data flow (one sequence of frames per call)::

    2D results per frame (``PoseInferencer``: keypoints [N, K, 2], scores, bboxes; or images / a
    video run through a given ``PoseInferencer`` first)
      ─► track people across frames (greedy box IoU with the previous frame, or list index)
      ─► COCO-17 (or AIC / CrowdPose) -> H36M-17 keypoints (``convert_keypoint_definition``)
      ─► optional: each person's box moved/scaled to the dataset's mean box (``stats_info``)
      ─► per track: the codec's normalisation of the whole sequence ((p - (w, h) / 2) / (w / 2))
      ─► one window per (person, frame): ``seq_len`` frames, centred (or causal), the sequence's
         ends repeated, frames where the person is missing replaced by the nearest frame of its
         contiguous run (MMPose's ``extract_pose_sequence`` + ``collate_pose_sequence``)
      ─► the lifter on ``batch_size`` windows at a time, or (TCNs, the default) once per person's
         run of frames as the equivalent dilated network ─► codec decode (root-relative, camera axes)
      ─► MMPose's display axes (x, z, y) with x and z negated, feet rebased to z = 0
      ─► optional PNG per frame (``pyposefast.visualization.pose3d``) and video
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

Tensor = torch.Tensor

__all__ = ["PoseLifterInferencer", "convert_keypoint_definition", "track_by_iou", "lifting_windows",
           "receptive_field"]

#: H36M index <- source index, for the joints that are copied (the rest are midpoints).
_COCO_TO_H36M = ([1, 2, 3, 4, 5, 6, 9, 11, 12, 13, 14, 15, 16], [12, 14, 16, 11, 13, 15, 0, 5, 7, 9, 6, 8, 10])
_AIC_TO_H36M = ([1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16], [6, 7, 8, 9, 10, 11, 3, 4, 5, 0, 1, 2])
_CROWDPOSE_TO_H36M = ([1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16], [7, 9, 11, 6, 8, 10, 0, 2, 4, 1, 3, 5])
_SOURCE_K = {"coco": 17, "posetrack18": 17, "coco_wholebody": 133, "aic": 14, "crowdpose": 14, "h36m": 17}


def convert_keypoint_definition(keypoints: np.ndarray, pose_det_dataset: str,
                                pose_lift_dataset: str = "h36m") -> np.ndarray:
    """2D keypoints of a 2D dataset's definition -> the lifter's (Human3.6M's 17 joints), as
    MMPose's ``convert_keypoint_definition``: pelvis = mid-hips, thorax = mid-shoulders, spine =
    mid(pelvis, thorax), head = mid-eyes (COCO) and the other joints copied.

    Args:
        keypoints (ndarray[N, K, C]): C = 2 (x, y) or more channels (scores...), converted alike.
        pose_det_dataset (str): ``'coco'``, ``'posetrack18'``, ``'coco_wholebody'`` (its first 17
            keypoints are COCO's body; MMPose passes whole-body keypoints through unchanged, which
            a 17-joint lifter cannot take), ``'aic'``, ``'crowdpose'`` or ``'h36m'`` (unchanged).
        pose_lift_dataset (str): ``'h36m'`` (or ``'h3wb'``: the same 17 body joints).

    Returns:
        ndarray[N, 17, C] in the input's dtype.

    Raises:
        ValueError: an unsupported dataset pair, or K not the dataset's.
    """
    if pose_lift_dataset not in ("h36m", "h3wb"):
        raise ValueError(f"pose_lift_dataset must be 'h36m' or 'h3wb', got {pose_lift_dataset!r}")
    if pose_det_dataset not in _SOURCE_K:
        raise ValueError(f"pose_det_dataset {pose_det_dataset!r} has no conversion to {pose_lift_dataset}; "
                         f"supported: {sorted(_SOURCE_K)}")
    kp = np.asarray(keypoints)
    if kp.ndim != 3 or kp.shape[1] != _SOURCE_K[pose_det_dataset]:
        raise ValueError(f"keypoints must be [N, {_SOURCE_K[pose_det_dataset]}, C] for {pose_det_dataset!r}, "
                         f"got shape {kp.shape}")
    if pose_det_dataset == "h36m":
        return kp.copy()
    if pose_det_dataset == "coco_wholebody":
        kp, pose_det_dataset = kp[:, :17], "coco"
    out = np.zeros((kp.shape[0], 17, kp.shape[2]), dtype=kp.dtype)
    if pose_det_dataset in ("coco", "posetrack18"):
        out[:, 0] = (kp[:, 11] + kp[:, 12]) / 2
        out[:, 8] = (kp[:, 5] + kp[:, 6]) / 2
        out[:, 7] = (out[:, 0] + out[:, 8]) / 2
        out[:, 10] = (kp[:, 1] + kp[:, 2]) / 2
        dst, src = _COCO_TO_H36M
    else:  # aic / crowdpose: neck base 1/4 and head 7/12 of the way from the neck to the head top
        hip_l, hip_r, sh_l, sh_r, top, neck = ((9, 6, 3, 0, 12, 13) if pose_det_dataset == "aic"
                                               else (6, 7, 0, 1, 12, 13))
        out[:, 0] = (kp[:, hip_l] + kp[:, hip_r]) / 2
        out[:, 8] = (kp[:, sh_l] + kp[:, sh_r]) / 2
        out[:, 7] = (out[:, 0] + out[:, 8]) / 2
        out[:, 9] = (3 * kp[:, neck] + kp[:, top]) / 4
        out[:, 10] = (5 * kp[:, neck] + 7 * kp[:, top]) / 12
        dst, src = _AIC_TO_H36M if pose_det_dataset == "aic" else _CROWDPOSE_TO_H36M
    out[:, dst] = kp[:, src]
    return out


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of boxes a [n, 4] and b [m, 4] (x1, y1, x2, y2) -> [n, m] (MMPose's ``_compute_iou``:
    no +1, union 0 -> 1e-5)."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return inter / np.where(union == 0, 1e-5, union)


def track_by_iou(bboxes: Sequence[np.ndarray], tracking_thr: float = 0.3) -> List[np.ndarray]:
    """Track ids by greedy box IoU with the previous frame (MMPose's ``_track_by_iou`` as the
    3D pose demo uses it): each person, in list order, takes the id of the unmatched previous-frame
    box of highest IoU when that IoU is > ``tracking_thr``, else a new id.

    Args:
        bboxes (sequence of ndarray[N_t, 4]): per frame, boxes (x1, y1, x2, y2) in pixels.
        tracking_thr (float): IoU threshold.

    Returns:
        list of ndarray[N_t] int64: track ids (0, 1, ... in order of first appearance). (MMPose's
        inferencer also drops an unmatched person with fewer than 3 non-zero keypoint y values;
        here every person is kept.)
    """
    ids: List[np.ndarray] = []
    prev_boxes, prev_ids = np.zeros((0, 4)), np.zeros(0, np.int64)
    next_id = 0
    for t, boxes in enumerate(bboxes):
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4) if np.size(boxes) else np.zeros((0, 4))
        out = np.full(len(boxes), -1, np.int64)
        iou = _iou(boxes, prev_boxes) if len(prev_boxes) else np.zeros((len(boxes), 0))
        free = np.ones(len(prev_boxes), bool)
        for i in range(len(boxes)):
            if free.any():
                j = int(np.argmax(np.where(free, iou[i], -1.0)))
                if iou[i, j] > tracking_thr:
                    out[i], free[j] = prev_ids[j], False
                    continue
            out[i], next_id = next_id, next_id + 1
        ids.append(out)
        prev_boxes, prev_ids = boxes, out
    return ids


def receptive_field(model: nn.Module) -> Tuple[int, bool]:
    """Frames a lifter needs per output frame, and whether it is causal: a TCN backbone's product
    of kernel sizes and its blocks' causal shift.

    Raises:
        ValueError: a backbone without TCN's structure (pass ``seq_len`` / ``causal`` then).
    """
    backbone = getattr(model, "backbone", None)
    stem = getattr(getattr(backbone, "expand_conv", None), "conv", None)
    blocks = getattr(backbone, "tcn_blocks", None)
    if stem is None or blocks is None:
        raise ValueError(f"cannot read the receptive field of {type(backbone).__name__}: pass seq_len= (and causal=)")
    frames = int(stem.kernel_size[0])
    for blk in blocks:
        frames *= int(blk.kernel_size)
    causal = any(getattr(blk, "causal_shift", 0) > 0 for blk in blocks)
    return frames, causal


def lifting_windows(track_frames: Sequence[np.ndarray], num_frames: int, seq_len: int, causal: bool,
                    seq_step: int = 1) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The frame window of every (track, frame) where the track is present.

    Window of target frame t: frames ``t + j * seq_step`` for j in [-(L - 1), 0] (causal) or
    [-(L - 1) // 2, (L - 1) // 2] (centred), clipped to the sequence (its first / last frame
    repeated) and to the contiguous run of frames around t in which the track is present (the
    run's end frames repeated), as MMPose's ``extract_pose_sequence`` + ``collate_pose_sequence``
    (one difference: right of a gap MMPose's collate leaves zero keypoints, (0, 0) pixels, where
    we repeat the run's last frame, as its left-hand side does).

    Args:
        track_frames (sequence of ndarray[int]): per track, the sorted frames it is present in.
        num_frames (int): T.
        seq_len (int): L (odd unless causal).
        causal (bool): the target frame is the window's last (else its centre).
        seq_step (int): frame step inside a window.

    Returns:
        tuple: ``track_index`` ndarray[W] int64, ``target_frame`` ndarray[W] int64 and ``frames``
        ndarray[W, L] int64 (frame indices per window position), W = the (track, frame) pairs,
        ordered by frame then track.
    """
    if seq_len < 1 or seq_step < 1:
        raise ValueError(f"seq_len and seq_step must be >= 1, got {seq_len} and {seq_step}")
    left, right = (seq_len - 1, 0) if causal else ((seq_len - 1) // 2, (seq_len - 1) // 2)
    offsets = np.arange(-left, right + 1, dtype=np.int64) * seq_step
    tracks, targets, lo, hi = [], [], [], []
    for n, frames in enumerate(track_frames):
        frames = np.asarray(frames, np.int64)
        if len(frames) == 0:
            continue
        breaks = np.flatnonzero(np.diff(frames) != 1)
        run_start = np.repeat(frames[np.r_[0, breaks + 1]], np.diff(np.r_[0, breaks + 1, len(frames)]))
        run_end = np.repeat(frames[np.r_[breaks, len(frames) - 1]], np.diff(np.r_[0, breaks + 1, len(frames)]))
        tracks.append(np.full(len(frames), n, np.int64))
        targets.append(frames)
        lo.append(run_start)
        hi.append(run_end)
    if not tracks:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, len(offsets)), np.int64)
    track, target, lo_, hi_ = (np.concatenate(a) for a in (tracks, targets, lo, hi))
    order = np.lexsort((track, target))
    track, target, lo_, hi_ = track[order], target[order], lo_[order], hi_[order]
    idx = np.clip(target[:, None] + offsets[None], 0, num_frames - 1)
    return track, target, np.clip(idx, lo_[:, None], hi_[:, None])


def _whole_sequence_capable(model: nn.Module, seq_len: int, seq_step: int) -> bool:
    """A TCN lifter without a neck whose window is its receptive field, one frame apart."""
    try:
        frames, _ = receptive_field(model)
    except ValueError:
        return False
    return not hasattr(model, "neck") and seq_step == 1 and seq_len == frames


def _tcn_sequence_features(backbone: nn.Module, x: Tensor) -> Tensor:
    """A TCN (strided or dilated) run as its dilated form over a whole sequence, eval mode.

    Args:
        x (Tensor[B, K*2, L + RF - 1]): the normalised sequence, padded by RF - 1 frames.

    Returns:
        Tensor[B, C, L]: the last block's features for each of the L frames (one per window of RF
        frames: equal to the strided TCN on that window).
    """
    stem = backbone.expand_conv
    x = stem.activate(stem.bn(F.conv1d(x, stem.conv.weight, stem.conv.bias)))
    dilation = int(stem.conv.kernel_size[0])
    for blk in backbone.tcn_blocks:
        conv = blk.conv1[0]
        k = int(blk.kernel_size)
        y = blk.conv2(conv.activate(conv.bn(F.conv1d(x, conv.conv.weight, conv.conv.bias, dilation=dilation))))
        pad = (k - 1) * dilation // 2
        shift = k // 2 * dilation if blk.causal_shift > 0 else 0
        x = y + x[:, :, pad + shift: x.shape[2] - pad + shift]
        dilation *= k
    return x


class PoseLifterInferencer:
    """3D keypoints of every tracked person in a video from its 2D keypoints (VideoPose3D lifters).

    Args:
        model_or_name (nn.Module or str): a ``PoseLifter`` (moved to ``device``, eval mode) or a
            ``pyposefast.models.build_model`` name such as ``'videopose3d-243f_h36m'`` (random
            weights unless ``checkpoint``).
        checkpoint (str, optional): weights (``pyposefast.models.load_checkpoint``).
        device (str or torch.device, optional): default CUDA when visible, else CPU.
        codec (VideoPoseLifting, optional): default the head's decoder, else MMPose's VideoPose3D
            codec ``VideoPoseLifting(num_keypoints=K, zero_center=True, root_index=0)``.
        pose2d (PoseInferencer, optional): 2D inferencer run when the call is given images or a
            video instead of 2D results.
        seq_len (int, optional), causal (bool, optional): window length and placement (default:
            the TCN's receptive field and causality). seq_step (int): frame step in a window.
        batch_size (int): windows per network call. Defaults to 256.
        pose_det_dataset (str): keypoint definition of the 2D results (``'coco'``, ...; see
            :func:`convert_keypoint_definition`). Defaults to ``'coco'``.
        dataset (str): the lifter's dataset (metainfo for ``stats_info`` and drawing). ``'h36m'``.
        tracking (str): ``'iou'`` (greedy box IoU, MMPose's default) or ``'index'`` (the n-th
            person of every frame is one person: MMPose's ``with_track_id=False``).
        tracking_thr (float): IoU threshold of the tracking. Defaults to 0.3.
        disable_norm_pose_2d (bool): keep the 2D keypoints in place (default: each person's box
            moved and scaled to the dataset's mean box, ``stats_info``, as MMPose's inferencer).
        disable_rebase_keypoint (bool): keep z as decoded (default: the lowest keypoint at z = 0).
        kpt_thr (float): drawing threshold. model_kwargs (dict, optional): ``build_model`` overrides.
        whole_sequence (bool, optional): run the TCN over each person's whole run of consecutive
            frames at once (its strided convolutions as the equivalent dilated ones, VideoPose3D's
            evaluation trick: the same numbers, about 10x fewer operations than one 243-frame window
            per frame) instead of window by window. Default: when the model allows it (a TCN
            backbone, no neck, ``seq_step`` 1, ``seq_len`` = the receptive field).

    Each call returns one dict per frame: ``keypoints`` ndarray[N, K, 3] float32 (MMPose's
    ``pred_instances.keypoints`` of the 3D inferencer: axes (-x, z, -y) of the camera frame,
    root-relative, rebased), ``keypoint_scores`` [N, K] float32 (the codec's, ones),
    ``keypoints_root_relative`` [N, K, 3] (the decoded camera-axes prediction),
    ``keypoints_2d`` [N, K, 2] (the lifter's 2D input joints, image pixels, before the box
    normalisation), ``keypoint_scores_2d`` [N, K], ``bboxes`` [N, 4], ``track_ids`` [N] int64
    (sorted ascending, as MMPose sorts its results) and ``frame_id``.
    """

    def __init__(self, model_or_name: Union[nn.Module, str], checkpoint: Optional[str] = None,
                 device: Optional[Union[str, torch.device]] = None, *, codec: Any = None, pose2d: Any = None,
                 seq_len: Optional[int] = None, causal: Optional[bool] = None, seq_step: int = 1,
                 batch_size: int = 256, pose_det_dataset: str = "coco", dataset: str = "h36m",
                 tracking: str = "iou", tracking_thr: float = 0.3, disable_norm_pose_2d: bool = False,
                 disable_rebase_keypoint: bool = False, kpt_thr: float = 0.3,
                 model_kwargs: Optional[Dict[str, Any]] = None, whole_sequence: Optional[bool] = None) -> None:
        from ..models import PoseLifter

        if isinstance(model_or_name, str):
            from ..models import build_model

            model = build_model(model_or_name, **(model_kwargs or {}))
        elif isinstance(model_or_name, nn.Module):
            if model_kwargs:
                raise ValueError("model_kwargs applies to a model name, not to an nn.Module")
            model = model_or_name
        else:
            raise TypeError(f"model_or_name must be a PoseLifter or a model name, got {type(model_or_name).__name__}")
        if not isinstance(model, PoseLifter):
            raise TypeError(f"model_or_name must be a PoseLifter, got {type(model).__name__}")
        if checkpoint is not None:
            from ..models import load_checkpoint

            load_checkpoint(model, checkpoint)
        self.device = torch.device(device) if device is not None else torch.device(
            "cuda" if torch.cuda.is_available() else "cpu")
        self.model = model.to(self.device).eval()
        self.num_keypoints = int(model.head.num_joints)
        if codec is None:
            codec = getattr(model.head, "decoder", None)
        if codec is None:
            from ..codecs.video_pose_lifting import VideoPoseLifting

            codec = VideoPoseLifting(num_keypoints=self.num_keypoints, zero_center=True, root_index=0)
        self.codec = codec
        if seq_len is None or causal is None:
            rf, rf_causal = receptive_field(model)
            seq_len = rf if seq_len is None else seq_len
            causal = rf_causal if causal is None else causal
        for arg, value in (("seq_len", seq_len), ("seq_step", seq_step), ("batch_size", batch_size)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{arg} must be a positive int, got {value!r}")
        self.seq_len, self.causal = int(seq_len), bool(causal)
        self.seq_step, self.batch_size = int(seq_step), int(batch_size)
        if tracking not in ("iou", "index"):
            raise ValueError(f"tracking must be 'iou' or 'index', got {tracking!r}")
        if pose_det_dataset not in _SOURCE_K:
            raise ValueError(f"pose_det_dataset must be one of {sorted(_SOURCE_K)}, got {pose_det_dataset!r}")
        self.tracking, self.tracking_thr = tracking, float(tracking_thr)
        self.pose_det_dataset, self.dataset = pose_det_dataset, dataset
        self.disable_norm_pose_2d = bool(disable_norm_pose_2d)
        self.disable_rebase_keypoint = bool(disable_rebase_keypoint)
        self.kpt_thr = float(kpt_thr)
        self.pose2d = pose2d
        can_run_whole = _whole_sequence_capable(model, self.seq_len, self.seq_step)
        if whole_sequence and not can_run_whole:
            raise ValueError("whole_sequence=True needs a TCN backbone without a neck, seq_step=1 and seq_len equal to "
                             f"the TCN's receptive field ({self.seq_len}, step {self.seq_step} given)")
        self.whole_sequence = can_run_whole if whole_sequence is None else bool(whole_sequence)
        from ..datasets import dataset_meta

        self.meta = dataset_meta(dataset)  # also draws the 2D input: it is converted to the lifter's joints

    def __repr__(self) -> str:
        return (f"PoseLifterInferencer(seq_len={self.seq_len}, causal={self.causal}, device={self.device}, "
                f"pose_det_dataset={self.pose_det_dataset}, dataset={self.dataset}, tracking={self.tracking})")

    # ---------------------------------------------------------------- 2D side
    def _pose2d_results(self, inputs: Any, bboxes: Any) -> Tuple[List[Dict[str, Any]], Optional[List[np.ndarray]]]:
        """2D results (and the frames, BGR) of images / a video through ``pose2d``."""
        if self.pose2d is None:
            raise ValueError("inputs are images or a video: pass pose2d= (a PoseInferencer) to the constructor, "
                             "or call with the 2D results (list of dicts)")
        from .inputs import expand_inputs, iter_frames

        results = self.pose2d(inputs, bboxes)
        frames = [f.image for f in iter_frames([item for item, _ in expand_inputs(inputs)])]
        if len(frames) != len(results):
            raise RuntimeError(f"read {len(frames)} frames but the 2D inferencer returned {len(results)} results")
        return results, frames

    @staticmethod
    def _checked_frame(t: int, res: Any) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not isinstance(res, dict) or "keypoints" not in res:
            raise ValueError(f"pose2d_results[{t}] must be a dict with 'keypoints' [N, K, 2] (a PoseInferencer "
                             f"result), got {type(res).__name__}")
        kp = np.asarray(res["keypoints"], np.float32)
        if kp.size == 0:
            kp = kp.reshape(0, kp.shape[1] if kp.ndim == 3 else 0, 2)
        if kp.ndim != 3 or kp.shape[-1] < 2:
            raise ValueError(f"pose2d_results[{t}]['keypoints'] must be [N, K, 2], got shape {kp.shape}")
        kp = kp[..., :2]
        sc = res.get("keypoint_scores")
        sc = np.ones(kp.shape[:2], np.float32) if sc is None else np.asarray(sc, np.float32)
        if sc.size != kp.shape[0] * kp.shape[1]:
            raise ValueError(f"pose2d_results[{t}]['keypoint_scores'] must be [N, K] = {list(kp.shape[:2])}, got "
                             f"shape {sc.shape}")
        sc = sc.reshape(kp.shape[:2])
        boxes = res.get("bboxes")
        if boxes is None or np.size(boxes) == 0 and len(kp):
            boxes = np.concatenate([kp.min(1), kp.max(1)], -1) if len(kp) else np.zeros((0, 4), np.float32)
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if len(boxes) != len(kp):
            raise ValueError(f"pose2d_results[{t}] has {len(kp)} people but {len(boxes)} bboxes")
        return kp, sc, boxes

    def _normalised_2d(self, kp: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """MMPose's 2D pose normalisation: each person's box centre -> the dataset's mean box
        centre, its longer side -> the mean box scale."""
        stats = self.meta.get("stats_info") if not self.disable_norm_pose_2d else None
        if stats is None or len(kp) == 0:
            return kp
        center = np.stack([(boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2], -1)[:, None]
        scale = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])[:, None, None]
        scale = np.where(scale == 0, 1.0, scale)
        return ((kp - center) / scale * np.asarray(stats["bbox_scale"], np.float32)
                + np.asarray(stats["bbox_center"], np.float32)).astype(np.float32)

    # ---------------------------------------------------------------- lifting
    @torch.no_grad()
    def _lift(self, sequences: np.ndarray, track: np.ndarray, target: np.ndarray, frames: np.ndarray,
              image_size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        """sequences [M, T, K, 2] (pixels) -> root-relative 3D [W, K, 3] and scores [W, K] of the
        windows (``lifting_windows``' track / target / frames)."""
        seq = torch.from_numpy(sequences).to(self.device)
        enc = self.codec.batch_encode(seq, camera_param=dict(w=float(image_size[0]), h=float(image_size[1])))
        labels = enc["keypoint_labels"]  # [M, K*D, T] (reshape_keypoints) or [M, T, K, D]
        time_last = labels.dim() == 3
        by_time = labels.transpose(1, 2) if time_last else labels  # [M, T, ...]
        if self.whole_sequence:
            return self._lift_runs(by_time.reshape(by_time.shape[0], by_time.shape[1], -1), track, target)
        track_t = torch.from_numpy(track).to(self.device)
        frames_t = torch.from_numpy(frames).to(self.device)
        preds, scores = [], []
        for s in range(0, len(track), self.batch_size):
            e = min(s + self.batch_size, len(track))
            x = by_time[track_t[s:e, None], frames_t[s:e]]  # [b, L, ...]
            if time_last:
                x = x.transpose(1, 2).contiguous()  # [b, K*D, L]
            out = self.model(x.float())
            kp, sc = self.codec.batch_decode(out.float())
            preds.append(kp)
            scores.append(sc)
        return torch.cat(preds).cpu().numpy(), torch.cat(scores).cpu().numpy()

    def _lift_runs(self, by_time: Tensor, track: np.ndarray, target: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Whole-run lifting: by_time [M, T, K*D] normalised inputs -> [W, K, 3], [W, K] for the
        (track, target) pairs. Each run of consecutive frames of one track is padded with its end
        frames and run through the dilated TCN in one call."""
        left, right = (self.seq_len - 1, 0) if self.causal else ((self.seq_len - 1) // 2, (self.seq_len - 1) // 2)
        pred = np.zeros((len(track), self.num_keypoints, 3), np.float32)
        scores = np.zeros((len(track), self.num_keypoints), np.float32)
        for m in np.unique(track):
            rows = np.flatnonzero(track == m)  # ascending target frames
            frames = target[rows]
            breaks = np.flatnonzero(np.diff(frames) != 1) + 1
            for run in np.split(np.arange(len(rows)), breaks):
                start, stop = int(frames[run[0]]), int(frames[run[-1]]) + 1
                idx = torch.arange(start - left, stop + right, device=self.device).clamp_(start, stop - 1)
                x = by_time[int(m)].index_select(0, idx).t().unsqueeze(0).float()  # [1, K*D, L_run + RF - 1]
                feats = _tcn_sequence_features(self.model.backbone, x)  # [1, C, L_run]
                out = self.model.head((feats[0].t().unsqueeze(-1),))  # [L_run, K, 3]
                kp, sc = self.codec.batch_decode(out.float())
                pred[rows[run]] = kp.cpu().numpy()
                scores[rows[run]] = sc.cpu().numpy()
        return pred, scores

    def _display_axes(self, kp: np.ndarray) -> np.ndarray:
        """MMPose's 3D inferencer convention: (x, y, z) -> (-x, z, -y), then z -= min over the person."""
        out = kp[..., [0, 2, 1]].copy()
        out[..., 0] = -out[..., 0]
        out[..., 2] = -out[..., 2]
        if not self.disable_rebase_keypoint and out.shape[-2] > 0:
            out[..., 2] -= out[..., 2].min(-1, keepdims=True)
        return out

    def __call__(self, inputs: Any, bboxes: Any = None, *, image_size: Optional[Tuple[int, int]] = None,
                 images: Optional[Sequence[np.ndarray]] = None, vis_out_dir: Optional[str] = None,
                 vis_video: Optional[str] = None, fps: float = 25.0, pred_out_dir: Optional[str] = None,
                 **draw_kwargs: Any) -> List[Dict[str, Any]]:
        """Lift one sequence of frames.

        Args:
            inputs: the 2D results of the sequence's frames (list of dicts with ``keypoints``
                [N, K, 2], ``keypoint_scores`` [N, K] and ``bboxes`` [N, 4], in pixels: a
                ``PoseInferencer``'s output on a video), or a video file / image files / image
                arrays run through ``pose2d`` first (one sequence).
            bboxes: person boxes for ``pose2d`` (its ``bboxes`` argument).
            image_size (tuple[int, int], optional): (w, h) of the frames (the codec's camera
                size); required with 2D results and no ``images``.
            images (sequence of ndarray[H, W, 3] uint8, optional): the frames, for the left panel
                of the plots (read from the inputs when they are images or a video).
            vis_out_dir (str, optional): write one PNG per frame (``000000.png``, ...) here.
            vis_video (str, optional): also write the plots as a video file (the PNGs then go to
                ``<vis_video without extension>_frames/`` unless ``vis_out_dir`` is given).
            fps (float): the video's frame rate.
            pred_out_dir (str, optional): write the predictions as MMPose's 3D inferencer does for a
                video: ``<video stem>.json`` (``predictions.json`` for 2D results given directly),
                ``[{'frame_id', 'instances': [{'keypoints' (3D), 'keypoint_scores', 'bbox',
                'track_id'}, ...]}, ...]``.
            **draw_kwargs: ``pyposefast.visualization.pose3d.draw_pose3d`` arguments (``panel_size``,
                ``axis_limit``, ``num_instances`` ...).

        Returns:
            list[dict]: one per frame (see the class docstring).

        Raises:
            ValueError: malformed 2D results, no image size, keypoints of the wrong count.
        """
        if isinstance(inputs, (list, tuple)) and inputs and all(isinstance(r, dict) for r in inputs):
            results2d, frames = list(inputs), (list(images) if images is not None else None)
        elif isinstance(inputs, (list, tuple)) and len(inputs) == 0:
            return []
        else:
            results2d, frames = self._pose2d_results(inputs, bboxes)
            frames = list(images) if images is not None else frames
        T = len(results2d)
        if frames is not None and len(frames) != T:
            raise ValueError(f"images has {len(frames)} frames, the 2D results {T}")
        if image_size is None:
            if frames is None:
                raise ValueError("image_size=(w, h) is required with 2D results and no images")
            image_size = (frames[0].shape[1], frames[0].shape[0])
        if len(image_size) != 2 or min(image_size) <= 0:
            raise ValueError(f"image_size must be (w, h) > 0, got {image_size!r}")
        per_frame = [self._checked_frame(t, r) for t, r in enumerate(results2d)]
        ids = (track_by_iou([b for _, _, b in per_frame], self.tracking_thr) if self.tracking == "iou"
               else [np.arange(len(kp), dtype=np.int64) for kp, _, _ in per_frame])
        # H36M joints per person, then one dense [M, T, K, 2] array of the tracks
        conv = []
        for t, (kp, sc, boxes) in enumerate(per_frame):
            if len(kp) and kp.shape[1] != _SOURCE_K[self.pose_det_dataset]:
                raise ValueError(f"pose2d_results[{t}] has {kp.shape[1]} keypoints; pose_det_dataset="
                                 f"{self.pose_det_dataset!r} has {_SOURCE_K[self.pose_det_dataset]}")
            if len(kp) == 0:
                conv.append((np.zeros((0, 17, 2), np.float32), np.zeros((0, 17), np.float32), boxes))
                continue
            kp_h = convert_keypoint_definition(kp, self.pose_det_dataset)
            sc_h = convert_keypoint_definition(sc[..., None], self.pose_det_dataset)[..., 0]
            conv.append((kp_h, sc_h, boxes))
        K = conv[0][0].shape[1] if conv else 17
        if K != self.num_keypoints:
            raise ValueError(f"the lifter takes {self.num_keypoints} keypoints, the converted 2D results have {K}")
        track_list = sorted({int(i) for frame_ids in ids for i in frame_ids})
        slot = {tid: m for m, tid in enumerate(track_list)}
        seqs = np.zeros((len(track_list), T, K, 2), np.float32)
        present: List[List[int]] = [[] for _ in track_list]
        for t, ((kp_h, _, boxes), frame_ids) in enumerate(zip(conv, ids)):
            normed = self._normalised_2d(kp_h, boxes)
            for i, tid in enumerate(frame_ids):
                seqs[slot[int(tid)], t] = normed[i]
                present[slot[int(tid)]].append(t)
        track, target, frames_idx = lifting_windows([np.asarray(p) for p in present], T, self.seq_len, self.causal,
                                                    self.seq_step)
        if len(track):
            pred, scores = self._lift(seqs, track, target, frames_idx, (int(image_size[0]), int(image_size[1])))
        else:
            pred, scores = np.zeros((0, K, 3), np.float32), np.zeros((0, K), np.float32)
        shown = self._display_axes(pred)
        out = []
        for t in range(T):
            rows = np.flatnonzero(target == t)  # ordered by track slot = ascending track id
            kp_h, sc_h, boxes = conv[t]
            order = np.argsort(ids[t], kind="stable")
            out.append(dict(keypoints=shown[rows].astype(np.float32), keypoint_scores=scores[rows].astype(np.float32),
                            keypoints_root_relative=pred[rows].astype(np.float32),
                            keypoints_2d=kp_h[order], keypoint_scores_2d=sc_h[order], bboxes=boxes[order],
                            track_ids=np.asarray(ids[t], np.int64)[order], frame_id=t))
        if pred_out_dir is not None:
            from .results import instances_to_mmpose, write_prediction_json

            stem = (os.path.splitext(os.path.basename(inputs))[0] if isinstance(inputs, (str, os.PathLike))
                    else "predictions")
            frames_json = []
            for r in out:
                instances = instances_to_mmpose(r)
                for inst, tid in zip(instances, r["track_ids"]):
                    inst["track_id"] = int(tid)
                frames_json.append({"frame_id": r["frame_id"], "instances": instances})
            write_prediction_json(frames_json, os.path.join(pred_out_dir, stem + ".json"))
        if vis_out_dir is not None or vis_video is not None:
            from ..visualization.pose3d import write_pose3d_frames

            draw_kwargs.setdefault("kpt_thr", self.kpt_thr)
            png_dir = vis_out_dir or os.path.splitext(vis_video)[0] + "_frames"
            write_pose3d_frames([r["keypoints"] for r in out], png_dir,
                                self.meta, scores=[r["keypoint_scores"] for r in out], images=frames,
                                keypoints_2d=None if frames is None else [r["keypoints_2d"] for r in out],
                                scores_2d=None if frames is None else [r["keypoint_scores_2d"] for r in out],
                                video_path=vis_video, fps=fps, **draw_kwargs)
        return out
