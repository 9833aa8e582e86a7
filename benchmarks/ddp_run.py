"""Data-parallel training check (issue 10): the trainer under torchrun with 1, 2, ... processes.

Trains HRNet-W32 256x192 (``hrnet-w32_coco_256x192``) on the synthetic COCO-17 dataset with the
device pipeline, through the CLI exactly as a user would (``torchrun -m pyposefast train CFG``),
with the same global batch and seed for every process count, and reports:

- samples/s (all processes) and per process, scaling efficiency N-proc / (N x 1-proc);
- the validation metrics of each run (same global batch and seed: equal within noise);
- that checkpoints are written once (one file per epoch, only by rank 0, one log line per record);
- a resume across a different process count (N processes for epoch 1, then 1 process resumes).

    python benchmarks/ddp_run.py --nprocs 1 2 4                 # one process per GPU, NCCL
    python benchmarks/ddp_run.py --nprocs 1 2 --same-device     # N processes sharing GPU 0 (gloo)
    python benchmarks/ddp_run.py --nprocs 1 2 --device cpu      # gloo on CPU

NCCL's NVLink multicast stays off (NCCL_NVLS_ENABLE=0). Output: a table on stdout and
``<out>/ddp.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CONFIG = """\
# HRNet-W32 256x192 on the synthetic COCO-17 dataset (issue 10's data-parallel run)
model:
  type: {model}
data:
  metainfo: coco
  train: {{type: synthetic, split: train, num_train: {num_train}, num_val: {num_val}, seed: 0, root: {root}}}
  val: {{type: synthetic, split: val, num_train: {num_train}, num_val: {num_val}, seed: 0, root: {root}}}
  batch_size: {batch}
  val_batch_size: 64
  num_workers: {workers}
metric:
  type: CocoMetric
train:
  max_epochs: {epochs}
  optimizer: {{type: adamw, lr: 1.0e-3, weight_decay: 0.01}}
  scheduler: {{type: cosine, warmup_iters: 20, warmup_ratio: 0.001, min_lr_ratio: 0.0}}
  amp: {amp}
  val_interval: 1
  log_interval: 5
  save_best: coco/AP
  seed: 0
  tensorboard: false
  progress: false
"""


def run(cmd: list, env: dict, log: str) -> float:
    start = time.perf_counter()
    with open(log, "w") as f:
        proc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        with open(log) as f:
            tail = f.read()[-4000:]
        raise SystemExit(f"FAILED ({proc.returncode}): {' '.join(cmd)}\n{tail}")
    return time.perf_counter() - start


def read_log(work_dir: str) -> tuple:
    train, val, other = [], [], []
    with open(os.path.join(work_dir, "log.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            (train if rec.get("type") == "train" else val if rec.get("type") == "val" else other).append(rec)
    return train, val, other


def write_config(args: argparse.Namespace, root: str, name: str, nprocs: int) -> tuple:
    """The run's folder ``<out>/<name>`` and its config (per-process batch = global batch / nprocs)."""
    work = os.path.abspath(os.path.join(args.out, name))
    os.makedirs(work, exist_ok=True)
    cfg = os.path.join(work, "config.yaml")
    with open(cfg, "w") as f:
        f.write(CONFIG.format(model=args.model, num_train=args.num_train, num_val=args.num_val, root=root,
                              batch=args.global_batch // nprocs, workers=args.workers, epochs=args.epochs,
                              amp="null" if args.amp in ("none", "null") else args.amp))
    return work, cfg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nprocs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--same-device", action="store_true", help="every process on GPU 0 (gloo backend)")
    ap.add_argument("--device", default="cuda", help="cuda or cpu")
    ap.add_argument("--model", default="hrnet-w32_coco_256x192")
    ap.add_argument("--global-batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--num-train", type=int, default=400)
    ap.add_argument("--num-val", type=int, default=50)
    ap.add_argument("--workers", type=int, default=4, help="decode workers per process")
    ap.add_argument("--amp", default="bf16")
    ap.add_argument("--out", default=os.environ.get("OUT", "ddp-out"))
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    root = os.path.abspath(os.path.join(args.out, "synthetic"))
    env = dict(os.environ, NCCL_NVLS_ENABLE="0", PYTHONUNBUFFERED="1", OMP_NUM_THREADS="2")
    if args.same_device or args.device == "cpu":
        env["PYPOSEFAST_DIST_BACKEND"] = "gloo"
    # generate the dataset once, before any torchrun (the processes then only read the cache)
    from pyposefast.datasets.synthetic import generate_synthetic_coco

    generate_synthetic_coco(root, num_train=args.num_train, num_val=args.num_val, seed=0)
    extra = ["--device", "cuda:0" if args.same_device else args.device] if (args.same_device or args.device == "cpu") else []
    results = {}
    for n in args.nprocs:
        if args.global_batch % n:
            raise SystemExit(f"--global-batch {args.global_batch} is not divisible by {n} processes")
        work, cfg = write_config(args, root, f"n{n}", n)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
               "-m", "pyposefast", "train", cfg, "--work-dir", work] + extra
        wall = run(cmd, env, os.path.join(work, "stdout.log"))
        train, val, _ = read_log(work)
        rates = [r["samples_per_s"] for r in train if r["epoch"] == args.epochs]  # last epoch: warm
        ckpts = sorted(os.listdir(os.path.join(work, "checkpoints")))
        results[n] = {"wall_s": wall, "samples_per_s": statistics.median(rates) if rates else float("nan"),
                      "val": val[-1] if val else {}, "checkpoints": ckpts,
                      "train_records": len(train), "val_records": len(val)}
    # resume across a different process count: max(nprocs) processes for epoch 1, then 1 process
    n_hi = max(args.nprocs)
    if n_hi > 1:
        work, cfg = write_config(args, root, f"resume_{n_hi}to1", n_hi)
        first = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n_hi}",
                 "-m", "pyposefast", "train", cfg, "--work-dir", work, "--set", "train.max_epochs=1"] + extra
        run(first, env, os.path.join(work, "stdout-first.log"))
        second = [sys.executable, "-m", "pyposefast", "train", cfg, "--work-dir", work, "--resume",
                  "--set", f"data.batch_size={args.global_batch}"] + (["--device", args.device] if args.device == "cpu" else [])
        run(second, env, os.path.join(work, "stdout-resume.log"))
        train, val, other = read_log(work)
        results["resume"] = {"from": n_hi, "to": 1, "epochs_logged": sorted({r["epoch"] for r in train}),
                             "resume_records": [r for r in other if r.get("type") == "resume"],
                             "val": val[-1] if val else {}}
    base = results[min(args.nprocs)]["samples_per_s"] * 1.0 / min(args.nprocs)
    mode = "processes on GPU 0 (gloo)" if args.same_device else ("CPU processes (gloo)" if args.device == "cpu"
                                                                 else "GPUs (NCCL, NVLS off)")
    print(f"== data-parallel training: {args.model} on synthetic COCO, global batch {args.global_batch}, "
          f"{args.epochs} epochs, {mode}")
    print(f"{'N':>3} {'samples/s':>10} {'per proc':>9} {'scaling':>8} {'coco/AP':>8} {'coco/AR':>8} "
          f"{'wall s':>7}  checkpoints")
    for n in args.nprocs:
        r = results[n]
        eff = r["samples_per_s"] / (n * base) if base == base and base > 0 else float("nan")
        print(f"{n:>3} {r['samples_per_s']:>10.1f} {r['samples_per_s'] / n:>9.1f} {eff:>8.2f} "
              f"{r['val'].get('coco/AP', float('nan')):>8.4f} {r['val'].get('coco/AR', float('nan')):>8.4f} "
              f"{r['wall_s']:>7.1f}  {' '.join(r['checkpoints'])}")
    if "resume" in results:
        r = results["resume"]
        print(f"resume {r['from']} -> {r['to']} processes: epochs logged {r['epochs_logged']}, "
              f"resume records {len(r['resume_records'])}, final coco/AP {r['val'].get('coco/AP', float('nan')):.4f}")
    with open(os.path.join(args.out, "ddp.json"), "w") as f:
        json.dump({str(k): v for k, v in results.items()}, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
