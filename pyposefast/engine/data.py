"""Training and validation data for the trainer: thin adaptors over the batched top-down pipeline.

Symbols: B samples per batch (per process), K keypoints, input size (w, h), heatmap size (W, H).

``TopdownTrainData`` yields one dict per batch, already on the training device::

    {"inputs": Tensor[B, 3, h, w] float32, <the codec's targets>}

with the targets named as the codecs' ``batch_encode`` names them and the heads' ``loss`` takes them:
MSRAHeatmap / UDPHeatmap -> ``heatmaps`` [B, K, H, W] + ``keypoint_weights`` [B, K]; SimCCLabel ->
``keypoint_x_labels`` [B, K, Wx], ``keypoint_y_labels`` [B, K, Wy] + ``keypoint_weights``;
RegressionLabel -> ``keypoint_labels`` [B, K, 2] + ``keypoint_weights``; IntegralRegressionLabel also
``heatmaps`` (which :func:`loss_targets` drops for heads whose ``loss`` does not take them).

Order and augmentation are functions of (seed, epoch, batch index, rank) only: the epoch's
permutation comes from a generator seeded with (seed, epoch), each batch's augmentation draws from a
generator seeded with (seed, epoch, batch, rank). Nothing depends on how many batches ran before in
this process, so a resumed run that skips the first n batches of an epoch sees exactly the batches
an uninterrupted run would have seen, without saving any pipeline generator state.
"""

from __future__ import annotations

import contextlib
import inspect
import itertools
import os
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from ..codecs import UDPHeatmap
from ..datasets.coco import load_detection_boxes, read_json
from ..datasets.metainfo import dataset_meta
from ..datasets.pipeline import (DevicePrefetcher, TopdownBatchPipeline, TopdownCollate, TopdownDecodeDataset,
                                 build_topdown_loader, map_on_side_stream)
from .distributed import default_device, get_rank, get_world_size

__all__ = ["TopdownTrainData", "TopdownValData", "loss_targets", "batch_seed"]

Tensor = torch.Tensor
Records = Union[Sequence[Dict[str, Any]], Any]


def _records(records: Records, name: str = "records") -> List[Dict[str, Any]]:
    """A list of record dicts from a list or a ``CocoKeypoints`` (which has ``.records``)."""
    recs = getattr(records, "records", records)
    if recs is None or isinstance(recs, (str, bytes)) or not hasattr(recs, "__len__"):
        raise TypeError(f"{name} must be a list of top-down records or a CocoKeypoints, got {type(records).__name__}")
    recs = list(recs)
    for key in ("img_path", "bbox", "keypoints", "keypoints_visible"):
        if recs and key not in recs[0]:
            raise ValueError(f"{name}[0] has no '{key}': expected top-down records (load_coco_keypoints(..., "
                             "mode='topdown').records)")
    return recs


def _meta(meta: Union[str, Dict[str, Any]]) -> Dict[str, Any]:
    if isinstance(meta, str):
        return dataset_meta(meta)
    if not isinstance(meta, dict) or "flip_indices" not in meta:
        raise TypeError("meta must be a dataset name or pyposefast.datasets.dataset_meta(...) output, got "
                        f"{type(meta).__name__}")
    return meta


def _size(input_size: Sequence[int]) -> Tuple[int, int]:
    try:
        w, h = (int(v) for v in input_size)
    except (TypeError, ValueError):
        raise ValueError(f"input_size must be (w, h), got {input_size!r}") from None
    if w <= 0 or h <= 0:
        raise ValueError(f"input_size must be positive (w, h), got {input_size!r}")
    return w, h


def batch_seed(seed: int, epoch: int, batch: int, rank: int) -> int:
    """The 63-bit seed of one batch's augmentation draws (a hash of its coordinates)."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(epoch), int(batch), int(rank)]).generate_state(2)
    return int((int(state[0]) << 31) ^ int(state[1])) & 0x7FFFFFFFFFFFFFFF


def loss_targets(model: torch.nn.Module, batch: Dict[str, Any]) -> Dict[str, Any]:
    """The entries of ``batch`` (minus ``inputs``) that ``model.loss`` (its head's ``loss``) accepts.

    A head whose ``loss`` takes ``**kwargs`` gets every entry. Raises ValueError when a target the
    head needs (a parameter without a default) is missing, naming the batch's keys.
    """
    head = getattr(model, "head", None)
    fn = getattr(head, "loss", None) or getattr(model, "loss")
    params = list(inspect.signature(fn).parameters.values())[1:]  # after feats (head) / inputs (model)
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return {k: v for k, v in batch.items() if k != "inputs"}
    names = {p.name for p in params}
    out = {k: v for k, v in batch.items() if k in names}
    missing = [p.name for p in params if p.default is p.empty and p.name not in out
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if missing:
        raise ValueError(f"{type(head or model).__name__}.loss needs {missing}, the batch has {sorted(batch)}: "
                         "is the training data's codec the one the head was built for?")
    return out


def _close(iterator: Any) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


class _BatchList(torch.utils.data.Sampler):
    """A batch sampler whose batches are set before each epoch (``DataLoader(batch_sampler=...)``;
    iterated in the main process, so persistent workers see the new batches)."""

    def __init__(self) -> None:
        self.batches: List[List[int]] = []

    def __iter__(self):
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


@contextlib.contextmanager
def _opencv_pool_down():
    """OpenCV's thread pool shut down in this process for the duration (restored after).

    Forking decode workers while the pool exists (any threaded OpenCV call ran before, e.g. drawing
    the synthetic dataset in the same process) deadlocks the workers in ``cv2.setNumThreads(1)``
    (``pyposefast.datasets.pipeline.loader_worker_init``), on the pool's inherited condition
    variables."""
    n = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(n)


def _loader(records: List[Dict[str, Any]], sampler: _BatchList, num_workers: int, device: torch.device,
            seed: int, prefetch_factor: Optional[int] = None, cache_images: bool = False,
            reuse_buffers: Optional[Tuple[int, Tuple[int, int]]] = None, encoded: bool = False) -> Any:
    """A decode-only loader with persistent workers, started here (on this thread, OpenCV's pool
    down) with no batches to prefetch; each epoch then sets ``sampler.batches`` and iterates.
    ``reuse_buffers=(batch_size, (max_w, max_h))``: workers decode into reused (page-locked on
    CUDA) shared slots (``build_topdown_loader(reuse_buffers=True)``; a ``PooledLoader``).
    ``encoded``: workers only read the files (decoded on the device by the prefetcher)."""
    pin = device.type == "cuda" and torch.cuda.is_available()
    if reuse_buffers is not None and num_workers > 0:
        batch_size, max_size = reuse_buffers
        pooled = build_topdown_loader(records, batch_size, num_workers, pin_memory=pin, seed=seed,
                                      prefetch_factor=prefetch_factor, reuse_buffers=True, max_image_size=max_size,
                                      batch_sampler=sampler, worker_init_fn=None)
        batches, sampler.batches = sampler.batches, []
        with _opencv_pool_down():
            iter(pooled.loader)  # forks the persistent workers now
        sampler.batches = batches
        return pooled
    # own generator: the loader's base seed then never consumes the global torch RNG (exact resume)
    gen = torch.Generator().manual_seed(int(seed))
    # pinned batches for asynchronous copies: by the collate without workers, else by the
    # DevicePrefetcher's copy thread (a multi-threaded copy; the loader's own pin thread copies with
    # one, and pinning inside a worker is lost in the transfer)
    loader = torch.utils.data.DataLoader(
        TopdownDecodeDataset(records, encoded=encoded, cache_images=cache_images), batch_sampler=sampler,
        num_workers=int(num_workers), pin_memory=False,
        collate_fn=TopdownCollate(records, pin_memory=pin and num_workers == 0 and not encoded),
        persistent_workers=num_workers > 0, generator=gen,
        **({"prefetch_factor": int(prefetch_factor)} if prefetch_factor and num_workers > 0 else {}))
    if num_workers > 0:
        batches, sampler.batches = sampler.batches, []
        with _opencv_pool_down():
            iter(loader)  # forks the persistent workers now
        sampler.batches = batches
    return loader


class TopdownTrainData:
    """Top-down training batches on the device: workers decode, the pipeline does the rest.

    Args:
        records (list[dict] or CocoKeypoints): top-down records (``load_coco_keypoints(...)``).
        meta (dict or str): ``pyposefast.datasets.dataset_meta(...)`` or a dataset name (flip
            indices, upper/lower body ids, joint weights).
        codec: the head's codec (``model.head.decoder``): MSRAHeatmap, UDPHeatmap, SimCCLabel,
            RegressionLabel, IntegralRegressionLabel ...; its ``batch_encode`` makes the targets.
        input_size (tuple[int, int]): model input (w, h).
        batch_size (int): samples per batch and process.
        num_workers (int): decoding workers. Defaults to 2.
        device (str or torch.device, optional): where batches are produced; default the trainer's
            (``cuda:<LOCAL_RANK>`` when CUDA is available, else the CPU).
        augment (bool): RandomFlip, RandomHalfBody, RandomBBoxTransform (MMPose's defaults).
            Defaults to True.
        seed (int): seed of order and augmentation. Defaults to 0.
        drop_last (bool): drop the last incomplete batch. Defaults to True.
        shuffle (bool): a new permutation per epoch. Defaults to True.
        use_udp (bool, optional): UDP warp matrices; default: whether the codec is a UDPHeatmap.
        target_keys (sequence of str, optional): keep only these targets (default: all the codec's).
        prefetch_factor (int, optional): batches each worker decodes ahead (``DataLoader``'s; 2).
        cache_images (bool): decode each image once and keep it (``TopdownDecodeDataset``'s
            ``cache_images``; small datasets only). Defaults to False.
        reuse_buffers (tuple[int, int], optional): ``(max_w, max_h)`` of the dataset's images: the
            workers decode into reused shared slots of ``batch_size`` such images, page-locked on
            CUDA, so the main process neither maps fresh memory nor copies it to pin it (on the H100
            host: 4,778 vs 2,838 samples/s for 640x480 images). A batch that does not fit gets its
            own buffer. Needs ``num_workers > 0``; not with ``cache_images``. Defaults to None.
        decode_on_device (bool): workers only read the files; nvJPEG decodes them on the GPU in the
            prefetch thread (:class:`~pyposefast.datasets.nvjpeg.NvjpegDecoder`, hardware JPEG
            engines where the GPU has them; torchvision's decoder when nvJPEG is not found). CUDA
            only; not with ``cache_images`` or ``reuse_buffers``. Defaults to False.
        decode_threads (int): with ``decode_on_device``, threads decoding in turn, each with its own
            nvJPEG decoder (batches keep the loader's order: exact resume holds). One decodes about
            8,000 images/s beside training on the H100; RTMPose-s (9,000 samples/s) needs 2.
            Defaults to 1.
        **pipeline_kwargs: more ``TopdownBatchPipeline`` arguments (``half_body``, ``padding``,
            ``use_dataset_keypoint_weights``, ``out_dtype`` ...).

    Under ``torch.distributed`` each rank takes every ``world_size``-th sample of the epoch's
    permutation (padded by wrapping, as ``DistributedSampler``), so all ranks run the same number
    of batches. ``len(data)`` is that number for this rank.
    """

    def __init__(self, records: Records, meta: Union[str, Dict[str, Any]], codec: Any,
                 input_size: Tuple[int, int], batch_size: int, *, num_workers: int = 2,
                 device: Optional[Union[str, torch.device]] = None, augment: bool = True, seed: int = 0,
                 drop_last: bool = True, shuffle: bool = True, use_udp: Optional[bool] = None,
                 target_keys: Optional[Sequence[str]] = None, prefetch_factor: Optional[int] = None,
                 cache_images: bool = False, reuse_buffers: Optional[Tuple[int, int]] = None,
                 decode_on_device: bool = False, decode_threads: int = 1, **pipeline_kwargs: Any) -> None:
        self.records = _records(records)
        if not self.records:
            raise ValueError("records is empty: no training samples")
        self.meta = _meta(meta)
        if codec is None or not hasattr(codec, "batch_encode"):
            raise TypeError(f"codec must have batch_encode (MSRAHeatmap, SimCCLabel, ...), got {type(codec).__name__}")
        self.codec = codec
        self.input_size = _size(input_size)
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        if int(num_workers) < 0:
            raise ValueError(f"num_workers must be >= 0, got {num_workers}")
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)
        self._device = None if device is None else torch.device(device)
        self.augment, self.seed = bool(augment), int(seed)
        self.drop_last, self.shuffle = bool(drop_last), bool(shuffle)
        self.use_udp = isinstance(codec, UDPHeatmap) if use_udp is None else bool(use_udp)
        self.target_keys = None if target_keys is None else list(target_keys)
        self.prefetch_factor = prefetch_factor
        self.cache_images = bool(cache_images)
        if reuse_buffers is not None:
            if (not isinstance(reuse_buffers, (tuple, list)) or len(reuse_buffers) != 2
                    or any(not isinstance(v, int) or v < 1 for v in reuse_buffers)):
                raise ValueError(f"reuse_buffers must be (max_w, max_h) positive ints, got {reuse_buffers!r}")
            if self.cache_images:
                raise ValueError("reuse_buffers and cache_images do not go together (the slots are decoded into)")
            if int(num_workers) < 1:
                raise ValueError("reuse_buffers needs num_workers >= 1 (the slots are filled by the workers)")
        self.reuse_buffers = None if reuse_buffers is None else (int(reuse_buffers[0]), int(reuse_buffers[1]))
        self.decode_on_device = bool(decode_on_device)
        if self.decode_on_device and (self.cache_images or self.reuse_buffers is not None):
            raise ValueError("decode_on_device does not go with cache_images or reuse_buffers (the workers "
                             "keep the files' bytes, not decoded images)")
        self.decode_threads = int(decode_threads)
        if self.decode_threads < 1 or (self.decode_threads > 1 and not self.decode_on_device):
            raise ValueError(f"decode_threads must be 1, or more with decode_on_device=True, got {decode_threads}")
        kw = dict(train=self.augment, use_udp=self.use_udp)
        if not self.augment:
            kw.update(flip=None, half_body=None, bbox_transform=None)
        kw.update(pipeline_kwargs)
        self.pipeline = TopdownBatchPipeline.from_meta(self.meta, self.input_size, codec, **kw)
        self.epoch = 0
        self._skip = 0
        self._sampler = _BatchList()
        self._loader: Optional[torch.utils.data.DataLoader] = None
        self._prefetcher: Optional[DevicePrefetcher] = None  # kept: its nvJPEG decoders live across epochs
        self._codec_keys: Optional[List[str]] = None

    @property
    def device(self) -> torch.device:
        """The device batches are produced on."""
        return self._device if self._device is not None else default_device()

    @device.setter
    def device(self, device: Union[str, torch.device]) -> None:
        self._device = torch.device(device)

    @property
    def num_samples(self) -> int:
        """Records in the dataset (all ranks)."""
        return len(self.records)

    def epoch_indices(self, epoch: int) -> List[List[int]]:
        """This rank's batches of record indices for ``epoch`` (a function of seed, epoch, rank and
        world size only)."""
        n, world, rank = len(self.records), get_world_size(), get_rank()
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + int(epoch))
            order = torch.randperm(n, generator=gen).tolist()
        else:
            order = list(range(n))
        total = -(-n // world) * world
        order = (order * (-(-total // n)))[:total]  # pad by wrapping, as DistributedSampler
        mine = order[rank::world]
        b = self.batch_size
        stop = len(mine) // b * b if self.drop_last else len(mine)
        return [mine[i:i + b] for i in range(0, stop, b)]

    def __len__(self) -> int:
        n, world = len(self.records), get_world_size()
        per_rank = -(-n // world)
        return per_rank // self.batch_size if self.drop_last else -(-per_rank // self.batch_size)

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        """Select the epoch the next iteration runs, starting at its batch ``skip`` (exact resume)."""
        if int(skip) < 0:
            raise ValueError(f"skip must be >= 0, got {skip}")
        self.epoch, self._skip = int(epoch), int(skip)

    def draws(self, epoch: int, batch: int, n: int) -> Tensor:
        """The augmentation uniforms [n, NUM_DRAWS] float64 (CPU) of one batch of this rank."""
        gen = torch.Generator().manual_seed(batch_seed(self.seed, epoch, batch, get_rank()))
        return TopdownBatchPipeline.draw(n, generator=gen)

    def __iter__(self) -> Iterator[Dict[str, Tensor]]:
        """One epoch (``set_epoch``) of ``{"inputs": Tensor[B, 3, h, w], <targets>}`` on the device.
        The skip set by ``set_epoch`` applies to this iteration only."""
        epoch, skip = self.epoch, self._skip
        self._skip = 0
        device = self.device
        batches = self.epoch_indices(epoch)
        self._sampler.batches = batches[skip:]
        if self._loader is None:
            pooled = None if self.reuse_buffers is None else (self.batch_size, self.reuse_buffers)
            if self.decode_on_device and device.type != "cuda":
                raise ValueError(f"decode_on_device needs a CUDA device, got {device}")
            self._loader = _loader(self.records, self._sampler, self.num_workers, device, self.seed,
                                   self.prefetch_factor, self.cache_images, pooled, encoded=self.decode_on_device)
            self._prefetcher = DevicePrefetcher(self._loader, device, decode_jpeg=self.decode_on_device,
                                                decode_to_bgr=True, decode_threads=self.decode_threads)
        keep = self.target_keys if self.target_keys is not None else self.codec_keys
        counter = itertools.count(skip)  # the batch's index in the epoch (its draws' seed)

        def prepare(batch) -> Dict[str, Tensor]:
            i = next(counter)
            draws = None
            if self.augment:  # the same numbers on every device; pinned: an asynchronous copy, no host sync
                draws = self.draws(epoch, i, len(batch))
                if device.type == "cuda":
                    draws = draws.pin_memory().to(device, non_blocking=True)
            out = self.pipeline(batch, draws=draws)
            return {"inputs": out["inputs"], **{k: out[k] for k in keep}}

        # the pipeline runs on a side stream, overlapping the previous batch's training step
        stream = map_on_side_stream(prepare, self._prefetcher, device)
        try:
            yield from stream
        finally:  # an epoch cut short: stop the prefetch thread before the loader is iterated again
            _close(stream)

    @property
    def codec_keys(self) -> List[str]:
        """The names of the codec's targets (what its ``batch_encode`` returns), probed once."""
        if self._codec_keys is None:
            k = int(self.meta["num_keypoints"])
            probe = self.codec.batch_encode(torch.full((1, k, 2), 4.0), torch.ones(1, k))
            self._codec_keys = list(probe)
        return self._codec_keys


def _infer_img_prefix(records: List[Dict[str, Any]], ann_file: str) -> str:
    """The image folder of ``records``: a record's ``img_path`` minus its image's ``file_name``."""
    rec = records[0]
    for img in read_json(ann_file).get("images", []):
        if img.get("id") == rec.get("img_id"):
            name = str(img["file_name"])
            path = str(rec["img_path"])
            if path.endswith(name):
                return path[: len(path) - len(name)]
    return os.path.dirname(str(rec["img_path"]))


class ShardedValData:
    """Validation data split over the ranks by record index (rank r takes records r, r + W, ...;
    ``evaluate`` puts the predictions back in record order): ``records``, ``batch_size`` and the
    ``device`` property of the training data (``None``: CUDA when available)."""

    device = TopdownTrainData.device

    def shard_indices(self) -> List[int]:
        """This rank's record indices."""
        return list(range(get_rank(), len(self.records), get_world_size()))

    def __len__(self) -> int:
        return -(-len(self.shard_indices()) // self.batch_size)


class TopdownValData(ShardedValData):
    """Top-down validation crops on the device, with what a metric needs to score them.

    Boxes are the records' ground-truth boxes, or detections read from ``bbox_file`` (a COCO
    results JSON, with ``ann_file`` naming the images). Centre and scale as MMPose's val pipeline
    (``GetBBoxCenterScale`` padding 1.25, ``TopdownAffine``: aspect ratio fixed, no rotation),
    crops by ``ops.warp_affine`` for the whole batch.

    Args:
        records (list[dict] or CocoKeypoints): ground-truth top-down records; with ``bbox_file``
            they only supply the image folder (may be None when ``img_prefix`` is given).
        meta (dict or str): dataset metainfo or name (``sigmas``, ``num_keypoints``).
        input_size (tuple[int, int]): model input (w, h).
        batch_size (int): crops per batch and process.
        ann_file (str, optional): the COCO keypoint file (needed with ``bbox_file``).
        bbox_file (str, optional): detections (COCO results JSON); people only.
        num_workers (int): decoding workers. Defaults to 2.
        device (str or torch.device, optional): default the trainer's.
        use_udp (bool): UDP warp matrices (UDP models). Defaults to False.
        img_prefix (str, optional): image folder for ``bbox_file`` (default: inferred from records).
        bbox_score_thr (float, optional): drop detections scoring below.

    Iterating yields ``{"inputs": Tensor[B, 3, h, w] float32, "bbox_center": Tensor[B, 2] float32,
    "bbox_scale": Tensor[B, 2] float32, "index": Tensor[B] int64 (CPU; record indices)}``. Under
    ``torch.distributed`` each rank takes every ``world_size``-th record (no padding).

    ``records`` keep the ground truth :func:`pyposefast.engine.evaluate` hands the metric per
    instance (``keypoints`` [1, K, 2], ``keypoints_visible`` [1, K], ``bbox`` [1, 4], ``head_size``
    [1, 1] of MPII records, ``box_size``); ``ground_truth`` is False with ``bbox_file`` (detections
    have dummy keypoints, so only ``CocoMetric``-style metrics can score them).
    """

    def __init__(self, records: Optional[Records], meta: Union[str, Dict[str, Any]], input_size: Tuple[int, int],
                 batch_size: int, *, ann_file: Optional[str] = None, bbox_file: Optional[str] = None,
                 num_workers: int = 2, device: Optional[Union[str, torch.device]] = None, use_udp: bool = False,
                 img_prefix: Optional[str] = None, bbox_score_thr: Optional[float] = None) -> None:
        self.meta = _meta(meta)
        self.input_size = _size(input_size)
        if int(batch_size) <= 0:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)
        self.ann_file, self.bbox_file = ann_file, bbox_file
        gt = [] if records is None else _records(records)
        if bbox_file is not None:
            if ann_file is None:
                raise ValueError("bbox_file needs ann_file (the COCO file whose images the detections refer to)")
            if img_prefix is None:
                if not gt:
                    raise ValueError("bbox_file needs img_prefix or ground-truth records to find the images")
                img_prefix = _infer_img_prefix(gt, ann_file)
            self.records = load_detection_boxes(bbox_file, ann_file, int(self.meta["num_keypoints"]), img_prefix,
                                                score_thr=bbox_score_thr).records
        else:
            self.records = gt
        # whether records carry ground truth (keypoints, visibility, head sizes ...) a metric can
        # score against: ground-truth boxes do, detections' dummy keypoints do not
        self.ground_truth = bbox_file is None
        if not self.records:
            raise ValueError("no validation records (empty records / no detections above the threshold)")
        self._device = None if device is None else torch.device(device)
        self.use_udp = bool(use_udp)
        self.pipeline = TopdownBatchPipeline(self.input_size, None, train=False, flip=None, half_body=None,
                                             bbox_transform=None, use_udp=self.use_udp)
        self._sampler = _BatchList()
        self._loader: Optional[torch.utils.data.DataLoader] = None


    def __iter__(self) -> Iterator[Dict[str, Tensor]]:
        device = self.device
        mine, b = self.shard_indices(), self.batch_size
        batches = [mine[i:i + b] for i in range(0, len(mine), b)]
        self._sampler.batches = batches
        if self._loader is None:
            self._loader = _loader(self.records, self._sampler, self.num_workers, device, 0)
        stream = iter(DevicePrefetcher(self._loader, device))
        try:
            for indices, batch in zip(batches, stream):
                index = torch.tensor(indices, dtype=torch.int64)
                out = self.pipeline(batch)
                yield {"inputs": out["inputs"], "bbox_center": out["bbox_center"].to(torch.float32),
                       "bbox_scale": out["bbox_scale"].to(torch.float32), "index": index}
        finally:
            _close(stream)
