"""Training and validation data for 2D-to-3D pose lifters (VideoPose3D), and their evaluation.

Symbols: S samples (frame windows), F distinct frames, B samples per batch, W frames per window,
T target frames per sample, K keypoints, K' = K - 1 when the codec removes the root, else K.

The records are :func:`pyposefast.datasets.load_h36m`'s (or any with its fields). Their 2D keypoints
are kept once per frame (``[F, K, 2]``) with a window table (``[S, W]`` frame rows), so long windows
(243 frames) cost no copy per window; batches are gathered from these tensors and encoded by the
codec's ``batch_encode`` on the device (no per-sample Python work, no loader workers). Each batch::

    {"inputs": Tensor[B, K * D', W]  (the codec's keypoint_labels, the TCN's layout),
     "lifting_target_label": Tensor[B * T, K', 3], "lifting_target_weight": Tensor[B * T, K']}

which ``PoseLifter.loss`` (``TemporalRegressionHead.loss``) takes, as MMPose's head concatenates
its samples' labels. Order and augmentation are functions of (seed, epoch, batch, rank), as
:class:`~pyposefast.engine.data.TopdownTrainData`'s, so resumed runs see the same batches.

Validation (:func:`evaluate_lifting`): the network's root-relative output decoded with each
sample's root (``codec.batch_decode``, MMPose's ``TemporalRegressionHead.predict``), scored
against the records' ``lifting_target`` by :class:`pyposefast.evaluation.metrics.keypoint_3d_metrics.MPJPE`
(one mode) or :class:`LiftingMetrics` (several modes at once).
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import nn

from ..datasets.metainfo import dataset_meta
from .data import ShardedValData, TopdownTrainData, batch_seed
from .distributed import get_rank
from .evaluate import autocast_context, score_on_main_process

__all__ = ["LiftingTrainData", "LiftingValData", "LiftingMetrics", "predict_lifting", "evaluate_lifting",
           "mean_pose_baseline", "flip_lifting_batch", "lifting_samples"]

Tensor = torch.Tensor
_RECORD_KEYS = ("keypoints", "lifting_target")


def _sequences(records: Any) -> Any:
    """The ``H36mSequences`` of ``load_h36m(..., compact=True)`` (frames + window table), else None."""
    return records if hasattr(records, "windows") and hasattr(records, "keypoints_visible") else None


def _lifting_records(records: Any, name: str) -> List[Dict[str, Any]]:
    recs = getattr(records, "records", records)
    if recs is None or isinstance(recs, (str, bytes)) or not hasattr(recs, "__len__"):
        raise TypeError(f"{name} must be a list of lifting records or load_h36m(...)'s result, got "
                        f"{type(records).__name__}")
    recs = list(recs)
    if not recs:
        raise ValueError(f"{name} is empty: no samples")
    keys = _RECORD_KEYS if _sequences(records) is None else ("lifting_target", "window")
    missing = [k for k in keys if k not in recs[0]]
    if missing:
        raise ValueError(f"{name}[0] has no {missing}: expected lifting records (load_h36m(...).records)")
    return recs


class _LiftingTensors:
    """The records as tensors: per-frame 2D keypoints and a window table, per-sample targets and cameras.

    Attributes (CPU until :meth:`to`): ``frames`` [F, K, 2] float32, ``frames_visible`` [F, K]
    float32, ``windows`` [S, W] int32 (rows of ``frames``), ``target`` [S, T, K, 3] float32,
    ``target_visible`` [S, T, K] float32, ``camera`` dict (``w``, ``h`` [S] float32; ``f``, ``c``
    [S, 2, 1] float32 when every record's camera has them).
    """

    def __init__(self, records: List[Dict[str, Any]], image_size: Optional[Tuple[int, int]], name: str,
                 sequences: Any = None) -> None:
        if sequences is not None:  # load_h36m(..., compact=True): frames and windows are there already
            self._from_sequences(records, sequences, image_size, name)
            return
        first = records[0]
        window, k = np.asarray(first["keypoints"]).shape[:2]
        targets = np.asarray(first["lifting_target"]).shape[0]
        frame_row: Dict[Any, int] = {}
        windows = np.empty((len(records), window), np.int64)
        frames: List[np.ndarray] = []
        frames_vis: List[np.ndarray] = []
        target = np.empty((len(records), targets, k, 3), np.float32)
        target_vis = np.ones((len(records), targets, k), np.float32)
        for i, rec in enumerate(records):
            kp = np.asarray(rec["keypoints"], np.float32)
            if kp.shape != (window, k, 2):
                raise ValueError(f"{name}[{i}]['keypoints'] is {kp.shape}, expected {(window, k, 2)} like {name}[0]")
            vis = np.asarray(rec.get("keypoints_visible", np.ones((window, k))), np.float32).reshape(window, k)
            ids = rec.get("img_ids")
            ids = [("sample", i, j) for j in range(window)] if ids is None else [int(v) for v in ids]
            for j, frame in enumerate(ids):
                row = frame_row.get(frame)
                if row is None:
                    row = frame_row[frame] = len(frames)
                    frames.append(kp[j])
                    frames_vis.append(vis[j])
                windows[i, j] = row
            tgt = np.asarray(rec["lifting_target"], np.float32)
            if tgt.shape != (targets, k, 3):
                raise ValueError(f"{name}[{i}]['lifting_target'] is {tgt.shape}, expected {(targets, k, 3)}")
            target[i] = tgt
            if rec.get("lifting_target_visible") is not None:
                target_vis[i] = np.asarray(rec["lifting_target_visible"], np.float32).reshape(targets, k)
        self.frames = torch.from_numpy(np.stack(frames))
        self.frames_visible = torch.from_numpy(np.stack(frames_vis))
        self.windows = torch.from_numpy(windows.astype(np.int32))
        self.target = torch.from_numpy(target)
        self.target_visible = torch.from_numpy(target_vis)
        self.camera = self._cameras(records, image_size, name)
        self.device = torch.device("cpu")

    def _from_sequences(self, records: List[Dict[str, Any]], seqs: Any, image_size: Optional[Tuple[int, int]],
                        name: str) -> None:
        self.frames = torch.from_numpy(np.asarray(seqs.keypoints, np.float32))
        self.frames_visible = torch.from_numpy(np.asarray(seqs.keypoints_visible, np.float32))
        self.windows = torch.from_numpy(np.asarray(seqs.windows)[[r["window"] for r in records]])
        self.target = torch.from_numpy(np.stack([np.asarray(r["lifting_target"], np.float32) for r in records]))
        self.target_visible = torch.from_numpy(np.stack([np.asarray(r["lifting_target_visible"], np.float32)
                                                         for r in records]))
        self.camera = self._cameras(records, image_size, name)
        self.device = torch.device("cpu")

    @staticmethod
    def _cameras(records: List[Dict[str, Any]], image_size: Optional[Tuple[int, int]], name: str) -> Dict[str, Tensor]:
        n = len(records)
        cams = [r.get("camera_param") for r in records]
        if image_size is not None:
            w, h = (float(v) for v in image_size)
            out = {"w": torch.full((n,), w), "h": torch.full((n,), h)}
        elif all(isinstance(c, dict) and "w" in c and "h" in c for c in cams):
            out = {"w": torch.tensor([float(c["w"]) for c in cams]), "h": torch.tensor([float(c["h"]) for c in cams])}
        else:
            raise ValueError(f"{name}: records need camera_param with the image size 'w', 'h' (load_h36m(..., "
                             "camera_param_file=...)), or pass image_size=(w, h)")
        if all(isinstance(c, dict) and "f" in c and "c" in c for c in cams):
            out["f"] = torch.from_numpy(np.stack([np.asarray(c["f"], np.float32).reshape(2, 1) for c in cams]))
            out["c"] = torch.from_numpy(np.stack([np.asarray(c["c"], np.float32).reshape(2, 1) for c in cams]))
        return out

    def to(self, device: torch.device) -> "_LiftingTensors":
        if device != self.device:
            for key in ("frames", "frames_visible", "windows", "target", "target_visible"):
                setattr(self, key, getattr(self, key).to(device))
            self.camera = {k: v.to(device) for k, v in self.camera.items()}
            self.device = device
        return self

    def gather(self, index: Tensor) -> Tuple[Tensor, Tensor, Tensor, Tensor, Dict[str, Tensor]]:
        """Samples ``index`` [B] (on the device): keypoints [B, W, K, 2], visibility [B, W, K],
        target [B, T, K, 3], its visibility [B, T, K], camera (``w``, ``h`` [B]; ``f``, ``c`` [B, 2, 1])."""
        rows = self.windows[index].long()
        return (self.frames[rows], self.frames_visible[rows], self.target[index], self.target_visible[index],
                {k: v[index] for k, v in self.camera.items()})


def flip_lifting_batch(keypoints: Tensor, keypoints_visible: Tensor, target: Tensor, target_visible: Tensor,
                       camera: Dict[str, Tensor], flip: Tensor, flip_indices: Sequence[int]) -> Tuple[Tensor, ...]:
    """Mirror the flagged samples left-right, consistently in 2D and 3D.

    The mirror is the camera's y-z plane: 3D ``X -> -X`` (camera frame) and 2D ``x -> 2 c_x - x``
    (about the principal point; ``w / 2`` without ``c``), which project onto each other exactly;
    left and right joints swap (``flip_indices``). (MMPose's ``RandomFlipAroundRoot`` with its
    configs' defaults mirrors pixels about x = 0.5 and metres about X = 0.5 instead.)

    Args:
        keypoints (Tensor[B, W, K, 2]), keypoints_visible (Tensor[B, W, K]), target (Tensor[B, T, K, 3]),
        target_visible (Tensor[B, T, K]), camera (dict: ``w`` [B], optional ``c`` [B, 2, 1]).
        flip (Tensor[B] bool): which samples to mirror.
        flip_indices (sequence of int): K entries, the mirror joint of each joint.

    Returns:
        tuple: the four tensors, mirrored where ``flip``.
    """
    perm = torch.as_tensor(list(flip_indices), dtype=torch.long, device=keypoints.device)
    cx = camera["c"][:, 0, 0] if "c" in camera else camera["w"] * 0.5
    f4 = flip.view(-1, 1, 1, 1)
    kp_m = keypoints[:, :, perm].clone()
    kp_m[..., 0] = 2 * cx.view(-1, 1, 1) - kp_m[..., 0]
    tg_m = target[:, :, perm].clone()
    tg_m[..., 0] = -tg_m[..., 0]
    f3 = flip.view(-1, 1, 1)
    return (torch.where(f4, kp_m, keypoints), torch.where(f3, keypoints_visible[:, :, perm], keypoints_visible),
            torch.where(f4, tg_m, target), torch.where(f3, target_visible[:, :, perm], target_visible))


class LiftingTrainData:
    """Lifting training batches on the device, encoded by the codec in one call per batch.

    Args:
        records (list[dict], CocoKeypoints or H36mSequences): ``load_h36m(...)``'s result
            (records with ``keypoints`` [W, K, 2], ``keypoints_visible``, ``lifting_target`` [T, K, 3],
            ``lifting_target_visible``, ``img_ids``, ``camera_param`` with ``w``, ``h`` (and ``f``,
            ``c``)), or ``load_h36m(..., compact=True)``'s (frames and windows as they are).
        codec: a lifting codec with ``batch_encode`` (``VideoPoseLifting``; ``ImagePoseLifting``).
        batch_size (int): samples per batch and process.
        device (str or torch.device, optional): default the trainer's.
        flip_prob (float): probability of mirroring a sample (:func:`flip_lifting_batch`). Defaults to 0.
        meta (dict or str): dataset metainfo or name for the flip indices. Defaults to ``'h36m'``.
        image_size (tuple[int, int], optional): camera image (w, h) for records without cameras.
        seed (int): order and augmentation seed. drop_last (bool), shuffle (bool): as TopdownTrainData.

    ``len(data)`` is the number of batches per epoch of this rank (samples split over ranks as
    ``DistributedSampler``). Raises ValueError/TypeError on bad records or arguments (named).
    """

    def __init__(self, records: Any, codec: Any, batch_size: int, *, device: Optional[Union[str, torch.device]] = None,
                 flip_prob: float = 0.0, meta: Union[str, Dict[str, Any]] = "h36m",
                 image_size: Optional[Tuple[int, int]] = None, seed: int = 0, drop_last: bool = True,
                 shuffle: bool = True) -> None:
        self.records = _lifting_records(records, "records")
        if codec is None or not hasattr(codec, "batch_encode"):
            raise TypeError(f"codec must be a lifting codec with batch_encode (VideoPoseLifting), got "
                            f"{type(codec).__name__}")
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if not 0.0 <= float(flip_prob) <= 1.0:
            raise ValueError(f"flip_prob must be in [0, 1], got {flip_prob}")
        self.codec, self.batch_size = codec, int(batch_size)
        self.flip_prob = float(flip_prob)
        self.meta = dataset_meta(meta) if isinstance(meta, str) else dict(meta)
        self.flip_indices = [int(i) for i in self.meta["flip_indices"]]
        self.tensors = _LiftingTensors(self.records, image_size, "records", _sequences(records))
        if len(self.flip_indices) != self.tensors.frames.shape[1]:
            raise ValueError(f"meta has {len(self.flip_indices)} flip indices, the records "
                             f"{self.tensors.frames.shape[1]} keypoints")
        self._device = None if device is None else torch.device(device)
        self.seed, self.drop_last, self.shuffle = int(seed), bool(drop_last), bool(shuffle)
        self.epoch, self._skip = 0, 0

    device = TopdownTrainData.device
    epoch_indices = TopdownTrainData.epoch_indices
    __len__ = TopdownTrainData.__len__
    set_epoch = TopdownTrainData.set_epoch

    @property
    def num_samples(self) -> int:
        """Samples (windows) in the dataset (all ranks)."""
        return len(self.records)

    def encode(self, index: Tensor, flip: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """The batch of samples ``index`` [B] (int64, on the device), mirrored where ``flip`` [B] bool."""
        kp, vis, target, target_vis, cam = self.tensors.gather(index)
        if flip is not None:
            kp, vis, target, target_vis = flip_lifting_batch(kp, vis, target, target_vis, cam, flip, self.flip_indices)
        kwargs = {"camera_param": cam} if "camera_param" in getattr(self.codec, "auxiliary_encode_keys", ()) else {}
        enc = self.codec.batch_encode(kp, vis, target, target_vis, **kwargs)
        label = enc["lifting_target_label"]
        weight = enc["lifting_target_weight"]
        return {"inputs": enc["keypoint_labels"], "lifting_target_label": label.reshape(-1, *label.shape[2:]),
                "lifting_target_weight": weight.reshape(-1, *weight.shape[2:])}

    def __iter__(self) -> Iterator[Dict[str, Tensor]]:
        """One epoch (``set_epoch``) of ``{"inputs", "lifting_target_label", "lifting_target_weight"}``."""
        epoch, skip = self.epoch, self._skip
        self._skip = 0
        device = self.device
        self.tensors.to(device)
        for i, batch in enumerate(self.epoch_indices(epoch)[skip:], start=skip):
            index = torch.tensor(batch, dtype=torch.int64).to(device, non_blocking=True)
            flip = None
            if self.flip_prob > 0:
                gen = torch.Generator().manual_seed(batch_seed(self.seed, epoch, i, get_rank()))
                flip = (torch.rand(len(batch), generator=gen, dtype=torch.float64) < self.flip_prob).to(device)
            yield self.encode(index, flip)


class LiftingValData(ShardedValData):
    """Lifting validation batches on the device, with what the metric needs to score them.

    Args:
        records (list[dict] or CocoKeypoints): ``load_h36m(...)`` records (see :class:`LiftingTrainData`).
        codec: the lifting codec (``VideoPoseLifting``): encodes the inputs and the roots, decodes
            the predictions.
        batch_size (int): samples per batch and process.
        device (str or torch.device, optional): default the trainer's.
        image_size (tuple[int, int], optional): camera image (w, h) for records without cameras.

    Iterating yields ``{"inputs": Tensor[B, K * D', W], "target_root": Tensor[B, T, 3] (empty
    [B, 0] without zero-centring), "index": Tensor[B] int64 (CPU; record indices)}``. Under
    ``torch.distributed`` each rank takes every ``world_size``-th record.
    """

    def __init__(self, records: Any, codec: Any, batch_size: int, *, device: Optional[Union[str, torch.device]] = None,
                 image_size: Optional[Tuple[int, int]] = None) -> None:
        self.records = _lifting_records(records, "records")
        if codec is None or not hasattr(codec, "batch_encode") or not hasattr(codec, "batch_decode"):
            raise TypeError(f"codec must be a lifting codec (VideoPoseLifting), got {type(codec).__name__}")
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.codec, self.batch_size = codec, int(batch_size)
        self.tensors = _LiftingTensors(self.records, image_size, "records", _sequences(records))
        self._device = None if device is None else torch.device(device)
        self.meta = {"num_keypoints": int(self.tensors.frames.shape[1])}


    def __iter__(self) -> Iterator[Dict[str, Tensor]]:
        device = self.device
        self.tensors.to(device)
        mine, b = self.shard_indices(), self.batch_size
        for s in range(0, len(mine), b):
            index = torch.tensor(mine[s:s + b], dtype=torch.int64)
            kp, vis, target, target_vis, cam = self.tensors.gather(index.to(device))
            kwargs = {"camera_param": cam} if "camera_param" in getattr(self.codec, "auxiliary_encode_keys", ()) else {}
            enc = self.codec.batch_encode(kp, vis, target, target_vis, **kwargs)
            root = enc.get("target_root")
            yield {"inputs": enc["keypoint_labels"],
                   "target_root": root if root is not None else kp.new_zeros(len(index), 0), "index": index}


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


@torch.no_grad()
def predict_lifting(model: nn.Module, val_data: LiftingValData, *, amp: Optional[str] = None) -> Dict[str, np.ndarray]:
    """3D keypoints of this rank's share of ``val_data`` (camera space: the root added back).

    ``model(inputs)`` (the head's root-relative output [B, K', 3]) is decoded with each sample's
    root by ``val_data.codec.batch_decode`` on the device; one host copy at the end.

    Returns:
        dict: ``index`` ndarray[N] int64 (record indices) and ``keypoints`` ndarray[N, K, 3] float32.
    """
    model = _unwrap(model)
    was_training = model.training
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    idx: List[Tensor] = []
    kps: List[Tensor] = []
    try:
        for batch in val_data:
            with autocast_context(device, amp):
                out = model(batch["inputs"])
            out = out.float().reshape(out.shape[0], -1, out.shape[-1])
            root = batch["target_root"]
            kp, _ = val_data.codec.batch_decode(out, root[:, 0] if root.numel() else None)
            idx.append(batch["index"])
            kps.append(kp)
    finally:
        model.train(was_training)
    if not idx:
        k = int(val_data.meta["num_keypoints"])
        return {"index": np.zeros(0, np.int64), "keypoints": np.zeros((0, k, 3), np.float32)}
    return {"index": torch.cat(idx).numpy().astype(np.int64), "keypoints": torch.cat(kps).cpu().numpy()}


def lifting_samples(records: List[Dict[str, Any]], index: np.ndarray, keypoints: np.ndarray) -> List[Dict[str, Any]]:
    """MMPose-style data samples for the MPJPE metric: ``pred_instances['keypoints']`` [1, K, 3],
    ``gt_instances['lifting_target']`` [T, K, 3] and ``['lifting_target_visible']`` [T, K] (the
    record's), ``target_img_path`` (the action is parsed from it), ``id``."""
    out = []
    for j, i in enumerate(index.tolist()):
        rec = records[i]
        target = np.asarray(rec["lifting_target"], np.float32)
        visible = rec.get("lifting_target_visible")
        visible = np.ones(target.shape[:2], np.float32) if visible is None else np.asarray(visible, np.float32)
        out.append({"id": rec.get("id", i), "pred_instances": {"keypoints": keypoints[j:j + 1]},
                    "gt_instances": {"lifting_target": target, "lifting_target_visible": visible},
                    "target_img_path": list(np.asarray(rec.get("target_img_path", ["S0_Unknown.0_000000.jpg"]))
                                            .reshape(-1))})
    return out


def evaluate_lifting(model: nn.Module, val_data: LiftingValData, metric: Any, *, amp: Optional[str] = None,
                     batch_process: int = 1024) -> Dict[str, float]:
    """Evaluate a lifter: predictions of every rank gathered in record order, scored on rank 0.

    Args:
        model (nn.Module): a ``PoseLifter`` (or DDP around one) whose forward gives the root-relative
            3D keypoints [B, K', 3] of the window's target frame.
        val_data (LiftingValData): windows, roots and records.
        metric: ``MPJPE(mode=...)`` or :class:`LiftingMetrics` (anything with ``process`` /
            ``evaluate`` reading ``pred_instances['keypoints']`` and ``gt_instances['lifting_target']``).
        amp (str, optional): ``'bf16'`` / ``'fp16'`` autocast of the forward passes.
        batch_process (int): samples per ``metric.process`` call.

    Returns:
        dict[str, float]: the metric's results (``MPJPE``, ``P-MPJPE``, ``N-MPJPE``, per action ...).
    """
    if metric is None or not hasattr(metric, "process") or not hasattr(metric, "evaluate"):
        raise TypeError(f"metric must have process() and evaluate() (e.g. MPJPE), got {type(metric).__name__}")
    pred = predict_lifting(model, val_data, amp=amp)

    def score(merged: Dict[str, np.ndarray]) -> Dict[str, float]:
        samples = lifting_samples(val_data.records, merged["index"], merged["keypoints"])
        for s in range(0, len(samples), batch_process):
            metric.process(None, samples[s:s + batch_process])
        return metric.evaluate()

    return score_on_main_process(pred, score)


class LiftingMetrics:
    """Several MPJPE modes in one metric object (MMPose configs list one ``MPJPE`` per mode).

    Args:
        modes (sequence of str): of ``'mpjpe'``, ``'p-mpjpe'``, ``'n-mpjpe'``. Defaults to all three.
        skip_list (list[str], optional): ``<subject>_<action>`` names to leave out (MPJPE's).

    ``evaluate()`` returns the union of the modes' results (``MPJPE``, ``P-MPJPE``, ``N-MPJPE`` and
    their per-action entries).
    """

    def __init__(self, modes: Sequence[str] = ("mpjpe", "p-mpjpe", "n-mpjpe"),
                 skip_list: Optional[List[str]] = None) -> None:
        from ..evaluation.metrics.keypoint_3d_metrics import MPJPE

        if isinstance(modes, str) or not modes:
            raise ValueError(f"modes must be a non-empty list of 'mpjpe', 'p-mpjpe', 'n-mpjpe', got {modes!r}")
        self.metrics = [MPJPE(mode=m, skip_list=skip_list) for m in modes]
        self.dataset_meta: Optional[Dict[str, Any]] = None

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Feed every mode's metric the same samples."""
        for m in self.metrics:
            m.process(data_batch, data_samples)

    def evaluate(self, size: Optional[int] = None) -> Dict[str, float]:
        """Every mode's results, merged (and each metric's buffer cleared, as MMPose's)."""
        out: Dict[str, float] = {}
        for m in self.metrics:
            out.update(m.evaluate() if size is None else m.evaluate(size))
        return out


def mean_pose_baseline(train_records: Any, val_records: Any, metric: Any, *, root_index: int = 0) -> Dict[str, float]:
    """The trivial lifter's score: every validation sample predicted as the training set's mean
    root-relative pose, placed at the sample's own root (what a lifter's decode does too).

    Args:
        train_records, val_records: lifting records (``lifting_target`` [T, K, 3]).
        metric: as :func:`evaluate_lifting` (a fresh one).
        root_index (int): the root keypoint. Defaults to 0.

    Returns:
        dict[str, float]: the metric's results for the mean pose.
    """
    train = np.stack([np.asarray(r["lifting_target"], np.float64) for r in _lifting_records(train_records, "train")])
    mean = (train - train[:, :, root_index:root_index + 1]).mean(axis=(0, 1))  # [K, 3]
    val = _lifting_records(val_records, "val_records")
    roots = np.stack([np.asarray(r["lifting_target"], np.float64)[0, root_index] for r in val])
    pred = (mean[None] + roots[:, None]).astype(np.float32)
    metric.process(None, lifting_samples(val, np.arange(len(val)), pred))
    return metric.evaluate()

