"""PoseInferencer: keypoints of every person in images, folders and videos, top-down or bottom-up,
batched over person crops and frames on the device. MMPose's ``MMPoseInferencer`` arguments where
they make sense (``bbox_thr``, ``nms_thr``, ``kpt_thr``, ``radius``, ``thickness``, ``draw_bbox``,
``draw_heatmap``, ``pred_out_dir``, ``vis_out_dir``, ``return_vis``).

Data flow (one chunk of frames at a time)::

    frames (BGR uint8) ─► RaggedImages ─► device (one copy)
    top-down:  boxes ─► centre/scale/warp (padding 1.25, aspect fixed; UDP for UDP codecs)
               ─► ops.warp_affine crops, fused BGR->RGB + normalisation, ``batch_size`` at a time
               ─► estimator.predict(crops, centre, scale) ─► keypoints in image pixels
    bottom-up: BottomupResize geometry per frame ─► ops.warp_affine whole images (frames of one
               padded size batched) ─► estimator.predict ─► inverse resize ─► image pixels
"""

from __future__ import annotations

import os
import time
import warnings
from collections import defaultdict
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import ops
from ..datasets.pipeline import IMAGENET_MEAN, IMAGENET_STD
from ..datasets.ragged import RaggedImages
from ..models import BottomupPoseEstimator, TopdownPoseEstimator
from ..visualization import VideoWriter, draw_pose, overlay_heatmaps
from .boxes import Boxes, DetectionFile, as_boxes, filter_boxes, whole_image_box
from .geometry import bottomup_geometry, bottomup_to_image, topdown_geometry, uses_udp
from .inputs import Frame, expand_inputs, iter_frames
from .results import instances_to_mmpose, write_prediction_json

__all__ = ["PoseInferencer", "default_device", "dataset_for_model"]

#: keypoint count -> dataset whose metainfo draws it, for models given without a dataset name.
_DATASET_BY_K = {17: "coco", 133: "coco_wholebody", 21: "onehand10k", 98: "wflw", 16: "mpii", 68: "300w"}
#: model-name dataset tokens that are not dataset names themselves.
_DATASET_ALIASES = {"hand": "onehand10k", "face-wflw": "wflw", "face": "wflw"}


def default_device() -> torch.device:
    """CUDA when pyposefast's CUDA kernels are built and a GPU is visible, else the CPU."""
    from .._extension import cuda_available

    return torch.device("cuda" if cuda_available() else "cpu")


def dataset_for_model(name: Optional[str], num_keypoints: Optional[int]) -> Optional[str]:
    """The metainfo dataset of a model: the dataset token of a zoo name
    (``rtmpose-m_coco-wholebody_256x192`` -> ``coco_wholebody``), else a guess from the keypoint
    count (17: coco, 133: coco_wholebody, 21: onehand10k, 98: wflw, 16: mpii, 68: 300w)."""
    from ..datasets.metainfo import list_datasets

    known = set(list_datasets())
    if name:
        parts = name.split("_")
        if len(parts) >= 3:
            token = "_".join(parts[1:-1])
            for cand in (_DATASET_ALIASES.get(token), token.replace("-", "_"), token.split("-")[-1]):
                if cand in known:
                    return cand
    return _DATASET_BY_K.get(num_keypoints) if num_keypoints else None


def _num_keypoints(model: nn.Module) -> Optional[int]:
    """K of an estimator: the head's ``num_keypoints`` / ``num_joints``, the flip permutation's
    length, or the head's output channels (a third of them for UDP combined heatmaps)."""
    head = getattr(model, "head", None)
    for attr in ("num_keypoints", "num_joints"):
        v = getattr(head, attr, None)
        if isinstance(v, int):
            return v
    fi = getattr(model, "flip_indices", None)
    if fi:
        return len(fi)
    v = getattr(head, "out_channels", None)
    if isinstance(v, int):
        return v // 3 if getattr(head, "flip_mode", "") == "udp_combined" else v
    return None


class PoseInferencer:
    """2D pose inference on image arrays, image files, folders and videos.

    Args:
        model_or_name (nn.Module or str): a ``TopdownPoseEstimator`` / ``BottomupPoseEstimator``
            (moved to ``device`` and put in eval mode, in place), or a ``pyposefast.models.build_model``
            name (random weights unless ``checkpoint``).
        checkpoint (str, optional): weights to load (``pyposefast.models.load_checkpoint``: MMPose
            1.x or pyposefast checkpoints).
        device (str or torch.device, optional): default CUDA when available, else CPU.
        det_file (str, optional): top-down: a COCO detection results JSON giving each image's person
            boxes (see :class:`pyposefast.apis.boxes.DetectionFile`).
        det_ann_file (str, optional): the COCO annotation file ``det_file``'s image ids refer to
            (else an image matches when its file stem is the image id). img_prefix (str): its
            image folder.
        bbox_thr (float): keep detected boxes and final instances scoring > bbox_thr (MMPose: 0.3).
        nms_thr (float): IoU threshold of the box NMS on detected boxes (MMPose: 0.3).
        kpt_thr (float): keypoints drawn above this score (MMPose: 0.3).
        batch_size (int): crops (top-down) or frames (bottom-up) per network call. Defaults to 64.
        dataset (str, optional): metainfo for drawing (``pyposefast.datasets.dataset_meta`` name);
            default from the model name or the keypoint count.
        model_kwargs (dict, optional): overrides for ``build_model`` (e.g. ``input_size``).
        mean, std (3 floats): RGB normalisation of the network input (ImageNet, as MMPose's data
            preprocessor); None for raw 0..255.
        flip_test (bool, optional): override the estimator's flip test.
        bottomup_size_factor (int): bottom-up input sides are multiples of this (the AE COCO
            config's 64). bottomup_resize_mode (str): ``'expand'`` (the AE config) or ``'fit'``.
        decode_threads (int, optional): threads decoding image files and reading video frames
            ahead of the network (OpenCV releases the GIL), default ``min(4, os.cpu_count())``; 0
            reads everything in the calling thread.
        show_progress (bool): a tqdm progress bar (frames) while running. Defaults to False.

    Person boxes (top-down), per image: the caller's ``bboxes`` as given; else ``det_file``'s boxes
    of that image with score > ``bbox_thr`` after box NMS; else, or when none is left, the whole
    image (MMPose's fallback). Results keep instances whose box / instance score is > ``bbox_thr``
    (MMPose's inferencer filter; boxes without a score count as 1).

    Calling the inferencer (see :meth:`__call__`) returns one dict per image or video frame:
    ``keypoints`` ndarray[N, K, 2] float32 (image pixels), ``keypoint_scores`` [N, K] float32,
    ``bboxes`` [N, 4] float32 xyxy (top-down: the person boxes; bottom-up: the keypoints' extent),
    ``bbox_scores`` [N] float32 (bottom-up: the instance scores), ``img_path`` (None for arrays),
    ``frame_id`` (None for still images), ``input_index`` (position among the expanded inputs) and
    ``img_id`` (from the detection file, else None).
    """

    def __init__(self, model_or_name: Union[nn.Module, str], checkpoint: Optional[str] = None,
                 device: Optional[Union[str, torch.device]] = None, *, det_file: Optional[str] = None,
                 det_ann_file: Optional[str] = None, img_prefix: str = "", bbox_thr: float = 0.3,
                 nms_thr: float = 0.3, kpt_thr: float = 0.3, batch_size: int = 64, dataset: Optional[str] = None,
                 model_kwargs: Optional[Dict[str, Any]] = None,
                 mean: Optional[Sequence[float]] = IMAGENET_MEAN, std: Optional[Sequence[float]] = IMAGENET_STD,
                 flip_test: Optional[bool] = None, bottomup_size_factor: int = 64,
                 bottomup_resize_mode: str = "expand", decode_threads: Optional[int] = None,
                 show_progress: bool = False) -> None:
        name = None
        if isinstance(model_or_name, str):
            from ..models import build_model

            name = model_or_name
            model = build_model(name, **(model_kwargs or {}))
        elif isinstance(model_or_name, nn.Module):
            if model_kwargs:
                raise ValueError("model_kwargs applies to a model name, not to an nn.Module")
            model = model_or_name
        else:
            raise TypeError(f"model_or_name must be an nn.Module estimator or a model name, got "
                            f"{type(model_or_name).__name__}")
        if isinstance(model, TopdownPoseEstimator):
            self.mode = "topdown"
        elif isinstance(model, BottomupPoseEstimator):
            self.mode = "bottomup"
        else:
            raise TypeError(f"model_or_name must be a TopdownPoseEstimator or BottomupPoseEstimator, got "
                            f"{type(model).__name__}")
        self.codec = getattr(model.head, "decoder", None)
        if self.codec is None or getattr(self.codec, "input_size", None) is None:
            raise ValueError(f"the model's head has no decoder (codec) with an input_size: {type(model.head).__name__}")
        if checkpoint is not None:
            from ..models import load_checkpoint

            load_checkpoint(model, checkpoint)
        self.device = torch.device(device) if device is not None else default_device()
        if self.device.type == "cuda":
            from .._extension import cuda_available

            if not cuda_available():
                raise RuntimeError("device='cuda' needs a CUDA build of pyposefast and a visible GPU")
        self.model = model.to(self.device).eval()
        self.model_name = name
        self.input_size = tuple(int(v) for v in self.codec.input_size)
        self.use_udp = uses_udp(self.codec)
        for arg, value in (("bbox_thr", bbox_thr), ("nms_thr", nms_thr), ("kpt_thr", kpt_thr)):
            if not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ValueError(f"{arg} must be a finite number, got {value!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if decode_threads is None:
            decode_threads = min(4, os.cpu_count() or 1)
        if not isinstance(decode_threads, int) or decode_threads < 0:
            raise ValueError(f"decode_threads must be a non-negative int, got {decode_threads!r}")
        self.decode_threads = decode_threads
        self.show_progress = bool(show_progress)
        if bottomup_resize_mode not in ("fit", "expand"):
            raise ValueError(f"bottomup_resize_mode must be 'fit' or 'expand', got {bottomup_resize_mode!r}")
        self.bbox_thr, self.nms_thr, self.kpt_thr = float(bbox_thr), float(nms_thr), float(kpt_thr)
        self.batch_size = batch_size
        self.mean, self.std = mean, std
        self.flip_test = flip_test
        self.bottomup_size_factor, self.bottomup_resize_mode = int(bottomup_size_factor), bottomup_resize_mode
        self.num_keypoints = _num_keypoints(model)
        self.dataset = dataset if dataset is not None else dataset_for_model(name, self.num_keypoints)
        self.meta = None
        if self.dataset is not None:
            from ..datasets import dataset_meta

            self.meta = dataset_meta(self.dataset)
        self.detections = None
        if det_file is not None:
            if self.mode != "topdown":
                raise ValueError("det_file is for top-down models; bottom-up models find people themselves")
            self.detections = DetectionFile(det_file, det_ann_file, img_prefix, self.num_keypoints or 17)
        #: counts and timing of the last call: frames, instances, seconds, frames_per_second
        self.last_stats: Dict[str, float] = {}
        self._warned: set = set()

    def __repr__(self) -> str:
        return (f"PoseInferencer({type(self.model).__name__} {self.model_name or ''}, mode={self.mode}, "
                f"input_size={self.input_size}, udp={self.use_udp}, device={self.device}, dataset={self.dataset})")

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(message, stacklevel=3)

    # ---------------------------------------------------------------- boxes
    def _caller_boxes(self, bboxes: Any, frame: Frame, source: int, single: bool) -> Optional[Boxes]:
        if bboxes is None:
            return None
        if isinstance(bboxes, Mapping):
            for key in (frame.img_path, None if frame.img_path is None else os.path.basename(frame.img_path)):
                if key is not None and key in bboxes:
                    return as_boxes(bboxes[key], f"bboxes[{key!r}]")
            return None
        if single:
            return as_boxes(bboxes)
        entry = bboxes[source]
        return None if entry is None else as_boxes(entry, f"bboxes[{source}]")

    def _frame_boxes(self, frame: Frame, given: Optional[Boxes], bbox_thr: float, nms_thr: float
                     ) -> Tuple[Boxes, Optional[int]]:
        img_id = None
        boxes = given
        if boxes is None and self.detections is not None:
            found = self.detections.lookup(frame.img_path)
            if found is None:
                self._warn_once("det-missing", f"no detections for {frame.img_path or frame.name} in "
                                f"{self.detections.det_file}: using the whole image")
            else:
                (xyxy, scores), img_id = found
                boxes = filter_boxes((xyxy, scores), bbox_thr, nms_thr)
        if boxes is None or len(boxes[0]) == 0:
            h, w = frame.image.shape[:2]
            boxes = whole_image_box(w, h)
        return boxes, img_id

    # ---------------------------------------------------------------- network
    def _heat_for_crops(self, x: torch.Tensor) -> Optional[torch.Tensor]:
        """Max-over-keypoints heatmaps [B, H, W] of the raw head output, or None (no heatmaps)."""
        out = self.model(x)
        if isinstance(out, (tuple, list)) and self.mode == "bottomup":
            out = out[0]
        if not isinstance(out, torch.Tensor) or out.dim() != 4:
            self._warn_once("heat", "draw_heatmap needs a heatmap head; heatmaps are not drawn for this model")
            return None
        K = self.num_keypoints or out.shape[1]
        if out.shape[1] == 3 * K and getattr(self.model.head, "flip_mode", "") == "udp_combined":
            out = out[:, 0::3]
        return F.interpolate(out.float().amax(1, keepdim=True), size=x.shape[-2:], mode="bilinear",
                             align_corners=False)[:, 0]

    def _topdown(self, frames: List[Frame], boxes: List[Boxes], draw_heatmap: bool):
        counts = [len(b[0]) for b in boxes]
        images = RaggedImages.from_images([f.image for f in frames]).to(self.device, non_blocking=True)
        xyxy = torch.from_numpy(np.concatenate([b[0] for b in boxes])).to(self.device, torch.float64)
        index = torch.from_numpy(np.repeat(np.arange(len(frames)), counts))
        center, scale, warp = topdown_geometry(xyxy, self.input_size, self.use_udp)
        kps, scs, heats = [], [], []
        for s in range(0, len(index), self.batch_size):
            e = min(s + self.batch_size, len(index))
            crops = ops.warp_affine(images, warp[s:e], self.input_size, image_index=index[s:e], mean=self.mean,
                                    std=self.std, bgr_to_rgb=True)
            kp, sc = self.model.predict(crops, center[s:e].float(), scale[s:e].float(), flip_test=self.flip_test)
            kps.append(kp.float())
            scs.append(sc.float())
            if draw_heatmap:
                heats.append(self._heat_for_crops(crops))
        kp = torch.cat(kps).cpu().numpy()
        sc = torch.cat(scs).cpu().numpy()
        warp_np = warp.cpu().numpy()
        heat = None
        if draw_heatmap and all(h is not None for h in heats):
            heat = torch.cat(heats).cpu().numpy()
        out, start = [], 0
        for i, frame in enumerate(frames):
            n = counts[i]
            sl = slice(start, start + n)
            start += n
            frame_heat = None
            if heat is not None:
                frame_heat = self._heat_to_image(heat[sl], warp_np[sl], frame.image.shape[:2])
            out.append((kp[sl], sc[sl], boxes[i][0], boxes[i][1], frame_heat))
        return out

    @staticmethod
    def _heat_to_image(heats: np.ndarray, warps: np.ndarray, hw: Tuple[int, int]) -> np.ndarray:
        """Input-space heatmaps [n, h, w] back into the image (max over instances) -> [H, W]."""
        H, W = hw
        full = np.zeros((H, W), np.float32)
        for heat, m in zip(heats, warps):
            back = cv2.warpAffine(np.ascontiguousarray(heat, np.float32), m.astype(np.float64), (W, H),
                                  flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderValue=0.0)
            np.maximum(full, back, out=full)
        return full

    def _split_bottomup(self, out: Any, B: int) -> List[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """The estimator's bottom-up predict output -> per image (keypoints [N, K, 2], keypoint scores
        [N, K], instance scores [N]) in network-input pixels. Accepts the codec's ``batch_decode``
        lists or ``batch_decode_tensors``' padded tensors with counts."""
        def np_(t):
            return t.detach().float().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, np.float32)

        K = self.num_keypoints
        if isinstance(out, (tuple, list)) and len(out) == 4 and isinstance(out[3], torch.Tensor):
            kp, sc, inst = (np_(t) for t in out[:3])
            counts = out[3].tolist()
            out = ([kp[b, :n] for b, n in enumerate(counts)], [sc[b, :n] for b, n in enumerate(counts)],
                   [inst[b, :n] for b, n in enumerate(counts)])
        if isinstance(out, (tuple, list)) and len(out) == 3 and all(len(o) == B for o in out):
            res = []
            for kp, sc, inst in zip(*out):
                inst = np_(inst).reshape(-1)
                n = len(inst)
                res.append((np_(kp).reshape(n, K, 2), np_(sc).reshape(n, K), inst))
            return res
        raise TypeError("BottomupPoseEstimator.predict returned an unexpected value: expected (keypoints, "
                        "keypoint_scores, instance_scores) per image, or padded tensors with counts; got "
                        f"{type(out).__name__}")

    def _bottomup(self, frames: List[Frame], draw_heatmap: bool):
        geos = [bottomup_geometry((f.image.shape[1], f.image.shape[0]), self.input_size, self.bottomup_size_factor,
                                  self.bottomup_resize_mode, self.use_udp) for f in frames]
        groups: Dict[Tuple[int, int], List[int]] = defaultdict(list)
        for i, g in enumerate(geos):
            groups[g[0]].append(i)
        out: List[Any] = [None] * len(frames)
        for padded, members in groups.items():
            for s in range(0, len(members), self.batch_size):
                idx = members[s:s + self.batch_size]
                images = RaggedImages.from_images([frames[i].image for i in idx]).to(self.device, non_blocking=True)
                warp = torch.from_numpy(np.stack([geos[i][3] for i in idx])).to(self.device)
                x = ops.warp_affine(images, warp, padded, mean=self.mean, std=self.std, bgr_to_rgb=True)
                preds = self._split_bottomup(self.model.predict(x, flip_test=self.flip_test), len(idx))
                heat = self._heat_for_crops(x) if draw_heatmap else None
                heat = None if heat is None else heat.cpu().numpy()
                for j, i in enumerate(idx):
                    kp, sc, inst = preds[j]
                    _, center, scale, m = geos[i]
                    kp_img = bottomup_to_image(kp, padded, center, scale)
                    if len(kp_img):
                        boxes = np.concatenate([kp_img.min(1), kp_img.max(1)], -1).astype(np.float32)
                    else:
                        boxes = np.zeros((0, 4), np.float32)
                    frame_heat = None
                    if heat is not None:
                        frame_heat = self._heat_to_image(heat[j:j + 1], m[None], frames[i].image.shape[:2])
                    out[i] = (kp_img, sc.astype(np.float32), boxes,
                              inst.astype(np.float32), frame_heat)
        return out

    # ---------------------------------------------------------------- call
    def __call__(self, inputs: Any, bboxes: Any = None, *, vis_out_dir: Optional[str] = None,
                 pred_out_dir: Optional[str] = None, radius: int = 3, thickness: int = 1, draw_bbox: bool = False,
                 draw_heatmap: bool = False, return_vis: bool = False, bbox_thr: Optional[float] = None,
                 nms_thr: Optional[float] = None, kpt_thr: Optional[float] = None) -> List[Dict[str, Any]]:
        """Run on ``inputs`` and return one result dict per image / frame (see the class docstring).

        Args:
            inputs: an image array (BGR ``HWC uint8``), an image path, a folder of images, a video
                file (.mp4, .avi, ...), or a list of these.
            bboxes: top-down person boxes ``[n, 4]`` or ``[n, 5]`` (x1, y1, x2, y2[, score]) in
                image pixels: one array for a single input (every image of a folder, every frame of
                a video), a list with one array (or None) per entry of ``inputs``, or a dict from
                image path or file name to array. Given boxes are used as they are; images without boxes use
                ``det_file``'s, else the whole image.
            vis_out_dir (str, optional): write the drawn images (``<name>.png``) and videos
                (``<video file name>``, same container) here.
            pred_out_dir (str, optional): write MMPose's prediction JSON per image (``<name>.json``:
                a list of instances) and per video (``[{'frame_id', 'instances'}, ...]``).
            radius (int), thickness (int): keypoint radius and link width. Defaults to 3 and 1.
            draw_bbox (bool): draw the boxes. draw_heatmap (bool): stack the heatmap overlay under
                the drawn image (heatmap heads only), as MMPose does.
            return_vis (bool): add ``visualization`` (ndarray[H, W, 3] uint8 BGR) to each result.
            bbox_thr, nms_thr, kpt_thr (float, optional): override the inferencer's.

        Returns:
            list[dict]: one per image or frame, in input order.
        """
        return list(self.infer_iter(inputs, bboxes, vis_out_dir=vis_out_dir, pred_out_dir=pred_out_dir, radius=radius,
                                    thickness=thickness, draw_bbox=draw_bbox, draw_heatmap=draw_heatmap,
                                    return_vis=return_vis, bbox_thr=bbox_thr, nms_thr=nms_thr, kpt_thr=kpt_thr))

    def infer_iter(self, inputs: Any, bboxes: Any = None, *, vis_out_dir: Optional[str] = None,
                   pred_out_dir: Optional[str] = None, radius: int = 3, thickness: int = 1, draw_bbox: bool = False,
                   draw_heatmap: bool = False, return_vis: bool = False, bbox_thr: Optional[float] = None,
                   nms_thr: Optional[float] = None, kpt_thr: Optional[float] = None) -> Iterator[Dict[str, Any]]:
        """As :meth:`__call__`, yielding results as they are ready (long videos need not fit in memory)."""
        bbox_thr = self.bbox_thr if bbox_thr is None else float(bbox_thr)
        nms_thr = self.nms_thr if nms_thr is None else float(nms_thr)
        kpt_thr = self.kpt_thr if kpt_thr is None else float(kpt_thr)
        single = not isinstance(inputs, (list, tuple))
        items = expand_inputs(inputs)
        if bboxes is not None and self.mode != "topdown":
            raise ValueError("bboxes are for top-down models; bottom-up models find people themselves")
        if bboxes is not None and not single and not isinstance(bboxes, Mapping) and len(bboxes) != len(inputs):
            raise ValueError(f"bboxes must have one entry per input ({len(inputs)}), got {len(bboxes)}")
        sources = [src for _, src in items]
        draw = vis_out_dir is not None or return_vis
        sink = _Outputs(vis_out_dir, pred_out_dir)
        stats = {"frames": 0, "instances": 0}
        start_time = time.perf_counter()
        frames = iter_frames([it for it, _ in items], self.decode_threads, window=min(32, 2 * self.batch_size))
        progress = None
        if self.show_progress:
            from tqdm import tqdm

            progress = tqdm(unit="frame", desc="inference", dynamic_ncols=True)
        try:
            pending: List[Tuple[Frame, Optional[Boxes], Optional[int]]] = []
            crops = 0
            for frame in frames:
                if self.mode == "topdown":
                    given = self._caller_boxes(bboxes, frame, sources[frame.input_index], single)
                    boxes, img_id = self._frame_boxes(frame, given, bbox_thr, nms_thr)
                    crops += len(boxes[0])
                else:
                    boxes, img_id = None, None
                pending.append((frame, boxes, img_id))
                if crops >= self.batch_size or len(pending) >= self.batch_size:
                    yield from self._flush(pending, sink, stats, draw, draw_heatmap, return_vis, radius, thickness,
                                           draw_bbox, bbox_thr, kpt_thr, progress)
                    pending, crops = [], 0
            if pending:
                yield from self._flush(pending, sink, stats, draw, draw_heatmap, return_vis, radius, thickness,
                                       draw_bbox, bbox_thr, kpt_thr, progress)
        finally:
            frames.close()
            sink.close()
            if progress is not None:
                progress.close()
            seconds = time.perf_counter() - start_time
            self.last_stats = dict(stats, seconds=seconds,
                                   frames_per_second=stats["frames"] / seconds if seconds > 0 else 0.0)

    def _flush(self, pending, sink, stats, draw, draw_heatmap, return_vis, radius, thickness, draw_bbox,
               bbox_thr, kpt_thr, progress) -> Iterator[Dict[str, Any]]:
        frames = [p[0] for p in pending]
        with torch.inference_mode():
            if self.mode == "topdown":
                preds = self._topdown(frames, [p[1] for p in pending], draw_heatmap)
            else:
                preds = self._bottomup(frames, draw_heatmap)
        for (frame, _, img_id), (kp, sc, boxes, box_scores, heat) in zip(pending, preds):
            keep = box_scores > bbox_thr if bbox_thr > 0 else np.ones(len(box_scores), bool)
            result = {
                "keypoints": np.ascontiguousarray(kp[keep], np.float32),
                "keypoint_scores": np.ascontiguousarray(sc[keep], np.float32),
                "bboxes": np.ascontiguousarray(boxes[keep], np.float32),
                "bbox_scores": np.ascontiguousarray(box_scores[keep], np.float32),
                "img_path": frame.img_path,
                "frame_id": frame.frame_id,
                "input_index": frame.input_index,
                "img_id": img_id,
            }
            stats["frames"] += 1
            stats["instances"] += len(result["keypoints"])
            vis = None
            if draw:
                vis = draw_pose(frame.image, result["keypoints"], result["keypoint_scores"], self.meta,
                                kpt_thr=kpt_thr, radius=radius, thickness=thickness,
                                bboxes=result["bboxes"] if draw_bbox else None)
                if draw_heatmap and heat is not None:
                    vis = np.concatenate([vis, overlay_heatmaps(frame.image, heat)], axis=0)
            sink.write(frame, result, vis)
            if progress is not None:
                progress.update(1)
            if return_vis:
                result["visualization"] = vis
            yield result


class _Outputs:
    """Writes drawn images / videos and prediction JSON files as results arrive."""

    def __init__(self, vis_out_dir: Optional[str], pred_out_dir: Optional[str]) -> None:
        self.vis_out_dir, self.pred_out_dir = vis_out_dir, pred_out_dir
        self._video_key: Optional[Tuple[int, str]] = None
        self._writer: Optional[VideoWriter] = None
        self._video_preds: List[Dict[str, Any]] = []
        self._video_name = ""

    def _end_video(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._video_key is not None and self.pred_out_dir is not None:
            write_prediction_json(self._video_preds, os.path.join(self.pred_out_dir, self._video_name + ".json"))
        self._video_key, self._video_preds = None, []

    def write(self, frame: Frame, result: Dict[str, Any], vis: Optional[np.ndarray]) -> None:
        key = (frame.input_index, frame.img_path or "")
        if frame.is_video:
            if key != self._video_key:
                self._end_video()
                self._video_key, self._video_name = key, frame.name
                if self.vis_out_dir is not None:
                    self._writer = VideoWriter(os.path.join(self.vis_out_dir, os.path.basename(frame.img_path)),
                                               frame.fps or 25.0)
            if self._writer is not None and vis is not None:
                self._writer.write(vis)
            if self.pred_out_dir is not None:
                self._video_preds.append({"frame_id": frame.frame_id, "instances": instances_to_mmpose(result)})
            return
        self._end_video()
        if self.vis_out_dir is not None and vis is not None:
            path = os.path.join(self.vis_out_dir, frame.name + ".png")
            os.makedirs(self.vis_out_dir, exist_ok=True)
            if not cv2.imwrite(path, vis):
                raise OSError(f"could not write {path}")
        if self.pred_out_dir is not None:
            write_prediction_json(instances_to_mmpose(result), os.path.join(self.pred_out_dir, frame.name + ".json"))

    def close(self) -> None:
        self._end_video()
