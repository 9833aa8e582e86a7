"""How the demo's recipe was chosen: run ``pyposefast.demo.run_demo`` for several settings side by
side (one process each, in parallel) and tabulate COCO AP (the validation curve too), training
throughput and time.

    python benchmarks/demo_sweep.py --out sweep --device cuda --variants base e24 w16_e16
    python benchmarks/demo_sweep.py --out sweep --device cpu --threads 2 --variants base --parallel 1

A variant is a name from :data:`VARIANTS` (``DemoSettings`` overrides). The synthetic dataset is
generated once before the runs start. Output: the table on stdout and ``<out>/sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

#: variant name -> DemoSettings overrides (the rest is pyposefast.demo.FULL)
VARIANTS = {
    "base": {},
    "e16": {"epochs": 16},
    "e24": {"epochs": 24},
    "dark": {"unbiased": True},
    "lr3": {"lr": 3e-3},
    "w16_e16": {"width": 16, "epochs": 16},
    "w16_e24": {"width": 16, "epochs": 24},
    "w24_e12": {"width": 24, "epochs": 12},
    "in64_e24": {"input_size": [64, 96], "epochs": 24},
    "simcc_e16": {"head": "simcc", "epochs": 16},
    "heatmap": {"head": "heatmap"},
    "bs32_lr3_e16": {"batch_size": 32, "lr": 3e-3, "epochs": 16},
    "w16_e24_dark": {"width": 16, "epochs": 24, "unbiased": True},
    "w16_e32_lr3": {"width": 16, "epochs": 32, "lr": 3e-3},
    "sigma3": {"sigma": 3.0},
    "lr3_e12": {"lr": 3e-3, "epochs": 12},
    "lr3_e16": {"lr": 3e-3, "epochs": 16},
    "lr3_e24": {"lr": 3e-3, "epochs": 24},
    "lr5_e12": {"lr": 5e-3, "epochs": 12},
    "bs32_lr5_e16": {"batch_size": 32, "lr": 5e-3, "epochs": 16},
    "w16_lr5_e24": {"width": 16, "lr": 5e-3, "epochs": 24},
    "in64_lr5_e24": {"input_size": [64, 96], "lr": 5e-3, "epochs": 24},
    "w16_in64_lr5_e32": {"width": 16, "input_size": [64, 96], "lr": 5e-3, "epochs": 32},
    "w24": {"width": 24},
    "bs32": {"batch_size": 32},
    "w16": {"width": 16},
    "in64": {"input_size": [64, 96]},
    "w16_in64": {"width": 16, "input_size": [64, 96]},
    "simcc": {"head": "simcc"},
    # equal CPU cost (about base's 8 epochs at 2 threads: rates measured with --device cpu --epochs 1)
    "lr5": {"lr": 5e-3},
    "w24_lr3_e10": {"width": 24, "lr": 3e-3, "epochs": 10},
    "w16_lr5_e18": {"width": 16, "lr": 5e-3, "epochs": 18},
    "in64_lr5_e13": {"input_size": [64, 96], "lr": 5e-3, "epochs": 13},
    "w16_in64_lr5_e26": {"width": 16, "input_size": [64, 96], "lr": 5e-3, "epochs": 26},
    "simcc_lr5_e13": {"head": "simcc", "lr": 5e-3, "epochs": 13},
    "bs32_lr5": {"batch_size": 32, "lr": 5e-3},
    # about 7.5 minutes of training on 2 cores
    "w16_lr5_e14": {"width": 16, "lr": 5e-3, "epochs": 14},
    "w16_lr8_e14": {"width": 16, "lr": 8e-3, "epochs": 14},
    "w16_lr5_e14_dark": {"width": 16, "lr": 5e-3, "epochs": 14, "unbiased": True},
    "w16_lr5_e14_s1.5": {"width": 16, "lr": 5e-3, "epochs": 14, "sigma": 1.5},
    "w12_lr5_e20": {"width": 12, "lr": 5e-3, "epochs": 20},
    "w16_lr5_e14_wu50": {"width": 16, "lr": 5e-3, "epochs": 14, "warmup_iters": 50},
    "w16_lr5_e14_mmaug": {"width": 16, "lr": 5e-3, "epochs": 14, "augment": "mmpose"},
    "w12": {"width": 12},
    # after the CPU speed-ups (about 270 samples/s on 2 cores): 36 epochs in about 8.5 minutes
    "e36": {"epochs": 36},
    "e36_lr8": {"epochs": 36, "lr": 8e-3},
}


def _one(name: str, out: str, device: str, epochs: int = 0) -> None:
    """Run one variant in this process (the child side)."""
    from dataclasses import replace

    from pyposefast.demo import FULL, run_demo

    over = dict(VARIANTS[name])
    if "input_size" in over:
        over["input_size"] = tuple(over["input_size"])
    if epochs:  # e.g. 1: a training-rate run
        over["epochs"] = epochs
    s = replace(FULL, vis_images=2, **over)
    run_demo(os.path.join(out, name), device=device, settings=s, log=lambda m: print(m, flush=True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="demo_sweep")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--parallel", type=int, default=4, help="runs at once")
    ap.add_argument("--threads", type=int, default=2, help="torch / OpenCV threads per run")
    ap.add_argument("--pin", action="store_true", help="run i on cores [t*i, t*i+t) (taskset; t = --threads)")
    ap.add_argument("--epochs", type=int, default=0, help="override every variant's epochs (1: rates only)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _one(args.child, args.out, args.device, args.epochs)
        return 0
    os.makedirs(args.out, exist_ok=True)
    from pyposefast.config.registry import synthetic_coco
    from pyposefast.demo import FULL

    common = dict(num_train=FULL.num_train, num_val=FULL.num_val, image_size=tuple(FULL.image_size), seed=FULL.seed)
    synthetic_coco("train", **common)  # generate (cached) once, before the parallel runs
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads),
               PYTHONUNBUFFERED="1")
    pending, running, done = list(args.variants), {}, {}
    free_slots = list(range(args.parallel))
    start = time.perf_counter()
    while pending or running:
        while pending and len(running) < args.parallel:
            name = pending.pop(0)
            log = open(os.path.join(args.out, f"{name}.log"), "w")
            cmd = [sys.executable, os.path.abspath(__file__), "--out", args.out, "--device", args.device,
                   "--epochs", str(args.epochs), "--child", name]
            slot = free_slots.pop(0)
            if args.pin:
                cores = range(slot * args.threads, (slot + 1) * args.threads)
                cmd = ["taskset", "-c", ",".join(str(c) for c in cores)] + cmd
            running[name] = (subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log,
                             time.perf_counter(), slot)
        time.sleep(2)
        for name, (proc, log, t0, slot) in list(running.items()):
            if proc.poll() is not None:
                log.close()
                free_slots.append(slot)
                done[name] = {"rc": proc.returncode, "wall_s": time.perf_counter() - t0}
                del running[name]
                print(f"[sweep] {name} finished rc {proc.returncode} after {done[name]['wall_s']:.0f} s "
                      f"({time.perf_counter() - start:.0f} s in)", flush=True)
    rows = []
    for name in args.variants:
        rec = {"variant": name, **VARIANTS[name], **done[name]}
        path = os.path.join(args.out, name, "metrics.json")
        if os.path.isfile(path):
            with open(path) as f:
                m = json.load(f)
            rec.update(ap=m["metrics"].get("coco/AP"), ap50=m["metrics"].get("coco/AP .5"),
                       train_s=m["timings"]["train_s"], samples_per_s=m["train_samples_per_s"],
                       curve=_val_curve(os.path.join(args.out, name, "train", "log.jsonl")))
        rows.append(rec)
    print(f"{'variant':<16} {'AP':>6} {'AP50':>6} {'train s':>8} {'samples/s':>10}  val AP by epoch")
    for r in rows:
        if "ap" in r:
            curve = " ".join(f"{e}:{a:.3f}" for e, a in r["curve"])
            print(f"{r['variant']:<16} {r['ap']:>6.3f} {r['ap50']:>6.3f} {r['train_s']:>8.0f} "
                  f"{r['samples_per_s']:>10.1f}  {curve}")
        else:
            print(f"{r['variant']:<16} failed (rc {r['rc']}; see {args.out}/{r['variant']}.log)")
    with open(os.path.join(args.out, "sweep.json"), "w") as f:
        json.dump(rows, f, indent=1)
    return 0


def _val_curve(log_path: str) -> list:
    curve = []
    if os.path.isfile(log_path):
        with open(log_path) as f:
            for line in f:
                rec = json.loads(line)
                if rec.get("type") == "val" and "coco/AP" in rec:
                    curve.append((rec["epoch"], rec["coco/AP"]))
    return curve


if __name__ == "__main__":
    raise SystemExit(main())
