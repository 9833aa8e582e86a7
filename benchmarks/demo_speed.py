"""Where a demo training step's time goes on the CPU, and the Trainer's rate (issue 9).

    python benchmarks/demo_speed.py --threads 2 --iters 60 --repeats 3
    python benchmarks/demo_speed.py --threads 2 --head concat          # the model as it was (concatenation)
    python benchmarks/demo_speed.py --threads 2 --workers 1            # decode in one worker process
    python benchmarks/demo_speed.py --threads 2 --fused-adamw          # torch's fused CPU AdamW
    python benchmarks/demo_speed.py --threads 2 --skip-parts --compare --repeats 5   # concat vs fused, in turn

The demo's model and data (``pyposefast.demo.FULL``: ResNet-18 width 16, multiscale head, 128x96,
batch 16, light augmentation, channels-last, the cached synthetic COCO set). Two measurements:

1. parts, one after the other in this process (medians over ``--iters`` batches, ms per batch):
   decode + collate (the loader, main process), the batched CPU pipeline (crops + targets), forward +
   loss, backward, optimiser step (+ zero_grad + schedule);
2. the Trainer itself (``Trainer.fit`` for one epoch cut to ``--iters`` iterations, no validation):
   training samples per second, ``--repeats`` times (the spread says how busy the machine was).

``--head concat`` builds the concatenating head (``FeatureMapProcessor(concat=True)`` +
``HeatmapHead``), the demo's model before ``MultiscaleHeatmapHead``: the same function, for the
before/after comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Dict, List

import torch


def build_model(head: str) -> Any:
    """The demo's model (``head='fused'``) or its concatenating twin (``'concat'``)."""
    from pyposefast.demo import FULL, demo_model

    model = demo_model(tuple(FULL.input_size), width=FULL.width, head=FULL.head, sigma=FULL.sigma)
    if head == "fused":
        return model
    from pyposefast.models import TopdownPoseEstimator
    from pyposefast.models.heads import HeatmapHead
    from pyposefast.models.necks import FeatureMapProcessor

    c = FULL.width
    concat = HeatmapHead(15 * c, 17, deconv_out_channels=None, conv_out_channels=(2 * c, 2 * c),
                         conv_kernel_sizes=(1, 3), decoder=model.head.decoder)
    return TopdownPoseEstimator(model.backbone, concat, FeatureMapProcessor(concat=True), flip_test=True,
                                shift_heatmap=True, flip_indices=model.flip_indices)


def _train_data(model: Any, workers: int) -> Any:
    from pyposefast.config.registry import synthetic_coco
    from pyposefast.datasets import dataset_meta
    from pyposefast.demo import FULL, _augmentation
    from pyposefast.engine import TopdownTrainData

    s = FULL
    train_set = synthetic_coco("train", num_train=s.num_train, num_val=s.num_val, image_size=tuple(s.image_size),
                               seed=s.seed)
    return TopdownTrainData(train_set, dataset_meta("coco"), model.head.decoder, tuple(s.input_size), s.batch_size,
                            num_workers=workers, device="cpu", seed=s.seed, **_augmentation(s.augment))


def _trainer(model: Any, data: Any, iters: int, work_dir: str, fused_adamw: bool) -> Any:
    from pyposefast.demo import FULL
    from pyposefast.engine import Trainer
    from pyposefast.engine.schedules import build_scheduler

    s = FULL
    trainer = Trainer(model, data, None, None, work_dir=work_dir, max_epochs=1,
                      optimizer={"type": "adamw", "lr": s.lr, "weight_decay": 0.01},
                      scheduler={"type": "cosine", "warmup_iters": s.warmup_iters, "warmup_ratio": 0.001,
                                 "min_lr_ratio": 0.0},
                      seed=s.seed, device="cpu", log_interval=10, tensorboard=False, progress=False,
                      channels_last=s.channels_last, max_iters_per_epoch=iters)
    if fused_adamw:  # what build_optimizer would make with a 'fused' key
        groups = [{k: v for k, v in g.items() if k in ("params", "weight_decay")}
                  for g in trainer.optimizer.param_groups]
        trainer.optimizer = torch.optim.AdamW(groups, lr=s.lr, weight_decay=0.01, fused=True)
        trainer.scheduler = build_scheduler(trainer.optimizer, {"type": "cosine", "warmup_iters": s.warmup_iters,
                                                                "warmup_ratio": 0.001, "min_lr_ratio": 0.0},
                                            trainer.steps_per_epoch, trainer.steps_per_epoch)
    return trainer


def time_parts(head: str, iters: int, fused_adamw: bool) -> Dict[str, float]:
    """Median ms per batch of each part (decode, pipeline, forward, backward, step), run in turn."""
    model = build_model(head)
    data = _train_data(model, 0)
    with tempfile.TemporaryDirectory() as tmp:
        trainer = _trainer(model, data, iters, tmp, fused_adamw)
        model, opt, sched = trainer.model, trainer.optimizer, trainer.scheduler
        model.train()
        data.set_epoch(0)
        batches = data.epoch_indices(0)[: iters + 5]
        next(iter(data))  # start the loader
        data._sampler.batches = batches
        parts: Dict[str, List[float]] = {k: [] for k in ("decode", "pipeline", "forward", "backward", "step")}
        t = time.perf_counter()
        for i, raw in enumerate(data._loader):
            t1 = time.perf_counter()
            out = data.pipeline(raw, draws=data.draws(0, i, len(raw)))
            t2 = time.perf_counter()
            x = out["inputs"].contiguous(memory_format=torch.channels_last)
            loss = model.loss(x, heatmaps=out["heatmaps"], keypoint_weights=out["keypoint_weights"])["loss_kpt"]
            t3 = time.perf_counter()
            loss.backward()
            t4 = time.perf_counter()
            opt.step()
            opt.zero_grad(set_to_none=True)
            sched.step()
            t5 = time.perf_counter()
            if i >= 5:  # warm-up
                for k, a, b in (("decode", t, t1), ("pipeline", t1, t2), ("forward", t2, t3), ("backward", t3, t4),
                                ("step", t4, t5)):
                    parts[k].append((b - a) * 1e3)
            t = time.perf_counter()
    return {k: statistics.median(v) for k, v in parts.items()}


def time_trainer(head: str, iters: int, workers: int, fused_adamw: bool) -> float:
    """Training samples per second of ``Trainer.fit`` over ``iters`` iterations (after 5 warm-up ones)."""
    model = build_model(head)
    data = _train_data(model, workers)
    with tempfile.TemporaryDirectory() as tmp:
        warm = _trainer(build_model(head), _train_data(model, 0), 5, os.path.join(tmp, "warm"), fused_adamw)
        warm.fit()
        trainer = _trainer(model, data, iters, os.path.join(tmp, "run"), fused_adamw)
        t = time.perf_counter()
        trainer.fit()
        elapsed = time.perf_counter() - t
    return iters * data.batch_size / elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the demo machine has 2 cores)")
    ap.add_argument("--iters", type=int, default=60, help="timed iterations (batches of 16)")
    ap.add_argument("--repeats", type=int, default=3, help="Trainer runs (0: the parts only)")
    ap.add_argument("--head", choices=("fused", "concat"), default="fused")
    ap.add_argument("--workers", type=int, default=0, help="decode workers of the Trainer runs")
    ap.add_argument("--fused-adamw", action="store_true", help="torch.optim.AdamW(fused=True)")
    ap.add_argument("--skip-parts", action="store_true")
    ap.add_argument("--compare", action="store_true",
                    help="Trainer runs of the concatenating and the fused head in turn (an A/B on a busy machine)")
    args = ap.parse_args()
    if args.iters < 1 or args.repeats < 0 or args.threads < 1 or args.workers < 0:
        ap.error("--iters and --threads must be >= 1, --repeats and --workers >= 0")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, head {args.head}, workers {args.workers}, "
          f"fused AdamW {args.fused_adamw}", flush=True)
    if not args.skip_parts:
        parts = time_parts(args.head, args.iters, args.fused_adamw)
        total = sum(parts.values())
        print(f"{'part':<10} {'ms/batch':>9} {'share':>6}")
        for k, v in parts.items():
            print(f"{k:<10} {v:>9.1f} {v / total:>6.1%}")
        print(f"{'sum':<10} {total:>9.1f}  ({16e3 / total:.0f} samples/s)", flush=True)
    if args.compare:
        series: Dict[str, List[float]] = {"concat": [], "fused": []}
        for _ in range(args.repeats):
            for head in series:
                series[head].append(time_trainer(head, args.iters, args.workers, args.fused_adamw))
                print(f"{head}: {series[head][-1]:.1f} samples/s", flush=True)
        for head, r in series.items():
            print(f"{head:<7} samples/s median {statistics.median(r):.1f} (min {min(r):.1f}, max {max(r):.1f})")
        ratios = [f / c for c, f in zip(series["concat"], series["fused"])]
        print("fused / concat per pair: " + " ".join(f"{x:.2f}" for x in ratios)
              + f" (median {statistics.median(ratios):.2f})")
        return 0
    rates = [time_trainer(args.head, args.iters, args.workers, args.fused_adamw) for _ in range(args.repeats)]
    if not rates:  # --repeats 0: the parts only
        return 0
    print("Trainer samples/s: " + " ".join(f"{r:.1f}" for r in rates)
          + f"  (median {statistics.median(rates):.1f}, min {min(rates):.1f}, max {max(rates):.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
