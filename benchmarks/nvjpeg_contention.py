"""Why does nvJPEG decoding slow down while the GPU trains? Time one decode call (64 640x480 JPEGs)
alone and while a graphed ResNet-50 step runs in the main thread, with the training on the legacy
default stream or on a stream of its own, and nvJPEG's memory pools (flag 2) off or on.

    python benchmarks/nvjpeg_contention.py
"""
import os
import tempfile
import threading
import time

import numpy as np
import torch

from pyposefast.datasets import generate_synthetic_coco, load_coco_keypoints
from pyposefast.datasets.nvjpeg import NvjpegDecoder


def decode_times(files, flags, stop, out, n=30, parts=None):
    torch.cuda.set_device(0)
    dec = NvjpegDecoder("cuda", flags=flags)
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


def main():
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
    for where in ("default", "own"):
        ctx = torch.cuda.stream(own) if where == "own" else torch.cuda.stream(torch.cuda.default_stream())
        with ctx:
            for _ in range(5):
                step(batch["inputs"], batch)
            torch.cuda.synchronize()
    for flags in (0, 2):
        alone = []
        decode_times(files, flags, threading.Event(), alone)
        print(f"nvJPEG flags {flags}: decode alone {1e3 * np.median(alone):.1f} ms (median of {len(alone)})",
              flush=True)
        for where in ("own", "default"):
            stop, times, parts = threading.Event(), [], {}
            t = threading.Thread(target=decode_times, args=(files, flags, stop, times, 30, parts))
            ctx = torch.cuda.stream(own) if where == "own" else torch.cuda.stream(torch.cuda.default_stream())
            steps = 0
            with ctx:
                t.start()
                t0 = time.perf_counter()
                while t.is_alive():
                    step(batch["inputs"], batch)
                    steps += 1
                torch.cuda.synchronize()
                dt = time.perf_counter() - t0
            print(f"nvJPEG flags {flags}, training on the {where} stream: "
                  f"decode {1e3 * np.median(times):.1f} ms "
                  f"(median of {len(times)}; ms per call: " + ", ".join(f"{k} {v:.1f}" for k, v in parts.items())
                  + f"), training {64 * steps / dt:.0f} samples/s meanwhile", flush=True)


if __name__ == "__main__":
    main()
