"""Training throughput with the device pipeline vs the model alone on pre-made tensors.

The issue's acceptance measure: samples/s of full training steps (forward, loss, backward,
optimiser step) fed by :class:`~pyposefast.engine.TopdownTrainData` (decode workers, prefetch,
augmentation, crops and targets on the device) against the same steps on one batch built
beforehand and reused. ``pipeline_cost = 1 - pipeline / model_alone``; the target is <= 5 %.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any, Dict, Optional

import torch
from torch import nn

from .data import loss_targets
from .evaluate import autocast_context
from .graphed_step import GraphedTrainStep
from .run_ahead import RunAheadLimit
from .schedules import build_optimizer

__all__ = ["measure_training_throughput"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _batches(data: Any):
    epoch = 0
    while True:
        data.set_epoch(epoch)
        for batch in data:
            yield batch
        epoch += 1


def measure_training_throughput(model: nn.Module, train_data: Any, *, iters: int = 50, warmup: int = 10,
                                amp: Optional[str] = None, optimizer: Optional[Dict[str, Any]] = None,
                                cudnn_benchmark: bool = True, channels_last: bool = False,
                                cuda_graph: bool = True, max_steps_ahead: int = 2) -> Dict[str, float]:
    """Samples/s of training steps with the data pipeline and with pre-made tensors.

    Args:
        model (nn.Module): an estimator with ``loss`` (trained in place: pass a throwaway copy).
        train_data (TopdownTrainData): batches on the model's device.
        iters (int): timed steps per mode. warmup (int): untimed steps first (cuDNN autotune,
            worker start-up, allocator).
        amp (str, optional): ``'bf16'`` / ``'fp16'`` autocast (no grad scaler: throughput only).
        optimizer (dict, optional): :func:`build_optimizer` config; default AdamW.
        cudnn_benchmark (bool): set ``torch.backends.cudnn.benchmark``.
        channels_last (bool): NHWC model and inputs.
        cuda_graph (bool): on CUDA, run each step as one captured CUDA graph
            (:class:`~pyposefast.engine.graphed_step.GraphedTrainStep`; bf16 or fp32 only).
        max_steps_ahead (int): launched steps allowed unfinished on the GPU, in both modes
            (:class:`~pyposefast.engine.run_ahead.RunAheadLimit`; 0: no limit), as the Trainer.

    Returns:
        dict: ``pipeline_samples_per_s``, ``model_samples_per_s``, ``pipeline_cost`` (fraction of
        the model-alone rate lost), ``batch_size``, ``iters``.
    """
    if cuda_graph and amp == "fp16":
        raise ValueError("cuda_graph needs amp None or 'bf16' (fp16 needs a grad scaler, which synchronises)")
    if iters < 1 or warmup < 0:
        raise ValueError(f"iters must be >= 1 and warmup >= 0, got {iters} and {warmup}")
    device = next(model.parameters()).device
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = bool(cudnn_benchmark)
    model.train()
    if channels_last:
        model.to(memory_format=torch.channels_last)
    opt = build_optimizer(model, dict(optimizer or {"type": "adamw", "lr": 1e-4}))
    use_graph = cuda_graph and device.type == "cuda"
    names: list = []

    def compute_loss(b: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        x = b["inputs"].contiguous(memory_format=torch.channels_last) if channels_last else b["inputs"]
        return model.loss(x, **{k: b[k] for k in names})

    # graphed: the step's own bf16 autocast; eager: the caller's autocast below (any amp, no grad
    # scaler: throughput only)
    graphed = GraphedTrainStep(model, opt, compute_loss, amp=amp if use_graph else None, enabled=use_graph)

    run_ahead = RunAheadLimit(device, max_steps_ahead)

    def step(batch: Dict[str, Any]) -> None:
        if not names:
            names.extend(loss_targets(model, batch))
        with contextlib.nullcontext() if use_graph else autocast_context(device, amp):
            graphed({"inputs": batch["inputs"], **{k: batch[k] for k in names}})
        run_ahead()

    # a stream of its own, as the Trainer's loop (see Trainer.fit)
    own = torch.cuda.stream(torch.cuda.Stream(device)) if device.type == "cuda" else contextlib.nullcontext()
    with own:
        batches = _batches(train_data)
        first = next(batches)
        batch_size = int(first["inputs"].shape[0])
        for _ in range(warmup):
            step(next(batches))
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(iters):
            step(next(batches))
        _sync(device)
        pipeline = iters * batch_size / (time.perf_counter() - t0)

        fixed = {k: v.clone() for k, v in first.items()}
        for _ in range(warmup):
            step(fixed)
        _sync(device)
        t0 = time.perf_counter()
        for _ in range(iters):
            step(fixed)
        _sync(device)
        alone = iters * batch_size / (time.perf_counter() - t0)
    return {"pipeline_samples_per_s": pipeline, "model_samples_per_s": alone, "pipeline_cost": 1.0 - pipeline / alone,
            "batch_size": batch_size, "iters": iters}


def _main(argv: Optional[list] = None) -> None:
    """``python -m pyposefast.engine --model resnet50_coco_256x192 --amp bf16``: the three
    rates (model alone, data pipeline + model, the Trainer's loop) on synthetic data, as JSON."""
    import argparse
    import json
    import os
    import statistics
    import tempfile

    from ..datasets import generate_synthetic_coco, load_coco_keypoints
    from ..models import build_model
    from .data import TopdownTrainData
    from .trainer import Trainer

    ap = argparse.ArgumentParser(description=_main.__doc__)
    ap.add_argument("--model", default="resnet50_coco_256x192")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--amp", choices=["bf16", "fp16"], default=None)
    ap.add_argument("--num-workers", type=int, default=max(1, min(8, (os.cpu_count() or 2) - 2)))
    ap.add_argument("--data-root", default=None, help="synthetic dataset folder (default: a temporary one)")
    ap.add_argument("--num-images", type=int, default=300)
    ap.add_argument("--epoch-repeats", type=int, default=1,
                    help="list every person this many times per epoch: epochs as long as a real dataset's, so "
                         "the loader's restart at each epoch (~50 ms) weighs as little as it does there")
    ap.add_argument("--device", default=None)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--eager", action="store_true", help="launch steps op by op (default on CUDA: one CUDA graph)")
    ap.add_argument("--decode-on-device", action="store_true", help="nvJPEG decodes on the GPU (workers read files)")
    ap.add_argument("--log-interval", type=int, default=50, help="the Trainer's: iterations between loss reads")
    ap.add_argument("--decode-threads", type=int, default=1, help="with --decode-on-device: decoding threads")
    ap.add_argument("--max-steps-ahead", type=int, default=2, help="training steps in flight at most (0: no limit)")
    args = ap.parse_args(argv)
    root = args.data_root or os.path.join(tempfile.gettempdir(), "pyposefast_throughput_synthetic")
    paths = generate_synthetic_coco(root, num_train=args.num_images, num_val=1, seed=0)
    records = load_coco_keypoints(paths["train_ann"], paths["train_img_prefix"])
    if args.epoch_repeats < 1:
        raise ValueError(f"--epoch-repeats must be >= 1, got {args.epoch_repeats}")
    if args.epoch_repeats > 1:
        records = list(records.records) * args.epoch_repeats
    device = torch.device(args.device) if args.device else torch.device("cuda" if torch.cuda.is_available() else "cpu")

    def fresh():
        model = build_model(args.model).to(device)
        data = TopdownTrainData(records, "coco", model.head.decoder, model.head.decoder.input_size, args.batch_size,
                                num_workers=args.num_workers, device=device, decode_on_device=args.decode_on_device,
                                decode_threads=args.decode_threads)
        return model, data

    model, data = fresh()
    graph = not args.eager and device.type == "cuda" and args.amp != "fp16"
    out: Dict[str, Any] = measure_training_throughput(model, data, iters=args.iters, warmup=args.warmup, amp=args.amp,
                                                      channels_last=args.channels_last, cuda_graph=graph,
                                                      max_steps_ahead=args.max_steps_ahead)
    prefetcher = getattr(data, "_prefetcher", None)
    if prefetcher is not None and prefetcher.stats["batches"]:  # where the feed's threads spent their time
        n = prefetcher.stats["batches"]
        out["prefetch_ms_per_batch"] = {k: round(1e3 * prefetcher.stats[k] / n, 2) for k in ("wait", "pin", "copy")}
        for i, dec in prefetcher._decoders.items():
            out[f"nvjpeg{i}_ms_per_call"] = {k: round(1e3 * v / max(1, dec.stats["calls"]), 2)
                                             for k, v in dec.stats.items() if k != "calls"}
    model, data = fresh()
    iters = len(data)
    epochs = -(-(args.iters + args.warmup) // iters)
    with tempfile.TemporaryDirectory() as work_dir:
        Trainer(model, data, work_dir=work_dir, max_epochs=epochs, amp=args.amp, log_interval=args.log_interval,
                progress=False, tensorboard=False, save_best=None, device=device, channels_last=args.channels_last,
                cudnn_benchmark=True, scheduler={"type": "cosine", "warmup_iters": 0}, cuda_graph=graph,
                max_steps_ahead=args.max_steps_ahead).fit()
        with open(os.path.join(work_dir, "log.jsonl")) as f:
            rates = [json.loads(line)["samples_per_s"] for line in f if '"train"' in line]
    rates = rates[max(1, args.warmup // args.log_interval):] or rates
    out.update(trainer_samples_per_s=statistics.median(rates), model=args.model, amp=args.amp, device=str(device),
               num_workers=args.num_workers, people=len(getattr(records, "records", records)),
               channels_last=args.channels_last,
               cuda_graph=graph, decode_on_device=args.decode_on_device, max_steps_ahead=args.max_steps_ahead,
               decode_threads=args.decode_threads, epoch_repeats=args.epoch_repeats,
               log_interval=args.log_interval)
    out["trainer_cost"] = 1.0 - out["trainer_samples_per_s"] / out["model_samples_per_s"]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    _main()
