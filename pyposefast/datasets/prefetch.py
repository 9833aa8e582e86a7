"""Getting batches onto the CUDA device without stalling the training step.

:class:`DevicePrefetcher` copies (or nvJPEG-decodes) the loader's CPU batches on a high-priority
side stream in background threads and hands them over with events; :func:`map_on_side_stream` runs
the device pipeline on a side stream so it overlaps the previous step; :func:`decode_jpeg_batch`
decodes an encoded batch with nvJPEG.
"""

from __future__ import annotations

import queue
import threading
import time
import warnings
from dataclasses import fields
from typing import TYPE_CHECKING, Any, Dict, Iterable, Iterator, List, Sequence, Union

import torch

from .._capture import capture_gate
from .._cuda_queues import ENV as CUDA_QUEUES_ENV
from .._cuda_queues import queues_limited
from .ragged import RaggedImages

if TYPE_CHECKING:
    from .pipeline import TopdownBatch

__all__ = ["DevicePrefetcher", "map_on_side_stream", "decode_jpeg_batch"]

Tensor = torch.Tensor


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
        decode_threads (int): with ``decode_jpeg``, how many threads decode the loader's batches,
            each with its own nvJPEG decoder and stream (CUDA; one loader, no ``more_loaders``).
            They take batches in turn and hand them over in the loader's order, so training stays
            exactly reproducible. One thread decodes about 8,000 images/s beside training on the
            H100; RTMPose-s at batch 256 trains on 9,000/s and needs 2. Defaults to 1.

    The copy threads' stream is high-priority: its copies and decodes (a few short kernels) are
    scheduled ahead of a training step's kernels instead of queueing behind them.

    Attributes:
        stats (dict): the copy thread's seconds so far: ``'wait'`` (for the loader's next batch),
            ``'pin'``, ``'copy'`` (launching the copies / nvjpeg decode), and ``'batches'``.
    """

    def __init__(self, loader: Iterable[TopdownBatch], device: Union[str, torch.device], *,
                 max_device_batches: int = 2, decode_jpeg: bool = False, pin: bool = True,
                 more_loaders: Sequence[Iterable[TopdownBatch]] = (), decode_to_bgr: bool = False,
                 jpeg_decoder: str = "auto", decode_threads: int = 1) -> None:
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
        self.decode_threads = int(decode_threads)
        if self.decode_threads < 1:
            raise ValueError(f"decode_threads must be >= 1, got {decode_threads}")
        if self.decode_threads > 1 and (not self.decode_jpeg or self.more_loaders):
            raise ValueError("decode_threads > 1 needs decode_jpeg=True and a single loader (no more_loaders)")
        # each decoding thread holds a slot while it decodes, and the consumer one
        self.max_device_batches = max(self.max_device_batches, self.decode_threads + 1)
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
        stop = threading.Event()
        ordered = self.decode_threads > 1  # one loader, several decoding threads taking turns
        handoffs: List["queue.Queue[Any]"] = [queue.Queue() for _ in range(self.decode_threads if ordered else 1)]

        # the loaders' workers start here, on the calling (main) thread: starting worker processes
        # from the copy thread hung on the H100 machine (a forkserver launch that never returned)
        iterators = [iter(src) for src in sources]
        if ordered:
            turns = _Turns(iterators[0], self.decode_threads, slots, stop)
            iterators = [turns.batches(k) for k in range(self.decode_threads)]

        def produce(batches: Iterator[Any], source: int) -> None:
            handoff = handoffs[source if ordered else 0]
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
                        while not ordered and not slots.acquire(timeout=0.05):  # ordered: taken in turn
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
        sequence = 0
        try:
            while True:
                if holding:  # the previous batch is no longer ours: its slot may be refilled
                    slots.release()
                    holding = False
                # ordered: batch i comes from thread i % decode_threads; its end is the loader's end
                item = handoffs[sequence % len(handoffs)].get()
                sequence += 1
                if item is _END:
                    running -= 1
                    if running == 0 or ordered:
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


class _Turns:
    """One loader iterator shared by ``n`` threads that take its batches in turn (thread k gets
    batches k, k + n, ...) and take a device slot before passing the turn on, so slots are held by
    the earliest batches and an in-order consumer cannot wait for a batch that has no slot."""

    def __init__(self, it: Iterator[Any], n: int, slots: threading.Semaphore, stop: threading.Event) -> None:
        self.it, self.n, self.slots, self.stop = it, n, slots, stop
        self.turn = 0
        self.ended = False
        self.cond = threading.Condition()

    def batches(self, k: int) -> Iterator[Any]:
        s = k
        while True:
            with self.cond:
                while self.turn != s:
                    if self.stop.is_set():
                        return
                    self.cond.wait(timeout=0.05)
                try:
                    batch = _END if self.ended else next(self.it, _END)
                    if batch is _END:
                        self.ended = True
                    else:
                        while not self.slots.acquire(timeout=0.05):
                            if self.stop.is_set():
                                return
                finally:
                    self.turn += 1
                    self.cond.notify_all()
            if batch is _END:
                return
            yield batch
            s += self.n


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
    from .pipeline import TopdownBatch

    rest = TopdownBatch(batch.images, batch.bbox, batch.keypoints, batch.keypoints_visible, batch.bbox_score,
                        batch.index, False).to(device, non_blocking=True)
    rest.images = RaggedImages(rgb.data, rgb.offsets.to(device, non_blocking=True),
                               rgb.sizes.to(device, non_blocking=True), 3, rgb.cpu_offsets, rgb.cpu_sizes)
    return rest
