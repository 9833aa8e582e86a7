"""The batched top-down pipeline: workers only decode, the training device does everything else.

Data flow (see ``DESIGN.md``)::

    records ─► TopdownDecodeDataset (worker: read + decode, HWC uint8 BGR) ─► TopdownCollate (worker:
        packs the images into one shared-memory buffer, or a reused pool slot) ─► TopdownBatch
        (RaggedImages + boxes/keypoints [N, ...]) ─► DevicePrefetcher (background thread: side-stream
        non-blocking copy, event hand-off, <= 2 raw batches on the device) ─► TopdownBatchPipeline
        on the device (no host sync): box -> centre/scale, RandomFlip,
        RandomHalfBody, RandomBBoxTransform (draws from one [N, 10] uniform tensor), warp matrices
        (flip folded in), ops.warp_affine with fused BGR->RGB + normalisation, keypoint transform,
        codec.batch_encode, keypoint weights.

Symbols: N instances (= samples), K keypoints, input size (w, h). Points are (x, y) in pixels.
The same code runs on the CPU (our C++ kernels) when there is no GPU. The per-sample path in
:mod:`pyposefast.datasets.per_sample` consumes the same draws and gives the same samples.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from .prefetch import DevicePrefetcher, decode_jpeg_batch, map_on_side_stream
from .ragged import RaggedImages
from .topdown_pipeline import IMAGENET_MEAN, IMAGENET_STD, NUM_DRAWS, TopdownBatchPipeline

__all__ = ["TopdownBatch", "TopdownDecodeDataset", "TopdownCollate", "TopdownBatchPipeline", "DevicePrefetcher",
           "decode_image", "NUM_DRAWS", "IMAGENET_MEAN", "IMAGENET_STD"]

Tensor = torch.Tensor


def decode_image(path: str, record: Any = None) -> np.ndarray:
    """``cv2.imread`` (BGR, HWC uint8) with an error naming the file and the record."""
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        where = f" (record {record})" if record is not None else ""
        raise FileNotFoundError(f"cannot read image {path}{where}: missing or not a decodable image")
    return img


class TopdownDecodeDataset(torch.utils.data.Dataset):
    """A dataset for ``DataLoader`` workers that only reads and decodes images.

    Args:
        records (list[dict]): top-down records (``img_path``, ``bbox`` [1, 4], ``keypoints`` [1, K, 2],
            ``keypoints_visible`` [1, K]), e.g. ``load_coco_keypoints(...).records``.
        encoded (bool): return the file's bytes (uint8 [L]) instead of decoding, for decoding on the
            device (nvjpeg, :meth:`TopdownBatchPipeline.decode_on_device`). Defaults to False.
        cache_images (bool): keep each decoded image (per process: each worker has its own cache)
            and return it again instead of decoding; for small datasets that fit in memory (the
            demo's 1,000 320x240 images: 230 MB). The collate copies the pixels, so the cached
            arrays are never modified. Defaults to False.

    Items are ``(image, index)``: ``image`` ndarray[H, W, 3] uint8 BGR (or the bytes).
    """

    def __init__(self, records: Sequence[Dict[str, Any]], encoded: bool = False, cache_images: bool = False) -> None:
        self.records = records
        self.encoded = bool(encoded)
        self.cache_images = bool(cache_images)
        self._cache: Dict[str, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i: Union[int, Tuple[Optional[int], int]]) -> Tuple[np.ndarray, Any]:
        if isinstance(i, tuple):  # (pool slot, index) from SlotBatchSampler: the slot rides along
            img, _ = self[i[1]]
            return img, (i[0], int(i[1]))
        path = self.records[i]["img_path"]
        if self.encoded:
            try:
                return np.fromfile(path, dtype=np.uint8), i
            except OSError as e:
                raise FileNotFoundError(f"cannot read image {path} (record {i}): {e}") from None
        if not self.cache_images:
            return decode_image(path, i), i
        img = self._cache.get(path)
        if img is None:
            img = self._cache[path] = decode_image(path, i)
        return img, i


@dataclass
class TopdownBatch:
    """One collated batch: images stay raw (ragged), annotations are small stacked tensors.

    Attributes:
        images (RaggedImages): image n of the batch, HWC uint8 (BGR from OpenCV; RGB from nvjpeg).
        bbox (Tensor[N, 4] float32): (x1, y1, x2, y2) in image pixels.
        keypoints (Tensor[N, K, 2] float32): (x, y) in image pixels.
        keypoints_visible (Tensor[N, K] float32): visibility in [0, 1].
        bbox_score (Tensor[N] float32).
        index (Tensor[N] int64): record indices.
        encoded (bool): ``images`` holds JPEG bytes (one channel) still to decode.
        pool_slot (int, optional): the :class:`~pyposefast.datasets.buffer_pool.SharedImagePool` slot
            holding the pixels (``build_topdown_loader(..., reuse_buffers=True)``).
        lease (SlotLease, optional): returns that slot (the prefetcher does, after its copy).
    """

    images: RaggedImages
    bbox: Tensor
    keypoints: Tensor
    keypoints_visible: Tensor
    bbox_score: Tensor
    index: Tensor
    encoded: bool = False
    pool_slot: Optional[int] = None
    lease: Any = None

    def __len__(self) -> int:
        return int(self.bbox.shape[0])

    def _map(self, fn) -> "TopdownBatch":
        kw = {f.name: getattr(self, f.name) for f in fields(self)}
        for k, v in kw.items():
            if isinstance(v, (Tensor, RaggedImages)):
                kw[k] = fn(v)
        return TopdownBatch(**kw)

    def to(self, device: Union[str, torch.device], non_blocking: bool = False) -> "TopdownBatch":
        return self._map(lambda t: t.to(device, non_blocking=non_blocking))

    def pin_memory(self) -> "TopdownBatch":
        return self._map(lambda t: t.pin_memory())


class TopdownCollate:
    """``collate_fn``: ``(image, index)`` items -> :class:`TopdownBatch` (annotations read from the
    records by index; images packed into one buffer).

    Args:
        records (list[dict]): the dataset's records.
        pin_memory (bool): page-lock the batch for async copies, when CUDA is available and the
            collate runs in the main process (in a worker it is skipped: use
            ``DataLoader(pin_memory=True)``, whose pin thread runs in the main process).
    """

    def __init__(self, records: Sequence[Dict[str, Any]], pin_memory: bool = False, *, pool: Any = None) -> None:
        self.records = records
        self.pin_memory = bool(pin_memory)
        self.pool = pool

    def __call__(self, items: Sequence[Tuple[np.ndarray, Any]]) -> TopdownBatch:
        slot = None
        if items and isinstance(items[0][1], tuple):  # (slot, index) items of a pooled loader
            slot = items[0][1][0]
            items = [(img, i) for img, (_, i) in items]
        idx = [int(i) for _, i in items]
        recs = [self.records[i] for i in idx]
        encoded = bool(items) and items[0][0].ndim == 1
        packed = None
        if self.pool is not None and not encoded:
            from .buffer_pool import pack_into_slot

            packed = pack_into_slot(self.pool, slot, [img for img, _ in items])
        if packed is not None:  # pixels in the slot; only offsets and sizes travel
            offsets, sizes, channels, _ = packed
            images = RaggedImages(torch.empty(0, dtype=torch.uint8), torch.from_numpy(offsets),
                                  torch.from_numpy(sizes), channels)
        else:
            images = pack_images([img.reshape(-1, 1) if encoded else img for img, _ in items])
        if recs:
            bbox = np.concatenate([r["bbox"] for r in recs], 0).astype(np.float32)
            kp = np.concatenate([r["keypoints"] for r in recs], 0).astype(np.float32)
            vis = np.concatenate([r["keypoints_visible"] for r in recs], 0).astype(np.float32)
            score = np.concatenate([np.asarray(r.get("bbox_score", [1.0]), np.float32).reshape(1) for r in recs])
        else:  # no instances: K from the dataset's records (0 when there are none)
            k = int(np.asarray(self.records[0]["keypoints"]).shape[-2]) if len(self.records) else 0
            bbox, kp, vis, score = (np.zeros((0, 4), np.float32), np.zeros((0, k, 2), np.float32),
                                    np.zeros((0, k), np.float32), np.zeros(0, np.float32))
        batch = TopdownBatch(images, torch.from_numpy(bbox), torch.from_numpy(kp), torch.from_numpy(vis),
                             torch.from_numpy(score), torch.tensor(idx, dtype=torch.int64), encoded, slot)
        # pinning in a worker is wasted (the pickler copies the batch to shared memory, unpinned) and
        # starts CUDA there: pin in the main process (DataLoader(pin_memory=True)) instead
        in_worker = torch.utils.data.get_worker_info() is not None
        return batch.pin_memory() if self.pin_memory and not in_worker and torch.cuda.is_available() else batch


def pack_images(images: Sequence[np.ndarray], shared: Optional[bool] = None) -> RaggedImages:
    """Pack decoded HWC (or HW) uint8 arrays into one :class:`RaggedImages` with a single copy per image.

    Inside a ``DataLoader`` worker (``shared`` None) the buffer is allocated in shared memory, so the
    batch reaches the main process without another copy (``torch.cat`` followed by the pickler's
    move to shared memory copied every image twice).

    Args:
        images (sequence of ndarray[H, W, C] or [H, W]): one dtype and channel count.
        shared (bool, optional): allocate in shared memory; None: when in a worker process.

    Returns:
        RaggedImages: ``data`` uint8 (the images' dtype) [sum H*W*C].
    """
    if any(isinstance(im, torch.Tensor) for im in images):
        return RaggedImages.from_images(images)
    arrays = [im[..., None] if im.ndim == 2 else im for im in images]
    if not arrays:
        return RaggedImages.from_images([])
    for i, a in enumerate(arrays):
        if not isinstance(a, np.ndarray) or a.ndim != 3:
            raise ValueError(f"images[{i}] must be an HWC or HW ndarray, got {type(a).__name__} "
                             f"{getattr(a, 'shape', None)}")
        if a.shape[2] != arrays[0].shape[2] or a.dtype != arrays[0].dtype:
            raise ValueError(f"images[{i}] has {a.shape[2]} channels of {a.dtype}; images[0] has "
                             f"{arrays[0].shape[2]} of {arrays[0].dtype}: one channel count and dtype per batch")
    sizes = np.array([[a.shape[0], a.shape[1]] for a in arrays], dtype=np.int64)
    numels = sizes[:, 0] * sizes[:, 1] * arrays[0].shape[2]
    offsets = np.cumsum(numels) - numels
    total = int(numels.sum())
    dtype = torch.from_numpy(arrays[0][:0, :0]).dtype
    if shared is None:
        shared = torch.utils.data.get_worker_info() is not None
    if shared:
        storage = torch.UntypedStorage._new_shared(total * arrays[0].itemsize)
        data = torch.empty(0, dtype=dtype).set_(storage, 0, (total,), (1,))
    else:
        data = torch.empty(total, dtype=dtype)
    flat = data.numpy()
    for a, off, n in zip(arrays, offsets.tolist(), numels.tolist()):
        np.copyto(flat[off:off + n].reshape(a.shape), a)
    return RaggedImages(data, torch.from_numpy(offsets), torch.from_numpy(sizes), int(arrays[0].shape[2]))


#: the process that imported this module: a forked worker inherits the value, a spawned one does not
_IMPORT_PID = os.getpid()


def loader_worker_init(worker_id: int) -> None:
    """``worker_init_fn`` of the decode workers: one OpenCV thread each in spawned / forkserver
    workers (the workers are the parallelism; OpenCV's own pool per worker oversubscribes the cores).

    Forked workers are left alone: reconfiguring OpenCV's thread pool in a child forked while the
    parent's pool threads existed can deadlock on a mutex copied in the locked state (seen under
    load). Decoding never uses that pool, so forked decode workers lose nothing; the per-sample path
    (``cv2.warpAffine``) should use ``forkserver`` workers to get one thread each.

    Workers also lower their scheduling priority by ``PYPOSEFAST_WORKER_NICE`` (default 5; 0 keeps
    it), so that when they keep every core busy decoding, the training process's kernel-launching
    thread is scheduled first. (On the H100 machine a host-bound ResNet-50 step took 22 ms alone and
    57 ms fed by 16 decode workers at normal priority; 30 and 54 ms with niced workers on another
    machine of that kind: the priority is not the whole story, see ``benchmarks/results``.)
    """
    if os.getpid() == _IMPORT_PID:  # imported in this process: spawned / forkserver child
        cv2.setNumThreads(1)
    nice = os.environ.get("PYPOSEFAST_WORKER_NICE", "5")
    try:
        increment = int(nice)
    except ValueError:
        raise ValueError(f"PYPOSEFAST_WORKER_NICE must be an integer, got {nice!r}") from None
    if increment > 0 and hasattr(os, "nice"):
        os.nice(increment)


def build_topdown_loader(records: List[Dict[str, Any]], batch_size: int, num_workers: int = 0, *,
                         shuffle: bool = True, pin_memory: bool = False, encoded: bool = False,
                         drop_last: bool = False, seed: Optional[int] = None,
                         multiprocessing_context: Optional[str] = None, prefetch_factor: Optional[int] = None,
                         worker_init_fn: Optional[Any] = loader_worker_init, reuse_buffers: bool = False,
                         max_image_size: Tuple[int, int] = (640, 640), num_buffers: Optional[int] = None,
                         batch_sampler: Optional[Iterable[Sequence[int]]] = None) -> torch.utils.data.DataLoader:
    """A ``DataLoader`` of :class:`TopdownBatch` whose workers only decode images.

    Each worker decodes its batch's images (one OpenCV thread per worker, see
    :func:`loader_worker_init`) and packs them into one shared-memory buffer (:func:`pack_images`),
    so the batch reaches the main process without copying; pinning, when asked and CUDA is available,
    happens in the loader's pin-memory thread. Feed it to :class:`DevicePrefetcher`.

    Args:
        records (list[dict]): top-down records (see :class:`TopdownDecodeDataset`).
        batch_size (int): instances per batch.
        num_workers (int): decode processes (0: decode in the main process).
        shuffle, drop_last: as ``DataLoader``.
        pin_memory (bool): page-lock batches for asynchronous copies (CUDA only).
        encoded (bool): workers only read the files (JPEG bytes), for nvjpeg decoding.
        seed (int, optional): seeds the shuffling.
        multiprocessing_context (str, optional): e.g. ``"spawn"`` or ``"forkserver"``.
        prefetch_factor (int, optional): batches each worker prepares ahead (``DataLoader``'s, default 2).
        worker_init_fn (callable, optional): run in each worker. Defaults to :func:`loader_worker_init`.
        reuse_buffers (bool): decode into reused shared-memory slots (page-locked on CUDA when
            ``pin_memory``), see :mod:`pyposefast.datasets.buffer_pool`; returns a ``PooledLoader``
            (iterable like the ``DataLoader``, which is its ``.loader``). Defaults to False.
        max_image_size (tuple[int, int]): (w, h) of the largest image a slot holds ``batch_size`` of
            (a batch that does not fit gets its own buffer). Defaults to (640, 640).
        num_buffers (int, optional): slots; default ``prefetch_factor * num_workers + 4``.
        batch_sampler (iterable of index lists, optional): the batches (e.g. a trainer's resumable
            order); ``batch_size`` is then the largest batch (it sizes the slots) and ``shuffle`` /
            ``drop_last`` / ``seed`` are not used.
    """
    gen = None
    if seed is not None:
        gen = torch.Generator().manual_seed(int(seed))
    extra: Dict[str, Any] = {}
    if num_workers > 0:
        extra["worker_init_fn"] = worker_init_fn
        if prefetch_factor is not None:
            extra["prefetch_factor"] = int(prefetch_factor)
    if reuse_buffers and not encoded:
        from .buffer_pool import PooledLoader, SharedImagePool, SlotBatchSampler

        dataset = TopdownDecodeDataset(records)
        slots = num_buffers or (prefetch_factor or 2) * max(int(num_workers), 1) + 4
        pool = SharedImagePool(slots, int(batch_size) * int(max_image_size[0]) * int(max_image_size[1]) * 3,
                               pin=pin_memory and torch.cuda.is_available())
        if batch_sampler is None:
            base = (torch.utils.data.RandomSampler(dataset, generator=gen) if shuffle
                    else torch.utils.data.SequentialSampler(dataset))
            batch_sampler = torch.utils.data.BatchSampler(base, batch_size, drop_last)
        sampler = SlotBatchSampler(batch_sampler, pool)
        loader = torch.utils.data.DataLoader(
            dataset, batch_sampler=sampler, num_workers=num_workers, collate_fn=TopdownCollate(records, pool=pool),
            pin_memory=False, persistent_workers=num_workers > 0, generator=gen,
            multiprocessing_context=multiprocessing_context if num_workers > 0 else None, **extra)
        return PooledLoader(loader, pool)
    if batch_sampler is not None:
        extra["batch_sampler"] = batch_sampler
    else:
        extra.update(batch_size=batch_size, shuffle=shuffle, drop_last=drop_last)
    return torch.utils.data.DataLoader(
        TopdownDecodeDataset(records, encoded=encoded), num_workers=num_workers, collate_fn=TopdownCollate(records),
        pin_memory=pin_memory and torch.cuda.is_available(), persistent_workers=num_workers > 0, generator=gen,
        multiprocessing_context=multiprocessing_context if num_workers > 0 else None, **extra)


__all__ += ["build_topdown_loader", "pack_images", "loader_worker_init", "decode_jpeg_batch", "map_on_side_stream"]
