"""Model throughput: network alone vs end to end, per model and batch size.

End to end (``TopdownInference``): crop every person box out of its image (``warp_affine``, uint8
images already on the device, normalised, BGR->RGB), the flipped crop too, the network on both,
flip merge, batched device decode, back to image pixels. Network alone: the same two forward passes
on ready crops. ``overhead = e2e / network - 1`` is what the post-processing adds; the acceptance
check is < 10% at batch 64 on CUDA.

Method (the eager networks are launch-bound at these sizes, so timing them eagerly measures the
Python/launch overhead, which swings between runs):

* column ``cuda graph``: both paths captured once each (``StaticGraph``), timed by replaying;
* second column: ``eager`` (default) or ``compile`` (``torch.compile(mode="max-autotune-no-cudagraphs")``
  of the network, e.g. ``python -m pyposefast.benchmark_models --second compile``);
* the two paths are timed alternately (network, e2e, network, e2e ...), ``repeats`` rounds of
  ``iters`` calls each (CUDA events on CUDA); we report the median time per call, its spread
  (max - min over the rounds, relative to the median) and the median and range of the per-round
  ratio ``e2e_i / network_i - 1`` (each from one adjacent pair, so drift between rounds cancels).

Inputs: 16 images of 640x480 uint8 (CPU: 2 images, model input 64x64), ``batch`` boxes spread over
them, fp16 autocast on CUDA.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable, Optional, Sequence

import torch

__all__ = ["run_models", "measure_interleaved"]

NAMES = ("hrnet-w32_coco_256x192", "rtmpose-m_coco_256x192")


def _time_calls(fn: Callable[[], object], iters: int, device: torch.device) -> float:
    """Seconds per call of ``iters`` back-to-back calls."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1e3 / iters
    t = time.perf_counter()
    for _ in range(iters):
        fn()
    return (time.perf_counter() - t) / iters


def measure_interleaved(network: Callable[[], object], end_to_end: Callable[[], object], device: torch.device,
                        repeats: int, iters: int, warmup: int = 2) -> dict:
    """Time ``network`` and ``end_to_end`` alternately (A B A B ...).

    Returns:
        dict: ``network_ms`` / ``e2e_ms`` (medians, ms per call), ``network_spread`` / ``e2e_spread``
        ((max - min) / median over the rounds), ``overhead`` (median of the per-round
        ``e2e_i / network_i - 1``), ``overhead_min``, ``overhead_max``, ``repeats``, ``iters``.
    """
    for _ in range(warmup):
        network()
        end_to_end()
    if device.type == "cuda":
        torch.cuda.synchronize()
    nets, e2es = [], []
    for _ in range(repeats):
        nets.append(_time_calls(network, iters, device))
        e2es.append(_time_calls(end_to_end, iters, device))
    ratios = [e / n - 1 for n, e in zip(nets, e2es)]
    net_med, e2e_med = statistics.median(nets), statistics.median(e2es)
    return dict(network_ms=net_med * 1e3, e2e_ms=e2e_med * 1e3, network_spread=(max(nets) - min(nets)) / net_med,
                e2e_spread=(max(e2es) - min(e2es)) / e2e_med, overhead=statistics.median(ratios),
                overhead_min=min(ratios), overhead_max=max(ratios), repeats=repeats, iters=iters)


def _inputs(batch: int, input_size: tuple[int, int], device: torch.device, num_images: int,
            image_size: tuple[int, int] = (640, 480)):
    from .datasets.ragged import RaggedImages
    from .structures.bbox import get_warp_matrix

    W, H = image_size
    w, h = input_size
    g = torch.Generator().manual_seed(0)
    images = [torch.randint(0, 256, (H, W, 3), generator=g, dtype=torch.uint8) for _ in range(num_images)]
    ragged = RaggedImages.from_images(images).to(device)
    center = torch.rand(batch, 2, generator=g) * torch.tensor([W * 0.6, H * 0.5]) + torch.tensor([W * 0.2, H * 0.25])
    height = torch.rand(batch, 1, generator=g) * H * 0.3 + H * 0.2
    scale = torch.cat([height * w / h, height], 1) * 1.25
    mats = get_warp_matrix(center.double(), scale.double(), 0.0, (w, h))
    index = torch.arange(batch) % num_images
    return ragged, mats.to(device), index.to(device), center.to(device), scale.to(device)


def _row(name: str, batch: int, device: torch.device, mode: str, input_size: Optional[tuple[int, int]],
         repeats: int, iters: int, num_images: int, compile_mode: str = "max-autotune-no-cudagraphs") -> dict:
    from .models import build_model
    from .models.cuda_graph import StaticGraph
    from .models.inference import TopdownInference

    model = build_model(name, **({"input_size": input_size} if input_size else {})).to(device).eval()
    e2e = TopdownInference(model, autocast_dtype=torch.float16 if device.type == "cuda" else None)
    args = _inputs(batch, tuple(model.head.decoder.input_size), device, num_images)
    with torch.no_grad():
        crops = e2e.crop(*args[:3])
        flipped = e2e.crop(*args[:3], flip=True)

    def network_fn(c, f):
        with torch.no_grad():
            return e2e.network(c, f)

    if mode == "cuda graph":
        net_graph = StaticGraph(network_fn, crops, flipped, capture=True)
        e2e_graph = StaticGraph(e2e, *args, capture=True)
        network, end_to_end = net_graph.replay, e2e_graph.replay
    else:
        if mode == "compile":
            e2e.compile_network(mode=compile_mode)

        def network():
            return network_fn(crops, flipped)

        # eager: the box -> image index stays on the host (pinned), so warp_affine checks it without
        # a device sync per call, as an inference loop would pass it
        index = args[2].cpu().pin_memory() if device.type == "cuda" else args[2]
        eager_args = (args[0], args[1], index, args[3], args[4])

        def end_to_end():
            return e2e(*eager_args)

    row = measure_interleaved(network, end_to_end, device, repeats, iters, warmup=2 if device.type == "cuda" else 1)
    row.update(model=name, batch=batch, device=str(device), mode=mode, e2e_crops_per_s=batch / row["e2e_ms"] * 1e3)
    return row


def run_models(quick: bool = False, use_cuda: Optional[bool] = None, out=print, names: Sequence[str] = NAMES,
               batches: Optional[Sequence[int]] = None, second: str = "eager",
               repeats: Optional[int] = None, compile_mode: str = "max-autotune-no-cudagraphs") -> list[dict]:
    """Print the throughput table and return its rows.

    Args:
        quick (bool): fewer rounds (and on CUDA only batch 64).
        use_cuda (bool, optional): run on CUDA (default: when available). The CPU run uses a smaller
            model input (64x64), 2 images and batch 2 (a smoke run on a small machine).
        out (callable): printer.
        names (sequence of str): models to time.
        batches (sequence of int, optional): default (1, 16, 64) on CUDA, (2,) on the CPU.
        second (str): the column next to ``cuda graph``: ``'eager'`` or ``'compile'``.
        repeats (int, optional): rounds per measurement (default 15 on CUDA, 3 on the CPU; quick: 5 / 2).
        compile_mode (str): ``torch.compile`` mode of the ``'compile'`` column (the network only).

    Returns:
        list[dict]: one row per model, batch and mode (``'cuda graph'`` and ``second``) with the
        ``measure_interleaved`` fields plus ``model``, ``batch``, ``device``, ``mode``, ``e2e_crops_per_s``.
    """
    if second not in ("eager", "compile"):
        raise ValueError(f"second must be 'eager' or 'compile', got {second!r}")
    use_cuda = torch.cuda.is_available() if use_cuda is None else use_cuda
    device = torch.device("cuda" if use_cuda else "cpu")
    if use_cuda:
        torch.backends.cudnn.benchmark = True  # fixed shapes per row; the warm-up calls pick the algorithms
        batches = batches or ((64,) if quick else (1, 16, 64))
        repeats = repeats or (5 if quick else 15)
        iters, num_images, input_size = 10, 16, None
        modes = ("cuda graph", second)
    else:
        batches = batches or (2,)
        repeats = repeats or (2 if quick else 3)
        iters, num_images, input_size = 1, 2, (64, 64)
        modes = (second,)
    rows = []
    out(f"models on {device} ({'fp16 autocast' if use_cuda else 'fp32, input 64x64'}), {num_images} images "
        f"640x480 uint8 on the device; network = forward of the crops and the flipped crops; e2e = crop + "
        f"flipped crop + network + flip merge + decode + back to image. {repeats} alternating rounds of {iters} "
        "calls: median ms per call (spread = (max-min)/median), overhead = median of e2e_i/network_i - 1 [range]")
    def cell(row: dict) -> str:
        return (f"{row['network_ms']:8.3f} ({100 * row['network_spread']:4.1f}%) {row['e2e_ms']:8.3f} "
                f"({100 * row['e2e_spread']:4.1f}%) {100 * row['overhead']:+6.1f}% "
                f"[{100 * row['overhead_min']:+5.1f},{100 * row['overhead_max']:+5.1f}]")

    width = len(cell(dict(network_ms=0, network_spread=0, e2e_ms=0, e2e_spread=0, overhead=0, overhead_min=0,
                          overhead_max=0)))
    out(f"{'':32s} " + " | ".join(f"{m:^{width}s}" for m in modes))
    head = f"{'net ms (spread)':>17s} {'e2e ms (spread)':>17s} {'overhead [min,max]':>22s}"
    out(f"{'model':26s} {'batch':>5s} " + " | ".join(f"{head:>{width}s}" for _ in modes) + f" {'e2e crops/s':>12s}")
    for name in names:
        for batch in batches:
            line = []
            for mode in modes:
                row = _row(name, batch, device, mode, input_size, repeats, iters, num_images, compile_mode)
                rows.append(row)
                line.append(row)
            out(f"{name:26s} {batch:5d} " + " | ".join(cell(r) for r in line) +
                f" {line[0]['e2e_crops_per_s']:12.0f}")
            if use_cuda:
                torch.cuda.empty_cache()
    for row in rows:
        if row["batch"] == 64 and row["mode"] == "cuda graph":
            verdict = "PASS" if row["overhead"] < 0.10 else "FAIL"
            out(f"acceptance ({row['model']}, batch 64, cuda graph): post-processing adds {100 * row['overhead']:.1f}% "
                f"(< 10%): {verdict}")
    return rows


def main(argv: Optional[list[str]] = None) -> int:
    """``python -m pyposefast.benchmark_models [--second eager|compile] [--compile-mode M] [--batch N ...]
    [--model NAME ...] [--repeats R] [--quick] [--cpu]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pyposefast.benchmark_models", description=__doc__.splitlines()[0])
    parser.add_argument("--second", choices=["eager", "compile"], default="eager")
    parser.add_argument("--compile-mode", default="max-autotune-no-cudagraphs",
                        help="torch.compile mode of the 'compile' column (e.g. default, max-autotune-no-cudagraphs)")
    parser.add_argument("--batch", type=int, action="append", default=None)
    parser.add_argument("--model", action="append", default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--cpu", action="store_true")
    args = parser.parse_args(argv)
    run_models(args.quick, False if args.cpu else None, names=tuple(args.model or NAMES), batches=args.batch,
               second=args.second, repeats=args.repeats, compile_mode=args.compile_mode)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
