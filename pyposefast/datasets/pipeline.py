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
import queue
import threading
import time
import warnings
from dataclasses import dataclass, fields
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from .._capture import capture_gate
from .._cuda_queues import ENV as CUDA_QUEUES_ENV
from .._cuda_queues import queues_limited
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


class _LoaderFailure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_END = object()


class DevicePrefetcher:
    """Iterate a loader of :class:`TopdownBatch` (or any batch dataclass with ``to``, e.g.
    ``BottomupBatch``) on ``device``, copying batch i+1 while i is used.

    On CUDA a background thread takes batches from the loader (so unpickling the workers' output and
    the copies never run on the thread that launches the training step), copies each to the device
    on a side stream (asynchronous for pinned batches) and hands it over with an event: the consumer's
    stream waits on the event, the host never waits for the device. The device holds at most
    ``max_device_batches`` raw batches (default 2: the one in use and the one in flight). With
    ``decode_jpeg=True`` encoded batches (``build_topdown_loader(..., encoded=True)``) are decoded
    by nvJPEG in that thread (see ``jpeg_decoder``), giving RGB images (build the pipeline with
    ``bgr_to_rgb=False``) or BGR ones (``decode_to_bgr=True``). On the CPU it passes batches through.

    Pinning: batches that arrive pageable (a loader built with ``pin_memory=False``) are page-locked
    in that thread before the copy (``pin=True``). That copy runs on all intra-op threads, where the
    DataLoader's own pin thread copies with one: for 640x480 images (59 MB per batch of 64) the
    single-threaded copy out of the workers' fresh shared memory capped the feed near 2,000
    samples/s on the H100 host.

    Args:
        loader (iterable of TopdownBatch): e.g. :func:`build_topdown_loader`.
        device (str or torch.device): where the batches go.
        max_device_batches (int): raw batches resident on the device at once (>= 1). Defaults to 2.
        decode_jpeg (bool): decode encoded batches on the device (CUDA only). Defaults to False.
        pin (bool): page-lock pageable batches in the copy thread (CUDA). Defaults to True.
        more_loaders (sequence of iterables): further sources, each read by a thread of its own
            (CUDA); batches are handed over as they become ready, so the order across sources is
            not fixed (not for exactly reproducible training). The use: mixed decoding, a loader of
            decoded images (CPU workers) beside one of encoded images (nvjpeg), so that the host's
            cores and the GPU's decoder both feed the pipeline (e.g. a pooled CPU loader beside a
            worker-less loader of encoded files). Experimental: of the H100 training runs fed this
            way, one with two worker pools hung in a loader's reset, and one of three with one pool
            hung with a thread waiting for a worker's shared-memory descriptor and the nvjpeg
            thread inside a decode call (not yet understood).
        decode_to_bgr (bool): nvjpeg output in OpenCV's BGR order (as the CPU-decoded batches,
            for a pipeline built with ``bgr_to_rgb=True``). Defaults to False (RGB).
        jpeg_decoder (str): who decodes with ``decode_jpeg``: ``'pyposefast'`` (our nvJPEG binding,
            :class:`~pyposefast.datasets.nvjpeg.NvjpegDecoder`: hardware JPEG engines where the GPU
            has them, one decoder per thread, on the copy thread's stream), ``'torchvision'`` or
            ``'auto'`` (ours when nvJPEG is found, else torchvision). Defaults to ``'auto'``. Decoding
            beside training needs CUDA's 32 hardware queues (``CUDA_DEVICE_MAX_CONNECTIONS``, set on
            importing pyposefast; a warning says when it may be lower): with 8, each decode call
            waited for the training kernels queued ahead of its copies (H100: 15.4 vs 3.9 ms per
            batch of 64; ``benchmarks/nvjpeg_contention.py``).

    The copy threads' stream is high-priority: its copies and decodes (a few short kernels) are
    scheduled ahead of a training step's kernels instead of queueing behind them.

    Attributes:
        stats (dict): the copy thread's seconds so far: ``'wait'`` (for the loader's next batch),
            ``'pin'``, ``'copy'`` (launching the copies / nvjpeg decode), and ``'batches'``.
    """

    def __init__(self, loader: Iterable[TopdownBatch], device: Union[str, torch.device], *,
                 max_device_batches: int = 2, decode_jpeg: bool = False, pin: bool = True,
                 more_loaders: Sequence[Iterable[TopdownBatch]] = (), decode_to_bgr: bool = False,
                 jpeg_decoder: str = "auto") -> None:
        self.loader = loader
        self.device = torch.device(device)
        if int(max_device_batches) < 1:
            raise ValueError(f"max_device_batches must be >= 1, got {max_device_batches}")
        self.max_device_batches = int(max_device_batches)
        self.decode_jpeg = bool(decode_jpeg)
        if self.decode_jpeg and self.device.type != "cuda":
            raise ValueError(f"decode_jpeg needs a CUDA device, got {self.device}")
        self.pin = bool(pin)
        self.more_loaders = list(more_loaders)
        self.decode_to_bgr = bool(decode_to_bgr)
        if jpeg_decoder not in ("auto", "pyposefast", "torchvision"):
            raise ValueError(f"jpeg_decoder must be 'auto', 'pyposefast' or 'torchvision', got {jpeg_decoder!r}")
        self.jpeg_decoder = jpeg_decoder
        if self.more_loaders and self.max_device_batches < len(self.more_loaders) + 1:
            raise ValueError(f"max_device_batches ({self.max_device_batches}) must be at least the number of "
                             f"sources ({len(self.more_loaders) + 1})")
        self.stats: Dict[str, float] = {"wait": 0.0, "pin": 0.0, "copy": 0.0, "batches": 0}
        self._decoders: Dict[int, Any] = {}

    def __iter__(self) -> Iterator[TopdownBatch]:
        if self.device.type != "cuda":
            for src in [self.loader] + self.more_loaders:
                for b in src:
                    yield b.to(self.device)
            return
        yield from self._iter_cuda()

    def _copy(self, batch: TopdownBatch, decoder: Any = None) -> TopdownBatch:
        if self.decode_jpeg and getattr(batch, "encoded", False):
            return decode_jpeg_batch(batch, self.device, bgr=self.decode_to_bgr, decoder=decoder)
        return batch.to(self.device, non_blocking=True)

    def _make_decoder(self, source: int) -> Any:
        """Source ``source``'s :class:`NvjpegDecoder` (made once, kept across iterations: a hardware
        decoder is costly to set up), or None for torchvision (see ``jpeg_decoder``)."""
        if not self.decode_jpeg or self.jpeg_decoder == "torchvision":
            return None
        if source in self._decoders:
            return self._decoders[source]
        from .nvjpeg import NvjpegDecoder, nvjpeg_available

        if self.jpeg_decoder == "auto" and not nvjpeg_available():
            return None
        self._decoders[source] = NvjpegDecoder(self.device)
        return self._decoders[source]

    def _pinned(self, batch: TopdownBatch) -> TopdownBatch:
        """``batch`` page-locked (multi-threaded copy) unless it already is, or is encoded for nvjpeg."""
        images = getattr(batch, "images", None)
        data = getattr(images, "data", None)
        if (not self.pin or (self.decode_jpeg and getattr(batch, "encoded", False)) or not isinstance(data, Tensor)
                or data.device.type != "cpu" or data.is_pinned()):
            return batch
        return batch.pin_memory()

    def _iter_cuda(self) -> Iterator[TopdownBatch]:
        if self.decode_jpeg and queues_limited():
            warnings.warn(f"DevicePrefetcher decodes on the GPU while CUDA may give this process's streams fewer than "
                          f"32 hardware queues: nvJPEG's decodes then wait for the training step's kernels (on the "
                          f"H100, 17.5% slower ResNet-50 training than with 32). Set {CUDA_QUEUES_ENV}=32 before "
                          f"CUDA starts (importing pyposefast first does it).", RuntimeWarning, stacklevel=3)
        sources = [self.loader] + list(self.more_loaders)
        slots = threading.Semaphore(self.max_device_batches)
        handoff: "queue.Queue[Any]" = queue.Queue()
        stop = threading.Event()

        # the loaders' workers start here, on the calling (main) thread: starting worker processes
        # from the copy thread hung on the H100 machine (a forkserver launch that never returned)
        iterators = [iter(src) for src in sources]

        def produce(batches: Iterator[Any], source: int) -> None:
            stats = self.stats
            stream = torch.cuda.Stream(self.device, priority=-1)  # high priority (lower is higher)
            try:
                with torch.cuda.device(self.device):
                    decoder = self._make_decoder(source)
                    while True:
                        t0 = time.perf_counter()
                        cpu_batch = next(batches, _END)
                        if cpu_batch is _END:
                            break
                        t1 = time.perf_counter()
                        cpu_batch = self._pinned(cpu_batch)
                        t2 = time.perf_counter()
                        while not slots.acquire(timeout=0.05):
                            if stop.is_set():
                                return
                        if stop.is_set():
                            return
                        t3 = time.perf_counter()
                        # never during a CUDA-graph capture (see pyposefast._capture)
                        with capture_gate.copying(), torch.cuda.stream(stream):
                            dev_batch = self._copy(cpu_batch, decoder)
                            ready = torch.cuda.Event()
                            ready.record(stream)
                        stats["wait"] += t1 - t0
                        stats["pin"] += t2 - t1
                        stats["copy"] += time.perf_counter() - t3
                        stats["batches"] += 1
                        lease = getattr(cpu_batch, "lease", None)
                        if lease is not None:  # a pool slot: reusable once the copy has completed
                            lease.release(ready)
                        handoff.put((dev_batch, ready))
                handoff.put(_END)
            except BaseException as e:  # re-raised on the consumer's thread
                handoff.put(_LoaderFailure(e))

        threads = [threading.Thread(target=produce, args=(it, i), name=f"DevicePrefetcher-{i}", daemon=True)
                   for i, it in enumerate(iterators)]
        for thread in threads:
            thread.start()
        holding = False
        running = len(threads)
        try:
            while True:
                if holding:  # the previous batch is no longer ours: its slot may be refilled
                    slots.release()
                    holding = False
                item = handoff.get()
                if item is _END:
                    running -= 1
                    if running == 0:
                        return
                    continue
                if isinstance(item, _LoaderFailure):
                    raise item.error
                batch, ready = item
                holding = True
                consumer = torch.cuda.current_stream(self.device)
                consumer.wait_event(ready)
                for t in _device_tensors(batch):
                    t.record_stream(consumer)
                yield batch
        finally:
            stop.set()
            for _ in range(self.max_device_batches + len(threads)):
                slots.release()
            # the threads may be waiting for a loader's next batch: let them finish before the loader
            # is iterated again (a persistent-workers DataLoader resets the same iterator)
            for thread in threads:
                thread.join(timeout=60.0)
                if thread.is_alive():
                    warnings.warn("DevicePrefetcher: a loader thread did not stop within 60 s", RuntimeWarning)


def map_on_side_stream(fn: Any, batches: Iterable[Any], device: Union[str, torch.device]) -> Iterator[Any]:
    """``fn(batch)`` for each batch, launched on a high-priority side stream on CUDA so that it runs on
    the GPU beside the consumer's work on the previous batch (the training step), not after it.

    The consumer's stream waits for each result with an event (no host synchronisation), and the
    result's tensors are marked as used by it. The host launches ``fn`` for batch i+1 while the GPU
    still runs step i, so the pipeline's kernels (crops, targets: ~1 ms per 64 samples) overlap the
    step instead of adding to it; the high priority lets their few blocks in between the step's. On
    the CPU this is ``map(fn, batches)``. Pull ``batches`` (e.g. a :class:`DevicePrefetcher`) only
    through this: its batches are then handed over to the side stream.

    Args:
        fn (callable): batch -> a tensor, or a dict / list / tuple of tensors (e.g.
            ``TopdownBatchPipeline``'s output). Runs on the calling thread.
        batches (iterable): the input batches (on ``device``).
        device (str or torch.device): where they are.

    Yields:
        ``fn``'s results, in order, ready to use on the consumer's current stream.
    """
    device = torch.device(device)
    if device.type != "cuda":
        for b in batches:
            yield fn(b)
        return
    side = torch.cuda.Stream(device, priority=-1)
    it = iter(batches)
    try:
        while True:
            with torch.cuda.stream(side):  # the prefetcher hands its batch to the current (side) stream
                batch = next(it, _END)
                if batch is _END:
                    return
                out = fn(batch)
                done = torch.cuda.Event()
                done.record(side)
            consumer = torch.cuda.current_stream(device)
            consumer.wait_event(done)
            for t in _result_tensors(out):
                if t.is_cuda:
                    t.record_stream(consumer)
            yield out
    finally:
        close = getattr(it, "close", None)
        if close is not None:
            close()


def _result_tensors(out: Any) -> List[Tensor]:
    if isinstance(out, Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (list, tuple)):
        return [t for v in out for t in _result_tensors(v)]
    return []


def _device_tensors(batch: Any) -> List[Tensor]:
    """Every CUDA tensor of a batch dataclass (RaggedImages' buffers included)."""
    out: List[Tensor] = []
    for f in fields(batch):
        v = getattr(batch, f.name)
        if isinstance(v, RaggedImages):
            out += [v.data, v.offsets, v.sizes]
        elif isinstance(v, Tensor):
            out.append(v)
    return [t for t in out if t.is_cuda]


def decode_jpeg_batch(batch: TopdownBatch, device: Union[str, torch.device], bgr: bool = False,
                      decoder: Any = None) -> TopdownBatch:
    """Decode a CPU batch of JPEG bytes with nvJPEG onto ``device``: through ``decoder`` (a
    :class:`~pyposefast.datasets.nvjpeg.NvjpegDecoder`, pyposefast's binding) when given, else
    ``torchvision.io.decode_jpeg``.

    Args:
        batch (TopdownBatch): ``encoded`` batch on the CPU (``images`` holds the files' bytes).
        device (str or torch.device): a CUDA device.
        bgr (bool): channels in BGR order (as OpenCV decodes) instead of RGB. Defaults to False.
        decoder (NvjpegDecoder, optional): decodes on the current stream, straight into the batch.

    Returns:
        TopdownBatch: RGB (or BGR) HWC uint8 images and the annotations on ``device`` (``encoded`` False).
    """
    device = torch.device(device)
    images = batch.images
    if images.data.device.type != "cpu":
        images = images.to("cpu")
    offsets, sizes = images.cpu_offsets.tolist(), images.cpu_sizes.tolist()
    data = [images.data[o:o + h * w] for o, (h, w) in zip(offsets, sizes)]
    if decoder is not None:
        rgb = decoder.decode(data, bgr=bgr)
    else:
        try:
            from torchvision.io import decode_jpeg  # optional dependency
        except ImportError:
            raise ImportError("decoding JPEG on the device needs pyposefast's nvJPEG binding (pip install "
                              "nvidia-nvjpeg) or torchvision") from None
        decoded = decode_jpeg(data, device=device)
        rgb = RaggedImages.from_images([(d.flip(0) if bgr else d).permute(1, 2, 0) for d in decoded])
    rest = TopdownBatch(batch.images, batch.bbox, batch.keypoints, batch.keypoints_visible, batch.bbox_score,
                        batch.index, False).to(device, non_blocking=True)
    rest.images = RaggedImages(rgb.data, rgb.offsets.to(device, non_blocking=True),
                               rgb.sizes.to(device, non_blocking=True), 3, rgb.cpu_offsets, rgb.cpu_sizes)
    return rest


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
