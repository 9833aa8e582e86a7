"""``pyposefast demo``: the whole toolbox in one command, on data it makes itself.

1. generate the synthetic COCO-17 dataset (:func:`pyposefast.datasets.generate_synthetic_coco`,
   cached by its size and seed),
2. train a small top-down model (:func:`demo_model`) with the batched pipeline
   (:class:`pyposefast.engine.TopdownTrainData` + :class:`pyposefast.engine.Trainer`),
3. evaluate COCO AP/AR on the synthetic validation split (:func:`pyposefast.engine.evaluate` with
   :class:`pyposefast.evaluation.CocoMetric`),
4. run :class:`pyposefast.apis.PoseInferencer` on validation images, writing skeleton PNGs,
5. write ``report.md``: the AP table, the training curve (:func:`pyposefast.visualization.plot_curves`),
   throughput and timings.

The same steps, as a config, are ``configs/synthetic/demo_resnet18-w16_synthetic_128x96.yaml``
(``pyposefast train`` it). Uses the GPU when there is one.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, replace
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["DEMO_MODEL", "demo_model", "DemoSettings", "FULL", "QUICK", "run_demo"]

#: the registered name of the demo's model (``pyposefast.config.MODELS``)
DEMO_MODEL = "demo_resnet18_coco_128x96"


def demo_model(input_size: Tuple[int, int] = (96, 128), num_keypoints: int = 17, flip_test: bool = True,
               width: int = 32, sigma: float = 2.0, head: str = "multiscale", unbiased: bool = False) -> Any:
    """The demo's small top-down model: a ResNet-18 of base width ``width`` (32: a quarter of the
    standard's FLOPs) and a head (``head``) to keypoints, flip test. The default ``'multiscale'`` head
    concatenates the four stages at stride 4 and predicts MSRAHeatmap heatmaps (2.9 M parameters at
    width 32); from scratch it learns much faster than the SimpleBaseline deconvolutions.

    Args:
        input_size (tuple[int, int]): (w, h), multiples of 32. Defaults to (96, 128).
        num_keypoints (int): K. Defaults to 17 (COCO).
        flip_test (bool): average with the flipped crops at test time. Defaults to True.
        width (int): the ResNet's stem and first-stage channels (64 is the standard ResNet-18).
        sigma (float): the Gaussian of the targets: heatmap pixels (``'heatmap'``) or SimCC bins
            (``'simcc'``, half-pixel bins). Defaults to 2.
        head (str): ``'heatmap'`` (SimpleBaseline: 3 deconvs, MSRAHeatmap), ``'multiscale'`` (the four
            ResNet stages resized to stride 4 and concatenated, as HRNetV2's head does, then a 1x1 and a
            3x3 conv of ``2 * width`` channels; MSRAHeatmap; computed without the concatenation by
            :class:`~pyposefast.models.demo_head.MultiscaleHeatmapHead`, same function) or ``'simcc'``
            (2 deconvs to stride 8, then SimCC's per-axis classification, SimCCLabel split 2).
        unbiased (bool): heatmap heads: DARK (sub-pixel target centres and DARK decoding).

    Returns:
        TopdownPoseEstimator: random weights.
    """
    from .codecs import MSRAHeatmap, SimCCLabel
    from .datasets import dataset_meta
    from .models import TopdownPoseEstimator
    from .models.backbones.resnet import ResNet
    from .models.heads import HeatmapHead, SimCCHead

    w, h = (int(v) for v in input_size)
    if w % 32 or h % 32 or w <= 0 or h <= 0:
        raise ValueError(f"input_size must be positive multiples of 32 (w, h), got {input_size!r}")
    if int(width) < 8:
        raise ValueError(f"width must be >= 8, got {width}")
    if head not in ("heatmap", "multiscale", "simcc"):
        raise ValueError(f"head must be 'heatmap', 'multiscale' or 'simcc', got {head!r}")
    c = int(width)
    neck = None
    backbone = ResNet(18, stem_channels=c, base_channels=c)
    if head == "multiscale":
        from .models.demo_head import MultiscaleHeatmapHead

        backbone = ResNet(18, stem_channels=c, base_channels=c, out_indices=(0, 1, 2, 3))
        codec: Any = MSRAHeatmap(input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=float(sigma),
                                 unbiased=bool(unbiased))
        # = FeatureMapProcessor(concat=True) + HeatmapHead(15 * c, ...), without the concatenation
        module: Any = MultiscaleHeatmapHead((c, 2 * c, 4 * c, 8 * c), num_keypoints, conv_out_channels=(2 * c, 2 * c),
                                            conv_kernel_sizes=(1, 3), decoder=codec)
    elif head == "heatmap":
        codec = MSRAHeatmap(input_size=(w, h), heatmap_size=(w // 4, h // 4), sigma=float(sigma),
                            unbiased=bool(unbiased))
        module = HeatmapHead(8 * c, num_keypoints, deconv_out_channels=(2 * c, 2 * c, 2 * c),
                                  deconv_kernel_sizes=(4, 4, 4), decoder=codec)
    else:
        codec = SimCCLabel(input_size=(w, h), sigma=float(sigma), simcc_split_ratio=2.0)
        module = SimCCHead(8 * c, num_keypoints, (w, h), (w // 32, h // 32), 2.0, deconv_out_channels=(2 * c, 2 * c),
                           deconv_kernel_sizes=(4, 4), decoder=codec)
    flip = list(dataset_meta("coco")["flip_indices"]) if num_keypoints == 17 else None
    return TopdownPoseEstimator(backbone, module, neck, flip_test=flip_test, shift_heatmap=head != "simcc",
                                flip_indices=flip)


@dataclass(frozen=True)
class DemoSettings:
    """What the demo generates and how it trains (see :data:`FULL` and :data:`QUICK`).

    The defaults come from ``benchmarks/demo_sweep.py`` (``benchmarks/results/h100-demo-sweep-*``):
    at equal CPU cost, width 16 at lr 5e-3 with a 50-iteration warm-up learned fastest (width 32 at
    the earlier lr 1.5e-3: AP 0.20 after 8 epochs). With channels-last convolutions, 24 epochs took
    7 min 44 s in all on 2 CPU cores (185 samples/s) and reached COCO AP 0.425 on the val split; with
    the multiscale head computed without its concatenation (the same function, 1.3-1.4x the training
    rate: ``benchmarks/demo_speed.py --compare``), 7 min 6 s (210 samples/s median on a busy machine,
    up to 240) and AP 0.436. With fused AdamW and the decoded-image cache as well (265-270 samples/s),
    32 epochs took 7 min 27 s (AP 0.476) and 36 epochs 8 min 36 s (AP 0.493, measured beside other
    work on the same 2 cores); at 36 epochs lr 8e-3 reached AP 0.508 (``demo_sweep.py --variants
    e36_lr8``). 36 epochs at lr 8e-3 is the default: ``pyposefast demo`` with a fresh dataset took
    8 min 14 s in all and reached AP 0.503 (``benchmarks/results/cpu2core-demo-2026-11-25.md``).
    """

    num_train: int = 1000  # synthetic training images (about 3.4 people each)
    num_val: int = 100  # validation images
    image_size: Tuple[int, int] = (320, 240)  # (w, h) of the synthetic images
    input_size: Tuple[int, int] = (96, 128)  # model input (w, h)
    width: int = 16  # demo_model width
    head: str = "multiscale"  # demo_model head (converges fastest from scratch of the three; see the report)
    augment: str = "light"  # "light": flip, shift, scale 0.75-1.25, rotation +-30 (p 0.3); "mmpose": MMPose's defaults
    sigma: float = 2.0  # demo_model target sigma
    unbiased: bool = False  # demo_model DARK targets and decoding
    epochs: int = 36
    batch_size: int = 16
    lr: float = 8e-3
    warmup_iters: int = 50
    num_workers: int = 0  # decoding in the main process (small images; no worker start-up)
    val_interval: int = 12  # validation epochs for the curve (and always after the last)
    vis_images: int = 8  # validation images drawn by the inferencer
    seed: int = 0
    channels_last: bool = True  # NHWC: 20-35% faster convolutions on the CPU too
    cache_images: bool = True  # decode each training image once (230 MB at 1000 x 320x240)


FULL = DemoSettings()
QUICK = DemoSettings(num_train=24, num_val=8, image_size=(192, 160), width=8, epochs=1, batch_size=16, lr=1e-3,
                     warmup_iters=1, val_interval=1, vis_images=2)


def _augmentation(kind: str) -> Dict[str, Any]:
    """``TopdownTrainData`` pipeline arguments: ``'mmpose'`` keeps MMPose's defaults (RandomHalfBody,
    RandomBBoxTransform with scale 0.5-1.5 and rotation up to 80 degrees with p 0.6); ``'light'`` (the
    demo's short schedule) has no half-body crops, scale 0.75-1.25 and rotation up to 30 degrees with p 0.3
    (the synthetic figures are rotated already)."""
    from .datasets.augment import RandomBBoxTransform

    if kind == "mmpose":
        return {}
    if kind == "light":
        return {"half_body": None, "bbox_transform": RandomBBoxTransform(scale_factor=(0.75, 1.25), rotate_factor=30.0,
                                                                         rotate_prob=0.3)}
    raise ValueError(f"augment must be 'light' or 'mmpose', got {kind!r}")


def _device(name: Optional[str]) -> Any:
    import torch

    if name:
        return torch.device(name)
    return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")


def _read_log(path: str) -> List[Dict[str, Any]]:
    records = []
    if os.path.isfile(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line:
                    records.append(json.loads(line))
    return records


def _curve_history(log: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Training loss / lr per logged iteration and validation AP per epoch, for ``plot_curves``."""
    out: List[Dict[str, Any]] = []
    for rec in log:
        if rec.get("type") == "train":
            out.append({"iteration": rec["global_iter"], "loss": rec["loss"], "lr": rec["lr"]})
        elif rec.get("type") == "val" and "coco/AP" in rec:
            out.append({"epoch": rec["epoch"], "val coco/AP": rec["coco/AP"]})
    return out


_STATS = ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)"]


def _report(path: str, s: DemoSettings, metrics: Dict[str, float], facts: Dict[str, Any]) -> str:
    """Write ``report.md``; returns its path."""
    rows = [f"| {name} | {metrics.get('coco/' + name, float('nan')):.3f} |" for name in _STATS]
    t = facts["timings"]
    lines = [
        "# pyposefast demo report",
        "",
        f"Top-down `{DEMO_MODEL}` (ResNet-18 width {s.width}, {s.head} head, {facts['params_m']:.2f} M "
        f"parameters, input {s.input_size[0]}x{s.input_size[1]} (w x h)) trained from scratch for {s.epochs} epochs "
        f"on the synthetic COCO-17 dataset ({s.num_train} train / {s.num_val} val images of "
        f"{s.image_size[0]}x{s.image_size[1]}, {facts['train_instances']} / {facts['val_instances']} people), "
        f"evaluated with COCO keypoint AP (OKS, pycocotools) on the validation split with ground-truth boxes "
        f"and flip test.",
        "",
        "## COCO keypoint AP / AR (synthetic val split)",
        "",
        "| metric | value |",
        "| --- | --- |",
        *rows,
        "",
        "## Training curve",
        "",
        f"![training curve]({os.path.basename(facts['curve'])})" if facts.get("curve") else "(no curve)",
        "",
        "## Throughput and timings",
        "",
        "| what | value |",
        "| --- | --- |",
        f"| device | {facts['device']} |",
        f"| torch threads | {facts['threads']} |",
        f"| training throughput | {facts['train_samples_per_s']:.1f} samples/s (pipeline + forward + backward) |",
        f"| evaluation throughput | {facts['eval_samples_per_s']:.1f} crops/s (with flip test) |",
        f"| inference throughput | {facts['infer_frames_per_s']:.1f} images/s ({facts['infer_people']} people, "
        f"PoseInferencer incl. drawing) |",
        f"| dataset generation | {t['dataset_s']:.1f} s |",
        f"| training | {t['train_s']:.1f} s ({facts['train_samples']} samples) |",
        f"| evaluation | {t['eval_s']:.1f} s |",
        f"| inference + drawing | {t['infer_s']:.1f} s |",
        f"| total | {t['total_s']:.1f} s wall, {t['cpu_s']:.1f} s CPU (this process, all threads) |",
        "",
        "## Files",
        "",
        f"- skeleton PNGs: `{os.path.relpath(facts['vis_dir'], os.path.dirname(path))}/`",
        f"- checkpoint: `{os.path.relpath(facts['checkpoint'], os.path.dirname(path))}`" if facts.get("checkpoint")
        else "- checkpoint: (none)",
        f"- training log: `{os.path.relpath(facts['log'], os.path.dirname(path))}`",
        "- numbers: `metrics.json`",
        "",
        f"Settings: `{json.dumps(asdict(s))}`; {facts['platform']}.",
        "",
    ]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return path


def run_demo(work_dir: str = "pyposefast_demo", *, quick: bool = False, device: Optional[str] = None,
             epochs: Optional[int] = None, settings: Optional[DemoSettings] = None,
             log: Callable[[str], None] = print) -> Dict[str, Any]:
    """Run the demo (see the module docstring) and write its outputs under ``work_dir``.

    Args:
        work_dir (str): output folder: ``report.md``, ``training_curve.png``, ``vis/*.png``,
            ``metrics.json``, ``train/`` (checkpoints, ``log.jsonl``).
        quick (bool): the < 1 minute variant (:data:`QUICK`: tiny data, one epoch; low AP).
        device (str, optional): default CUDA when available, else the CPU.
        epochs (int, optional): override the settings' epochs.
        settings (DemoSettings, optional): override :data:`FULL` / :data:`QUICK` entirely.
        log (callable): where progress lines go (``print``).

    Returns:
        dict: ``metrics`` (the COCO AP/AR dict), ``report`` (path), ``curve``, ``vis`` (PNG paths),
        ``timings`` and throughput numbers.
    """
    import numpy as np
    import torch

    from .apis import PoseInferencer
    from .config.registry import synthetic_coco
    from .datasets import dataset_meta
    from .engine import TopdownTrainData, TopdownValData, Trainer, evaluate
    from .evaluation import CocoMetric
    from .visualization import plot_curves

    s = settings or (QUICK if quick else FULL)
    if epochs is not None:
        if int(epochs) < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        s = replace(s, epochs=int(epochs))
    dev = _device(device)
    work_dir = os.path.abspath(work_dir)
    os.makedirs(work_dir, exist_ok=True)
    timings: Dict[str, float] = {}
    t_start, cpu_start = time.perf_counter(), time.process_time()
    log(f"[demo] device {dev}, {torch.get_num_threads()} threads; outputs in {work_dir}")

    # 1. data
    t0 = time.perf_counter()
    common = dict(num_train=s.num_train, num_val=s.num_val, image_size=tuple(s.image_size), seed=s.seed)
    train_set = synthetic_coco("train", **common)
    val_set = synthetic_coco("val", **common)
    timings["dataset_s"] = time.perf_counter() - t0
    log(f"[demo] synthetic dataset: {len(train_set.records)} train / {len(val_set.records)} val people "
        f"({s.num_train} / {s.num_val} images) in {timings['dataset_s']:.1f} s; {os.path.dirname(train_set.ann_file)}")

    # 2. train
    meta = dataset_meta("coco")
    model = demo_model(tuple(s.input_size), width=s.width, head=s.head, sigma=s.sigma, unbiased=s.unbiased)
    params_m = sum(p.numel() for p in model.parameters()) / 1e6
    train_data = TopdownTrainData(train_set, meta, model.head.decoder, tuple(s.input_size), s.batch_size,
                                  num_workers=s.num_workers, device=dev, seed=s.seed, cache_images=s.cache_images,
                                  **_augmentation(s.augment))
    val_data = TopdownValData(val_set, meta, tuple(s.input_size), 64, ann_file=val_set.ann_file,
                              num_workers=s.num_workers, device=dev)
    metric = CocoMetric(ann_file=val_set.ann_file)
    metric.dataset_meta = meta
    train_dir = os.path.join(work_dir, "train")
    trainer = Trainer(model, train_data, val_data, metric, work_dir=train_dir, max_epochs=s.epochs,
                      optimizer={"type": "adamw", "lr": s.lr, "weight_decay": 0.01, "fused": True},
                      scheduler={"type": "cosine", "warmup_iters": s.warmup_iters, "warmup_ratio": 0.001,
                                 "min_lr_ratio": 0.0},
                      val_interval=s.val_interval, save_best="coco/AP", keep_last=1, seed=s.seed, device=dev,
                      log_interval=10, tensorboard=False, channels_last=s.channels_last)
    log(f"[demo] training {DEMO_MODEL} ({params_m:.2f} M parameters) for {s.epochs} epochs x "
        f"{len(train_data)} batches of {s.batch_size}")
    t0 = time.perf_counter()
    fit = trainer.fit(resume=False)
    timings["train_s"] = time.perf_counter() - t0
    train_log = _read_log(os.path.join(train_dir, "log.jsonl"))
    val_s = 0.0  # the validation passes inside fit are not training time
    train_samples = s.epochs * len(train_data) * s.batch_size
    rates = [r["samples_per_s"] for r in train_log if r.get("type") == "train" and "samples_per_s" in r]

    # 3. evaluate (the final weights, timed on their own)
    eval_model = trainer.eval_model
    t0 = time.perf_counter()
    metrics = evaluate(eval_model, val_data, metric)
    timings["eval_s"] = time.perf_counter() - t0
    ap = metrics.get("coco/AP", float("nan"))
    log(f"[demo] COCO AP on the synthetic val split: {ap:.3f} (AR {metrics.get('coco/AR', float('nan')):.3f}); "
        f"evaluation {timings['eval_s']:.1f} s")

    # 4. inference on validation images, boxes from the annotations
    t0 = time.perf_counter()
    vis_dir = os.path.join(work_dir, "vis")
    by_image: Dict[str, List[np.ndarray]] = {}
    for rec in val_set.records:
        by_image.setdefault(rec["img_path"], []).append(rec["bbox"][0])
    paths = sorted(by_image)[: s.vis_images]
    boxes = [np.stack(by_image[p]).astype(np.float32) for p in paths]
    inferencer = PoseInferencer(eval_model, device=dev, kpt_thr=0.3, dataset="coco")
    results = inferencer(paths, boxes, vis_out_dir=vis_dir, radius=3, thickness=2)
    timings["infer_s"] = time.perf_counter() - t0
    stats = dict(inferencer.last_stats)
    vis = sorted(os.path.join(vis_dir, f) for f in os.listdir(vis_dir) if f.endswith(".png"))
    people = int(sum(len(r["keypoints"]) for r in results))
    log(f"[demo] inference: {len(results)} images, {people} people, {stats.get('frames_per_second', 0):.1f} images/s")

    # 5. report
    curve = None
    history = _curve_history(train_log)
    if history:
        curve = plot_curves(history, os.path.join(work_dir, "training_curve.png"), keys=["loss", "lr", "val coco/AP"])
    timings["total_s"] = time.perf_counter() - t_start
    timings["cpu_s"] = time.process_time() - cpu_start  # all threads of this process (decoding runs here too)
    n_val = len(val_data.records) * (2 if getattr(eval_model, "flip_test", False) else 1)
    facts = {
        "device": str(dev) if dev.type != "cuda" else f"{dev} ({torch.cuda.get_device_name(dev)})",
        "threads": torch.get_num_threads(), "params_m": params_m,
        "train_instances": len(train_set.records), "val_instances": len(val_set.records),
        "train_samples": train_samples,
        "train_samples_per_s": float(np.median(rates)) if rates else train_samples / max(timings["train_s"] - val_s, 1e-9),
        "eval_samples_per_s": n_val / max(timings["eval_s"], 1e-9),
        "infer_frames_per_s": float(stats.get("frames_per_second", 0.0)), "infer_people": people,
        "timings": timings, "curve": curve, "vis_dir": vis_dir, "checkpoint": fit.get("checkpoint"),
        "log": os.path.join(train_dir, "log.jsonl"), "platform": f"{platform.platform()}, torch {torch.__version__}",
    }
    report = _report(os.path.join(work_dir, "report.md"), s, metrics, facts)
    out = {"metrics": metrics, "report": report, "curve": curve, "vis": vis, "timings": timings,
           "train_samples_per_s": facts["train_samples_per_s"], "eval_samples_per_s": facts["eval_samples_per_s"],
           "infer_frames_per_s": facts["infer_frames_per_s"], "settings": asdict(s), "device": facts["device"],
           "best": fit.get("best"), "checkpoint": fit.get("checkpoint")}
    with open(os.path.join(work_dir, "metrics.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2, default=str)
    log(f"[demo] done in {timings['total_s']:.0f} s: COCO AP {ap:.3f}")
    log(f"[demo] report:         {report}")
    log(f"[demo] training curve: {curve}")
    log(f"[demo] skeleton PNGs:  {vis_dir}/ ({len(vis)} files)")
    log(f"[demo] checkpoint:     {fit.get('checkpoint')}")
    return out
