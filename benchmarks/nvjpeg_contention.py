"""Why does nvJPEG decoding slow down while the GPU trains? Time one decode call (64 640x480 JPEGs)
alone and while a graphed ResNet-50 step runs in the main thread on a stream of its own, for several
decoder settings (pre-allocated hardware buffers or not, nvJPEG flags). With ``--profile``, also list
the CUDA runtime/driver calls the decoding thread made while training ran (torch.profiler / CUPTI),
longest first: what a decode call waits in.

    python benchmarks/nvjpeg_contention.py [--variants plain,preallocate] [--profile] [--legacy-stream]
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

VARIANTS = {  # name -> NvjpegDecoder keyword arguments
    "plain": dict(preallocate=False),
    "preallocate": dict(preallocate=True),
    "preallocate+no_pipeline": dict(preallocate=True, flags=1),
}


def decode_times(files, options, stop, out, n=30, parts=None, tid=None):
    torch.cuda.set_device(0)
    if tid is not None:
        tid.append(threading.get_native_id())
    dec = NvjpegDecoder("cuda", **options)
    stream = torch.cuda.Stream(priority=-1)
    with torch.cuda.stream(stream):
        for _ in range(3):
            dec.decode(files)
        torch.cuda.synchronize()
        dec.stats.update(prepare=0.0, wait=0.0, decode=0.0, finish=0.0, calls=0)
        for _ in range(n):
            t0 = time.perf_counter()
            dec.decode(files)
            ev = torch.cuda.Event()
            ev.record(stream)
            ev.synchronize()
            out.append(time.perf_counter() - t0)
            if stop.is_set():
                break
    if parts is not None:
        k = max(1, dec.stats["calls"])
        parts.update({name: 1e3 * v / k for name, v in dec.stats.items() if name != "calls"})
        parts["reserved"] = dec._impl.reserved


def summarize_trace(path, tid, top=12):
    """The decoding thread's CUDA API calls in a chrome trace: (name, count, total ms, max ms)."""
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    api = [e for e in events if e.get("ph") == "X" and e.get("cat") in ("cuda_runtime", "cuda_driver")]
    mine = [e for e in api if e.get("tid") == tid]
    if not mine:
        tids = collections.Counter(e.get("tid") for e in api)
        print(f"  no CUDA API events on thread {tid}; threads with events: {dict(tids.most_common(6))}")
        return
    agg = collections.defaultdict(lambda: [0, 0.0, 0.0])
    for e in mine:
        a = agg[e["name"]]
        a[0] += 1
        a[1] += e.get("dur", 0) / 1e3
        a[2] = max(a[2], e.get("dur", 0) / 1e3)
    print("  decoding thread's CUDA API calls (name: count, total ms, max ms), longest total first:")
    for name, (count, total, longest) in sorted(agg.items(), key=lambda kv: -kv[1][1])[:top]:
        print(f"    {name}: {count}, {total:.1f}, {longest:.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated: " + ", ".join(VARIANTS))
    parser.add_argument("--profile", action="store_true", help="trace the decoding thread's CUDA API calls")
    parser.add_argument("--legacy-stream", action="store_true", help="also train on the legacy default stream")
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
    step = _train_step_fn(model, opt, ["heatmaps", "keypoint_weights"], True)
    batch = {"inputs": torch.randn(64, 3, 256, 192, device="cuda"),
             "heatmaps": torch.rand(64, 17, 64, 48, device="cuda"),
             "keypoint_weights": torch.ones(64, 17, device="cuda")}
    own = torch.cuda.Stream()
    wheres = ("own", "default") if args.legacy_stream else ("own",)
    for where in wheres:
        ctx = torch.cuda.stream(own) if where == "own" else torch.cuda.stream(torch.cuda.default_stream())
        with ctx:
            t0 = time.perf_counter()
            for _ in range(30):
                step(batch["inputs"], batch)
            torch.cuda.synchronize()
            print(f"training alone on the {where} stream: {64 * 30 / (time.perf_counter() - t0):.0f} samples/s",
                  flush=True)
    for variant in args.variants.split(","):
        options = VARIANTS[variant]
        alone = []
        decode_times(files, options, threading.Event(), alone)
        print(f"[{variant}] decode alone {1e3 * np.median(alone):.1f} ms (median of {len(alone)})", flush=True)
        for where in wheres:
            stop, times, parts, tid = threading.Event(), [], {}, []
            t = threading.Thread(target=decode_times, args=(files, options, stop, times, 30, parts, tid))
            ctx = torch.cuda.stream(own) if where == "own" else torch.cuda.stream(torch.cuda.default_stream())
            prof = None
            if args.profile:
                prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU,
                                                          torch.profiler.ProfilerActivity.CUDA])
                prof.__enter__()
            steps = 0
            with ctx:
                t.start()
                t0 = time.perf_counter()
                while t.is_alive():
                    step(batch["inputs"], batch)
                    steps += 1
                torch.cuda.synchronize()
                dt = time.perf_counter() - t0
            print(f"[{variant}] training on the {where} stream: decode {1e3 * np.median(times):.1f} ms "
                  f"(median of {len(times)}; ms per call: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in parts.items() if k != "reserved")
                  + f"; reserved {parts.get('reserved')}), training {64 * steps / dt:.0f} samples/s meanwhile",
                  flush=True)
            if prof is not None:
                prof.__exit__(None, None, None)
                trace = os.path.join(tempfile.gettempdir(), f"nvjpeg_contention_{variant}_{where}.json")
                prof.export_chrome_trace(trace)
                summarize_trace(trace, tid[0])


if __name__ == "__main__":
    main()
