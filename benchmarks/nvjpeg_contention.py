"""Why does nvJPEG decoding slow down while the GPU trains? Time one decode call (64 640x480 JPEGs)
alone and while a graphed ResNet-50 step runs in the main thread on a stream of its own, for several
decoder settings (pre-allocated hardware buffers or not, nvJPEG flags). With ``--profile``, also list
the CUDA runtime/driver calls the decoding thread made while training ran (torch.profiler / CUPTI),
longest first: what a decode call waits in.

The training loop can be bounded (``--ahead 2``: before launching step i it waits for step i-2 to
finish) to see whether a host running far ahead of the GPU, with the device's launch queue full, is
what a decode call waits for; a GIL probe thread (wake-up latency of 0.5 ms sleeps while training
runs alone) shows whether the training thread holds the GIL while it blocks.

    python benchmarks/nvjpeg_contention.py [--variants plain,preallocate] [--ahead 0 2] [--profile]
"""
import argparse
import collections
import json
import os
import tempfile
import threading
import time

import numpy as np
import torch

from pyposefast.datasets import generate_synthetic_coco, load_coco_keypoints
from pyposefast.datasets.nvjpeg import NvjpegDecoder
from pyposefast.engine import RunAheadLimit

VARIANTS = {  # name -> NvjpegDecoder keyword arguments
    "plain": dict(preallocate=False),
    "preallocate": dict(preallocate=True),
    "preallocate+no_pipeline": dict(preallocate=True, flags=1),
}


def decode_times(files, options, stop, out, n=30, parts=None, tid=None):
    torch.cuda.set_device(0)
    if tid is not None:
        ident = threading.get_ident()
        tid += [threading.get_native_id(), ident, ident & 0xFFFFFFFF]
    dec = NvjpegDecoder("cuda", **options)
    stream = torch.cuda.Stream(priority=-1)
    with torch.cuda.stream(stream):
        for _ in range(3):
            dec.decode(files)
        torch.cuda.synchronize()
        dec.stats.update(prepare=0.0, wait=0.0, decode=0.0, finish=0.0, calls=0)
        whole = 0.0
        for _ in range(n):
            t0 = time.perf_counter()
            dec.decode(files)
            whole += time.perf_counter() - t0
            ev = torch.cuda.Event()
            ev.record(stream)
            ev.synchronize()
            out.append(time.perf_counter() - t0)
            if stop.is_set():
                break
    if parts is not None:
        k = max(1, dec.stats["calls"])
        parts.update({name: 1e3 * v / k for name, v in dec.stats.items() if name != "calls"})
        parts["whole call"] = 1e3 * whole / k
        parts["reserved"] = dec._impl.reserved


def train_while(alive, step, batch, ahead):
    """Run training steps while ``alive()``; ahead > 0: at most that many steps in flight. Returns steps."""
    limit = RunAheadLimit("cuda", ahead)
    steps = 0
    while alive():
        step(batch["inputs"], batch)
        limit()
        steps += 1
    return steps


def gil_probe(stop, out):
    """Wake-up latency beyond a 0.5 ms sleep, in ms, until ``stop`` is set (GIL hand-over delay)."""
    while not stop.is_set():
        t0 = time.perf_counter()
        time.sleep(0.0005)
        out.append(1e3 * (time.perf_counter() - t0 - 0.0005))


def summarize_trace(path, ids, top=12):
    """The decoding thread's CUDA API calls in a chrome trace: (name, count, total ms, max ms)."""
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    api = [e for e in events if e.get("ph") == "X" and e.get("cat") in ("cuda_runtime", "cuda_driver")]
    by_tid = collections.defaultdict(list)
    for e in api:
        by_tid[e.get("tid")].append(e)
    for tid, mine in sorted(by_tid.items(), key=lambda kv: -len(kv[1]))[:4]:
        agg = collections.defaultdict(lambda: [0, 0.0, 0.0])
        for e in mine:
            a = agg[e["name"]]
            a[0] += 1
            a[1] += e.get("dur", 0) / 1e3
            a[2] = max(a[2], e.get("dur", 0) / 1e3)
        who = "decoding thread" if tid in ids else "thread"
        print(f"  {who} {tid}: CUDA API calls (name: count, total ms, max ms), longest total first:")
        for name, (count, total, longest) in sorted(agg.items(), key=lambda kv: -kv[1][1])[:top]:
            print(f"    {name}: {count}, {total:.1f}, {longest:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--profile", action="store_true", help="trace the decoding thread's CUDA API calls")
    parser.add_argument("--legacy-stream", action="store_true", help="also train on the legacy default stream")
    parser.add_argument("--ahead", type=int, nargs="+", default=[0], help="training steps queued at most (0: any)")
    args = parser.parse_args()
    root = os.path.join(tempfile.gettempdir(), "pyposefast_bench_synthetic")
    paths = generate_synthetic_coco(root, num_train=300, num_val=1, image_size=(640, 480), seed=0)
    recs = load_coco_keypoints(paths["train_ann"], paths["train_img_prefix"]).records
    files = [np.fromfile(r["img_path"], np.uint8) for r in recs[:64]]
    from pyposefast.benchmark_pipeline import _train_step_fn
    from pyposefast.models import build_model

    torch.backends.cudnn.benchmark = True
    model = build_model("resnet50_coco_256x192").cuda().to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(model.parameters(), lr=5e-4)
    step = _train_step_fn(model, opt, ["heatmaps", "keypoint_weights"], True, max_steps_ahead=0)  # see --ahead
    batch = {"inputs": torch.randn(64, 3, 256, 192, device="cuda"),
             "heatmaps": torch.rand(64, 17, 64, 48, device="cuda"),
             "keypoint_weights": torch.ones(64, 17, device="cuda")}
    own = torch.cuda.Stream()
    wheres = ("own", "default") if args.legacy_stream else ("own",)
    for where in wheres:
        ctx = torch.cuda.stream(own) if where == "own" else torch.cuda.stream(torch.cuda.default_stream())
        with ctx:
            for _ in range(10):  # capture, cuDNN autotuning
                step(batch["inputs"], batch)
            torch.cuda.synchronize()
            for ahead in args.ahead:
                stop, lat = threading.Event(), []
                probe = threading.Thread(target=gil_probe, args=(stop, lat))
                probe.start()
                t0 = time.perf_counter()
                n = train_while(lambda: time.perf_counter() - t0 < 1.5, step, batch, ahead)
                torch.cuda.synchronize()
                dt = time.perf_counter() - t0
                stop.set()
                probe.join()
                print(f"training alone on the {where} stream, ahead {ahead}: {64 * n / dt:.0f} samples/s; "
                      f"GIL probe wake-up delay median {np.median(lat):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms, "
                      f"max {np.max(lat):.2f} ms", flush=True)
    for variant in args.variants.split(","):
        options = VARIANTS[variant]
        alone = []
        decode_times(files, options, threading.Event(), alone)
        print(f"[{variant}] decode alone {1e3 * np.median(alone):.1f} ms (median of {len(alone)})", flush=True)
        for where, ahead in [(w, a) for w in wheres for a in args.ahead]:
            stop, times, parts, tid = threading.Event(), [], {}, []
            t = threading.Thread(target=decode_times, args=(files, options, stop, times, 30, parts, tid))
            ctx = torch.cuda.stream(own) if where == "own" else torch.cuda.stream(torch.cuda.default_stream())
            prof = None
            if args.profile:
                prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                          torch.profiler.ProfilerActivity.CUDA])
                prof.__enter__()
            with ctx:
                t.start()
                t0 = time.perf_counter()
                steps = train_while(t.is_alive, step, batch, ahead)
                torch.cuda.synchronize()
                dt = time.perf_counter() - t0
            print(f"[{variant}] training on the {where} stream, ahead {ahead}: "
                  f"decode {1e3 * np.median(times):.1f} ms (median of {len(times)}; ms per call: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in parts.items() if k != "reserved")
                  + f"; reserved {parts.get('reserved')}), training {64 * steps / dt:.0f} samples/s meanwhile",
                  flush=True)
            if prof is not None:
                prof.__exit__(None, None, None)
                trace = os.path.join(tempfile.gettempdir(), f"nvjpeg_contention_{variant}_{where}_{ahead}.json")
                prof.export_chrome_trace(trace)
                summarize_trace(trace, set(tid))


if __name__ == "__main__":
    main()
