"""Throughput of the data pipeline: the batched device pipeline vs the per-sample (MMPose-style) path,
and what the pipeline costs a training step.

Top-down COCO 256x192 on the synthetic dataset (640x480 JPEGs), decode included, the same number of
data-loader workers (default: every core) for every row. The per-sample path runs
``LoadImage -> ... -> GenerateTarget -> PackPoseInputs`` in the workers and then normalises on the
device (what MMPose's data preprocessor does); the device path decodes in the workers and does the
rest batched on the device (:class:`~pyposefast.datasets.DevicePrefetcher` copies on a side stream
from a background thread). On CUDA it also times training steps of ResNet-50 SimpleBaseline (batch
64, MSRA heatmaps) and RTMPose-s (batch 256, SimCC labels), on pre-made tensors and fed by the
pipeline, and prints the pipeline's cost in % of the model-alone rate (issue 9: at most 5%).
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

__all__ = ["run_pipeline"]


class _PerSampleDataset(torch.utils.data.Dataset):
    def __init__(self, records, pipeline) -> None:
        self.records, self.pipeline = records, pipeline

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, i):
        import copy

        if not getattr(self, "_one_opencv_thread", False):  # as MMPose's workers (cv2.setNumThreads(0))
            import cv2

            cv2.setNumThreads(1)
            self._one_opencv_thread = True
        s = self.pipeline(copy.copy(self.records[i]))
        return (s["inputs"], torch.from_numpy(s["data_samples"]["gt_fields"]["heatmaps"]),
                torch.from_numpy(np.asarray(s["data_samples"]["gt_instance_labels"]["keypoint_weights"])))


def _per_sample_collate(items):
    return tuple(torch.stack([it[j] for it in items]) for j in range(3))


class _Timing:
    """Samples/s of a loop, and the main thread's time blocked waiting for data."""

    def __init__(self, rate: float, wait_ms: float, busy_ms: float) -> None:
        self.rate, self.wait_ms, self.busy_ms = rate, wait_ms, busy_ms


def _time_loop(source, consume: Callable[[Any], int], batches: int, sync: Callable[[], None],
               warmup: int = 3) -> _Timing:
    """Run ``consume`` on ``batches`` items of ``source`` after ``warmup`` items (workers started,
    caches and queues full); ``source`` restarts when exhausted."""
    it = iter(source)

    def take():
        nonlocal it
        try:
            return next(it)
        except StopIteration:
            it = iter(source)
            return next(it)

    for _ in range(warmup):
        consume(take())
    sync()
    n, wait, busy = 0, 0.0, 0.0
    t0 = time.perf_counter()
    for _ in range(batches):
        t1 = time.perf_counter()
        b = take()
        t2 = time.perf_counter()
        n += consume(b)
        wait += t2 - t1
        busy += time.perf_counter() - t2
    sync()
    elapsed = time.perf_counter() - t0
    _close(it)
    return _Timing(n / elapsed, 1e3 * wait / batches, 1e3 * busy / batches)


class _SideStream:
    """An iterable of ``fn(batch)`` over ``source`` through :func:`map_on_side_stream` (restartable)."""

    def __init__(self, source, fn, device) -> None:
        self.source, self.fn, self.device = source, fn, device

    def __iter__(self):
        from .datasets.pipeline import map_on_side_stream

        return map_on_side_stream(self.fn, self.source, self.device)


class _Repeat:
    """One resident batch, forever (the pipeline's and the step's cost without any feed)."""

    def __init__(self, batch) -> None:
        self.batch = batch
        self.stats = {"wait": 0.0, "pin": 0.0, "copy": 0.0, "batches": 0}

    def __iter__(self):
        while True:
            yield self.batch


def _close(it) -> None:
    """Stop a generator (a DevicePrefetcher's thread) before its loader is iterated again."""
    close = getattr(it, "close", None)
    if close is not None:
        close()


def _first(source):
    it = iter(source)
    item = next(it)
    _close(it)
    return item


def _decode_costs(records, count: int) -> Tuple[float, float]:
    """Milliseconds per image to read the file and to decode it (one thread, this process)."""
    import cv2

    paths = [r["img_path"] for r in records[:count]]
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    t0 = time.perf_counter()
    blobs = [np.fromfile(p, dtype=np.uint8) for p in paths]
    t1 = time.perf_counter()
    for b in blobs:
        cv2.imdecode(b, cv2.IMREAD_COLOR)
    t2 = time.perf_counter()
    cv2.setNumThreads(threads)
    return 1e3 * (t1 - t0) / len(paths), 1e3 * (t2 - t1) / len(paths)


def _train_step_fn(model, optimizer, target_keys: List[str], graph: bool, max_steps_ahead: int = 2):
    """One bf16 training step of a pyposefast estimator on (inputs, targets): eager, or captured in
    a CUDA graph per batch shape (:class:`~pyposefast.engine.GraphedTrainStep`); the host kept at
    most ``max_steps_ahead`` steps ahead of the GPU, as the Trainer (0: no limit)."""
    from .engine.graphed_step import GraphedTrainStep
    from .engine.run_ahead import RunAheadLimit

    def compute_loss(b: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return model.loss(b["inputs"].contiguous(memory_format=torch.channels_last),
                          **{k: b[k] for k in target_keys})

    graphed = GraphedTrainStep(model, optimizer, compute_loss, amp="bf16", enabled=graph)
    run_ahead = RunAheadLimit(next(model.parameters()).device, max_steps_ahead)

    def step(inputs: torch.Tensor, targets: Dict[str, torch.Tensor]) -> int:
        graphed({"inputs": inputs, **{k: targets[k] for k in target_keys}})
        run_ahead()
        return int(inputs.shape[0])

    return step


def _per_sample_row(records, meta, heatmap_codec, batch, batches, workers, ctx, cuda, device, sync, results, row):
    """The per-sample path: everything in the workers (MMPose-style), then normalisation on the device."""
    from .datasets import per_sample as T
    from .datasets.pipeline import loader_worker_init

    ps = T.Compose([
        T.LoadImage(), T.GetBBoxCenterScale(), T.RandomFlip(prob=0.5, flip_indices=meta["flip_indices"]),
        T.RandomHalfBody(upper_body_ids=meta["upper_body_ids"], lower_body_ids=meta["lower_body_ids"]),
        T.RandomBBoxTransform(), T.TopdownAffine((192, 256)), T.GenerateTarget(heatmap_codec), T.PackPoseInputs()])

    ps_loader = torch.utils.data.DataLoader(_PerSampleDataset(records, ps), batch_size=batch, shuffle=True,
                                            num_workers=workers, collate_fn=_per_sample_collate, drop_last=True,
                                            persistent_workers=workers > 0, pin_memory=cuda,
                                            multiprocessing_context=ctx,
                                            worker_init_fn=loader_worker_init if workers > 0 else None)
    mean = torch.tensor([123.675, 116.28, 103.53], device=device).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375], device=device).view(1, 3, 1, 1)

    def consume_ps(b):
        img = b[0].to(device, non_blocking=True).flip(1).float()
        _ = ((img - mean) / std, b[1].to(device, non_blocking=True), b[2].to(device, non_blocking=True))
        return b[0].shape[0]

    results["per_sample"] = _time_loop(ps_loader, consume_ps, batches, sync).rate
    row("per_sample", "per-sample (MMPose-style, in workers)", batch)
    del ps_loader


def run_pipeline(quick: bool, use_cuda: bool, out: Callable[[str], None] = print,
                 data_root: Optional[str] = None, num_workers: Optional[int] = None,
                 batch_size: Optional[int] = None, batches: Optional[int] = None,
                 num_images: Optional[int] = None, sections: Sequence[str] = ("feeds", "train"),
                 models: Sequence[str] = ("resnet50", "rtmpose_s"),
                 train_steps: Sequence[str] = ("graph", "eager"),
                 train_feeds: Optional[Sequence[str]] = None, train_stream_own: bool = True,
                 train_max_ahead: int = 2) -> Dict[str, float]:
    """Measure and print the throughput table (samples/s), one run.

    Args:
        quick (bool): fewer images and batches (a smoke run).
        use_cuda (bool): run the device pipeline (and the training steps) on CUDA.
        out (callable): printer. Defaults to ``print``.
        data_root (str, optional): where the synthetic dataset is (generated if absent).
        num_workers (int, optional): data-loader workers for every row; default ``os.cpu_count()``.
        batch_size (int, optional): batch of the throughput rows. Defaults to 64 (32 quick).
        batches (int, optional): timed batches per row. Defaults to 60 (4 quick).
        num_images (int, optional): synthetic 640x480 images. Defaults to 300 (40 quick).
        sections (sequence of str): ``'workers'``: the pipeline fed by decoding workers (part of
            ``'feeds'``); ``'feeds'``: every way of feeding the pipeline (loader alone,
            per-sample path, the DataLoader's pin thread, pooled buffers, pageable copies, nvjpeg;
            not the mixed feed, which runs only when named);
            ``'train'``: the training rows (CUDA, fed by the fastest feed measured); ``'pin_thread'``,
            ``'pooled'``, ``'nvjpeg'``, ``'mixed'``: those feeds alone (parts of ``'feeds'``). The batched
            pipeline alone on a resident batch is always measured.
        models (sequence of str): the training rows' models, ``'resnet50'`` and / or ``'rtmpose_s'``.
        train_steps (sequence of str): how the training rows run a step: ``'graph'`` (the whole
            step one CUDA graph, :class:`~pyposefast.engine.GraphedTrainStep`) and / or ``'eager'``.
        train_feeds (sequence of str, optional): what feeds the training rows: ``'device_pipeline'``
            (workers decode), ``'device_pipeline_pooled'`` (workers decode into reused page-locked
            slots), ``'device_pipeline_nvjpeg'`` (nvjpeg on the device, pyposefast's binding;
            ``'..._nvjpeg_torchvision'``: torchvision's; ``'..._nvjpeg2'`` / ``'..._nvjpeg3'``: 2 / 3
            decoding threads), ``'device_pipeline_mixed'`` (pooled CPU workers and an nvjpeg thread;
            experimental: one of three H100 runs hung), ``'device_pipeline_resident'`` (one resident
            raw batch: the pipeline's cost without decoding); default the fastest measured.
        train_stream_own (bool): the training rows run on a stream of their own (as the
            ``Trainer``); False: on the legacy default stream. Defaults to True.
        train_max_ahead (int): training steps in flight at most, alone and fed alike
            (:class:`~pyposefast.engine.run_ahead.RunAheadLimit`, as the ``Trainer``; 0: no limit).
            Defaults to 2.

    Returns:
        dict: samples/s per row: ``loader_only`` (workers decode + pack, nothing else),
        ``per_sample``, ``device_pipeline`` (decode included), ``device_pipeline_nvjpeg`` (CUDA with
        torchvision), ``device_only`` (the pipeline on a resident raw batch); on CUDA for
        ``resnet50`` and ``rtmpose_s``: ``<model>_train`` (pre-made tensors),
        ``<model>_train_with_pipeline`` and ``<model>_pipeline_cost_pct`` (graphed steps; eager
        ones under ``<model>_eager_*``).
    """
    from .codecs import MSRAHeatmap, SimCCLabel
    from .datasets import dataset_meta, generate_synthetic_coco, load_coco_keypoints
    from .datasets.pipeline import DevicePrefetcher, TopdownBatchPipeline, build_topdown_loader

    device = torch.device("cuda" if use_cuda and torch.cuda.is_available() else "cpu")
    workers = num_workers if num_workers is not None else (os.cpu_count() or 1)
    batch = batch_size or (32 if quick else 64)
    batches = batches or (4 if quick else 60)
    root = data_root or os.path.join(tempfile.gettempdir(), "pyposefast_bench_synthetic")
    paths = generate_synthetic_coco(root, num_train=num_images or (40 if quick else 300), num_val=1,
                                    image_size=(640, 480), seed=0)
    records = load_coco_keypoints(paths["train_ann"], paths["train_img_prefix"]).records
    # an epoch longer than any timed loop (no epoch boundary inside a measurement)
    records = records * max(1, -(-(batches + 8) * 256 // max(len(records), 1)))
    meta = dataset_meta("coco")
    heatmap_codec = MSRAHeatmap((192, 256), (48, 64), 2.0)
    cuda = device.type == "cuda"
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)
    results: Dict[str, float] = {}
    notes: Dict[str, str] = {}
    # forkserver workers: no inherited CUDA context; they can set OpenCV's threads safely (a forked
    # child of a process whose OpenCV pool ran can deadlock doing so) and exit without running
    # static destructors (spawned per-sample workers abort at exit: "terminate called ...")
    ctx = "forkserver" if workers > 0 else None
    read_ms, decode_ms = _decode_costs(records, 16 if quick else 64)

    out(f"pipeline throughput, top-down COCO 256x192 from 640x480 JPEGs (decode included), {workers} workers, "
        f"device {device.type}" + (f" ({torch.cuda.get_device_name(device)})" if cuda else "")
        + f", {torch.get_num_threads()} main-process threads")
    out(f"one core: read {read_ms:.2f} ms + decode {decode_ms:.2f} ms per image -> decode ceiling with {workers} "
        f"workers ~{workers * 1e3 / (read_ms + decode_ms):.0f} images/s")
    out(f"{'path':<52} {'batch':>5} {'samples/s':>10}  notes")

    def row(key: str, label: str, bs: int) -> None:  # printed as soon as measured (partial runs keep rows)
        if key in results:
            out(f"{label:<52} {bs:>5} {results[key]:>10.1f}  {notes.get(key, '')}")
        elif key in notes:
            out(f"{label:<52} {bs:>5} {'-':>10}  {notes[key]}")

    def loader(bs: int, encoded: bool = False, pin_thread: bool = False):
        # pin_thread: the DataLoader's pin thread page-locks (one thread); else the prefetcher does
        # (DevicePrefetcher(pin=True): all intra-op threads)
        return build_topdown_loader(records, bs, workers, pin_memory=cuda and pin_thread and not encoded,
                                    drop_last=True, encoded=encoded, multiprocessing_context=ctx, seed=0)

    def copy_note(p) -> str:
        n = max(1, p.stats["batches"])
        note = (f"; copy thread per batch: {1e3 * p.stats['wait'] / n:.1f} ms waiting for the loader, "
                f"{1e3 * p.stats['pin'] / n:.1f} pinning, {1e3 * p.stats['copy'] / n:.1f} copying")
        decoders = list(getattr(p, "_decoders", {}).values())
        if decoders:  # where the nvJPEG decode calls spent it (per batch, all decoding threads together)
            parts = {k: sum(d.stats[k] for d in decoders) for k in ("prepare", "wait", "decode", "finish")}
            note += " (nvjpeg: " + ", ".join(f"{k} {1e3 * v / n:.1f}" for k, v in parts.items()) + ")"
        return note

    # 1. the loader alone: workers decode and pack; the ceiling of any decode-in-workers path
    feeds_rows = "feeds" in sections
    # one 16-worker loader per process where possible: a second one's forkserver launch hung at
    # times on the H100 host ("pickle data was truncated" in the forkserver child)
    workers_rows = feeds_rows or "workers" in sections
    decode_loader = loader(batch) if workers_rows else None
    if feeds_rows:
        results["loader_only"] = _time_loop(decode_loader, lambda b: len(b), batches, lambda: None).rate
        row("loader_only", "workers decode + pack only (loader ceiling)", batch)
        _per_sample_row(records, meta, heatmap_codec, batch, batches, workers, ctx, cuda, device, sync, results, row)

    # 3. the batched pipeline fed by the workers (decode included)
    pipe = TopdownBatchPipeline.from_meta(meta, (192, 256), heatmap_codec)
    gen = torch.Generator(device=device).manual_seed(0)
    def main_process_loader(bs: int):  # decodes in this process: a resident batch, no workers
        return build_topdown_loader(records, bs, 0, drop_last=True, seed=0)

    prefetch = DevicePrefetcher(decode_loader if workers_rows else main_process_loader(batch), device)

    def consume_dev(b):
        return pipe(b, generator=gen)["inputs"].shape[0]

    if workers_rows:
        fed = _time_loop(prefetch, consume_dev, batches, sync)
        results["device_pipeline"] = fed.rate
        notes["device_pipeline"] = (f"main thread: {fed.wait_ms:.1f} ms/batch waiting for data, {fed.busy_ms:.1f} in "
                                    f"the pipeline" + (copy_note(prefetch) if cuda else ""))
        row("device_pipeline", f"batched pipeline on {device.type}, workers decode", batch)
    if cuda and ("feeds" in sections or "pin_thread" in sections):  # the DataLoader's pin thread instead
        pt_loader = loader(batch, pin_thread=True)
        pt_prefetch = DevicePrefetcher(pt_loader, device)
        pt = _time_loop(pt_prefetch, consume_dev, batches, sync)
        results["device_pipeline_pin_thread"] = pt.rate
        notes["device_pipeline_pin_thread"] = (f"main thread waits {pt.wait_ms:.1f} ms/batch for data"
                                               + copy_note(pt_prefetch))
        row("device_pipeline_pin_thread", "batched pipeline, DataLoader's pin thread pins", batch)
        del pt_loader, pt_prefetch
    resident = _first(prefetch)
    alone = _time_loop([resident] * (batches + 4), consume_dev, batches, sync)
    results["device_only"] = alone.rate
    notes["device_only"] = f"{alone.busy_ms:.1f} ms/batch of host time to launch it"
    row("device_only", "pipeline alone (resident raw batch)", batch)

    has_tv = importlib.util.find_spec("torchvision") is not None
    pooled_loader = None
    if feeds_rows or "pooled" in sections:
        # reused shared-memory slots (page-locked on CUDA): no per-batch allocation, faults or pin copy
        pooled_loader = build_topdown_loader(records, batch, workers, pin_memory=cuda, drop_last=True,
                                             multiprocessing_context=ctx, seed=0, reuse_buffers=True,
                                             max_image_size=(640, 480))
        pooled_prefetch = DevicePrefetcher(pooled_loader, device)
        pooled = _time_loop(pooled_prefetch, consume_dev, batches, sync)
        results["device_pipeline_pooled"] = pooled.rate
        notes["device_pipeline_pooled"] = (f"main thread waits {pooled.wait_ms:.1f} ms/batch for data"
                                           + ("" if not cuda else f"; slots page-locked: {pooled_loader.pool.pinned}"
                                              + copy_note(pooled_prefetch)))
        row("device_pipeline_pooled", "batched pipeline, reused shared buffers", batch)
        if cuda and feeds_rows:  # nobody pins: pageable copies from the prefetch thread
            unpinned_loader = loader(batch)
            unpinned = _time_loop(DevicePrefetcher(unpinned_loader, device, pin=False), consume_dev, batches, sync)
            results["device_pipeline_unpinned"] = unpinned.rate
            notes["device_pipeline_unpinned"] = f"main thread waits {unpinned.wait_ms:.1f} ms/batch for data"
            row("device_pipeline_unpinned", "batched pipeline, not pinned (pageable copies)", batch)
            del unpinned_loader

    if cuda and ("feeds" in sections or "nvjpeg" in sections):  # nvjpeg decoding on the device
        from .datasets.nvjpeg import NvjpegDecoder, nvjpeg_available

        decoders = {"device_pipeline_nvjpeg": "pyposefast", "device_pipeline_nvjpeg_torchvision": "torchvision"}
        ours = nvjpeg_available()
        if ours:
            probe = NvjpegDecoder(device)
            notes["device_pipeline_nvjpeg"] = f"pyposefast's nvJPEG binding, {probe.backend} backend"
            del probe
        for key, who in decoders.items():
            if (who == "pyposefast" and not ours) or (who == "torchvision" and not has_tv):
                notes[key] = f"skipped: {'nvJPEG not found' if who == 'pyposefast' else 'torchvision not installed'}"
            else:
                nv_loader = loader(batch, encoded=True)
                nv_prefetch = DevicePrefetcher(nv_loader, device, decode_jpeg=True, decode_to_bgr=True,
                                               jpeg_decoder=who)
                nv = _time_loop(nv_prefetch, consume_dev, batches, sync)
                results[key] = nv.rate
                notes[key] = (notes.get(key, who) + f"; main thread waits {nv.wait_ms:.1f} ms/batch for data"
                              + copy_note(nv_prefetch))
                del nv_loader, nv_prefetch
            row(key, f"batched pipeline, nvjpeg decode on the device ({who})", batch)

    mixed_workers = max(1, workers - 2)  # two cores for the main process (its threads, nvjpeg's host side)

    def mixed_feed(bs: int, prefetch: Optional[int]):
        """Workers decode some batches into reused page-locked slots (CPU) while a thread of this
        process reads other batches' files and nvjpeg decodes them on the GPU: two sources, one
        DevicePrefetcher thread each, batches taken as they are ready. The file-reading source has
        no workers (reading 64 files takes ~2 ms): one worker pool per process (see above)."""
        cpu_loader = build_topdown_loader(records, bs, mixed_workers, pin_memory=True, drop_last=True,
                                          multiprocessing_context=ctx, seed=0, prefetch_factor=prefetch,
                                          reuse_buffers=True, max_image_size=(640, 480))
        nv_loader = build_topdown_loader(records, bs, 0, drop_last=True, encoded=True, seed=1)
        return DevicePrefetcher(cpu_loader, device, decode_jpeg=True, more_loaders=[nv_loader], decode_to_bgr=True,
                                max_device_batches=3), [cpu_loader, nv_loader]

    def nvjpeg_threads_feed(bs: int, threads: int):
        """``threads`` worker-less sources, each reading files and decoding with its own nvJPEG
        decoder in its own thread (batches in no fixed order across sources; the ``Trainer``'s
        ordered form is ``DevicePrefetcher(decode_threads=...)``): one thread decodes about 8,000
        images/s beside training on the H100, RTMPose-s at batch 256 needs 9,000."""
        loaders = [build_topdown_loader(records, bs, 0, drop_last=True, encoded=True, seed=i) for i in range(threads)]
        return DevicePrefetcher(loaders[0], device, decode_jpeg=True, more_loaders=loaders[1:], decode_to_bgr=True,
                                max_device_batches=threads + 1), loaders

    # only on request: an earlier form (two worker pools, torchvision) hung once in a DataLoader reset
    if cuda and "mixed" in sections:
        mx_prefetch, mx_loaders = mixed_feed(batch, None)
        mx = _time_loop(mx_prefetch, consume_dev, batches, sync)
        results["device_pipeline_mixed"] = mx.rate
        notes["device_pipeline_mixed"] = (f"{mixed_workers} workers decode, a thread reads files for nvjpeg; "
                                          f"main thread waits {mx.wait_ms:.1f} ms/batch for data"
                                          + copy_note(mx_prefetch))
        row("device_pipeline_mixed", "batched pipeline, CPU and nvjpeg decode mixed", batch)
        del mx_prefetch, mx_loaders

    train_rows: List[Tuple[str, str, int]] = []
    feeds = {"device_pipeline": "workers decode", "device_pipeline_pooled": "reused buffers",
             "device_pipeline_nvjpeg": "nvjpeg", "device_pipeline_nvjpeg_torchvision": "nvjpeg, torchvision",
             "device_pipeline_mixed": "CPU + nvjpeg decode",
             "device_pipeline_nvjpeg2": "nvjpeg, 2 threads", "device_pipeline_nvjpeg3": "nvjpeg, 3 threads",
             "device_pipeline_resident": "one resident raw batch, no decode"}
    if train_feeds is None:  # the fastest feed measured above feeds training
        measured = [k for k in feeds if k in results]
        train_feeds = [max(measured, key=lambda k: results[k])] if measured else ["device_pipeline_resident"]
    for f in train_feeds:
        if f not in feeds:
            raise ValueError(f"train_feeds: unknown feed {f!r}; choose from {sorted(feeds)}")

    def feed_loader(feed: str, bs: int, prefetch: Optional[int]):
        pooled = feed == "device_pipeline_pooled"
        return build_topdown_loader(records, bs, workers, pin_memory=pooled, drop_last=True,
                                    encoded=feed.startswith("device_pipeline_nvjpeg"), multiprocessing_context=ctx,
                                    seed=0, prefetch_factor=prefetch, reuse_buffers=pooled, max_image_size=(640, 480))
    if cuda and "train" in sections:
        from .models import build_model

        torch.backends.cudnn.benchmark = True
        simcc = SimCCLabel((192, 256), sigma=(4.9, 5.66), simcc_split_ratio=2.0, normalize=False)
        # the training on a stream of its own (not the legacy default stream, with which synchronous
        # CUDA calls from other threads, e.g. inside a decoding library, would wait for the step)
        train_stream = torch.cuda.Stream(device) if train_stream_own else torch.cuda.default_stream(device)
        with torch.cuda.stream(train_stream):
            for key, name, codec, bs, keys, make_opt in (
                ("resnet50", "resnet50_coco_256x192", heatmap_codec, 64, ["heatmaps", "keypoint_weights"],
                 lambda p: torch.optim.Adam(p, lr=5e-4)),
                ("rtmpose_s", "rtmpose-s_coco_256x192", simcc, 32 if quick else 256,
                 ["keypoint_x_labels", "keypoint_y_labels", "keypoint_weights"],
                 lambda p: torch.optim.AdamW(p, lr=4e-3, weight_decay=0.05)),
            ):
                if key not in models:
                    continue
                steps, alone = {}, {}
                for i, feed in enumerate(train_feeds):
                    nvjpeg = feed.startswith("device_pipeline_nvjpeg")
                    mpipe = TopdownBatchPipeline.from_meta(meta, (192, 256), codec)  # nvjpeg decodes to BGR too
                    # one batch ahead per worker for big batches: 256 decoded images are ~236 MB
                    prefetch = 1 if workers and bs > batch else None
                    if feed == "device_pipeline_mixed":
                        mprefetch, mloader = mixed_feed(bs, prefetch)
                    elif feed in ("device_pipeline_nvjpeg2", "device_pipeline_nvjpeg3"):
                        mprefetch, mloader = nvjpeg_threads_feed(bs, int(feed[-1]))
                    else:
                        plain = feed in ("device_pipeline", "device_pipeline_resident")
                        if decode_loader is not None and bs == batch and plain:
                            mloader = decode_loader
                        elif feed == "device_pipeline_resident":
                            mloader = main_process_loader(bs)
                        else:
                            mloader = feed_loader(feed, bs, prefetch)
                        who = "torchvision" if feed.endswith("torchvision") else "auto"
                        mprefetch = DevicePrefetcher(mloader, device, decode_jpeg=nvjpeg, decode_to_bgr=True,
                                                     jpeg_decoder=who)
                    raw_first = _first(mprefetch)
                    first = mpipe(raw_first, generator=gen)
                    if feed == "device_pipeline_resident":  # the pipeline without decoding or copying
                        mprefetch = _Repeat(raw_first)
                    # the pipeline on a high-priority side stream, overlapping the previous step
                    fed_source = _SideStream(mprefetch, lambda b, mpipe=mpipe: mpipe(b, generator=gen), device)
                    for mode in train_steps:  # 'graph': the whole step one CUDA graph; 'eager': op by op
                        tag = key if mode == "graph" else f"{key}_eager"
                        if mode not in steps:
                            model = build_model(name).to(device).to(memory_format=torch.channels_last).train()
                            steps[mode] = _train_step_fn(model, make_opt(model.parameters()), keys,
                                                         graph=mode == "graph", max_steps_ahead=train_max_ahead)
                            fixed = first  # the model alone: the same batch every step, nothing else running
                            only = _time_loop([None] * (batches + 4),
                                              lambda _, st=steps[mode]: st(fixed["inputs"], fixed), batches, sync)
                            alone[mode] = only
                            results[f"{tag}_train"] = only.rate
                            notes[f"{tag}_train"] = f"{only.busy_ms:.1f} ms/batch host time"
                            train_rows.append((f"{tag}_train", f"{name} train step alone (bf16, {mode})", bs))
                            row(*train_rows[-1])

                        def consume_train(o, step=steps[mode]):
                            return step(o["inputs"], o)

                        mprefetch.stats.update(wait=0.0, pin=0.0, copy=0.0, batches=0)
                        for dec in getattr(mprefetch, "_decoders", {}).values():
                            dec.stats.update(prepare=0.0, wait=0.0, decode=0.0, finish=0.0, calls=0)
                        with_pipe = _time_loop(fed_source, consume_train, batches, sync)
                        # the first feed's rows keep the plain names; others carry the feed's
                        ftag = tag if i == 0 else f"{tag}_{feed.replace('device_pipeline', 'workers').split('_')[-1]}"
                        fed_key = f"{ftag}_train_with_pipeline"
                        cost = 100.0 * (1.0 - with_pipe.rate / alone[mode].rate)
                        results[fed_key] = with_pipe.rate
                        results[f"{ftag}_pipeline_cost_pct"] = cost
                        notes[fed_key] = (f"cost {cost:+.1f}%; main thread waits {with_pipe.wait_ms:.1f} ms/batch for "
                                          f"data" + copy_note(mprefetch))
                        train_rows.append((fed_key, f"{name} fed ({feeds[feed]}, {mode})", bs))
                        row(*train_rows[-1])
                    del mprefetch, first, raw_first, fed_source
                    if mloader is not decode_loader:
                        del mloader
                del steps
                torch.cuda.empty_cache()

    if "per_sample" in results and "device_pipeline" in results:
        out(f"speed-up of the batched pipeline over the per-sample path: "
            f"{results['device_pipeline'] / results['per_sample']:.2f}x")
    if cuda:
        best = max(results.get("device_pipeline", 0.0), results.get("device_pipeline_nvjpeg", 0.0),
                   results.get("device_pipeline_mixed", 0.0),
                   results.get("device_pipeline_unpinned", 0.0), results.get("device_pipeline_pooled", 0.0))
        out(f"target >= 5000 samples/s decode included: {'met' if best >= 5000 else 'NOT met'} ({best:.0f})")
        for key in [k for k in results if k.endswith("_pipeline_cost_pct") and "_train" not in k]:
            cost = results[key]
            out(f"{key[:-len('_pipeline_cost_pct')]}: the pipeline costs {cost:.1f}% of the model-alone training rate "
                f"({'within' if cost <= 5.0 else 'OVER'} the 5% budget)")
    return results


if __name__ == "__main__":  # pragma: no cover
    import sys

    run_pipeline("--quick" in sys.argv, "--cuda" in sys.argv)
