"""The ``pyposefast`` command line (``python -m pyposefast`` is the same): a thin layer over the API.

======================================  =====================================================================
command                                 what it calls
======================================  =====================================================================
``demo [--quick]``                      :func:`pyposefast.demo.run_demo`: synthetic data, train, AP, PNGs, report
``train CFG``                           :class:`pyposefast.engine.Trainer` ``.fit()`` (works under ``torchrun``)
``test CFG CKPT``                       :func:`pyposefast.engine.evaluate`
``infer INPUT ...``                     :class:`pyposefast.apis.PoseInferencer`
``print-config CFG``                    :func:`pyposefast.config.load_config` + ``resolve_config``
``browse-dataset CFG --out grid.png``   the training pipeline's crops: :func:`pyposefast.visualization.draw_batch_grid`
``convert-mmpose-checkpoint SRC DST``   :func:`pyposefast.models.convert_mmpose_checkpoint`
``model-info`` (alias ``models``)       :func:`pyposefast.models.list_models`, ``model_complexity``
``synthetic``                           :func:`pyposefast.datasets.generate_synthetic_coco`
``bench``                               :mod:`pyposefast.benchmark`
``info``                                :func:`pyposefast.build_info`
======================================  =====================================================================
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any, Dict, Optional, Sequence

__all__ = ["main", "build_parser", "CliError", "models_command", "synthetic_command", "load_weights"]


class CliError(RuntimeError):
    """A command-line mistake reported as one line (exit status 2)."""


def add_set_argument(parser: argparse.ArgumentParser) -> None:
    """``--set key.path=value`` (repeatable; values read as YAML)."""
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value, e.g. --set train.optimizer.lr=1e-3 --set data.batch_size=32 "
                             "(repeatable; the value is read as YAML: numbers, true/false, null, [lists])")


def resolved_config(path: str, overrides: Sequence[str] = ()) -> Dict[str, Any]:
    """Load ``path`` with ``overrides`` and resolve it against the registries."""
    from .config import load_config, resolve_config

    return resolve_config(load_config(path, overrides))


def pick_device(name: Optional[str]) -> Any:
    """``torch.device(name)``, default CUDA when available (``cuda:<LOCAL_RANK>``) else the CPU."""
    import torch

    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return torch.device("cpu")


def load_weights(model: Any, path: str) -> None:
    """Load a checkpoint into ``model``: a pyposefast training checkpoint (its ``state_dict``: the
    weights validation used, the EMA ones when the run kept an EMA), an MMPose 1.x checkpoint
    (``{'state_dict': ...}``, keys mapped by :func:`pyposefast.models.load_checkpoint`) or a bare
    state dict. Files are read with ``torch.load(weights_only=True)``.
    """
    from .engine import load_checkpoint_file
    from .models import load_checkpoint

    if not os.path.isfile(path):
        raise CliError(f"checkpoint {path} does not exist")
    state = load_checkpoint_file(path)
    if not isinstance(state, dict):
        raise CliError(f"checkpoint {path}: expected a dict, got {type(state).__name__}")
    load_checkpoint(model, state.get("state_dict", state))


# ---------------------------------------------------------------- config-driven commands

def _add_run_parsers(sub: Any) -> None:
    """Register the config-driven subcommands on ``sub`` (argparse subparsers)."""
    p = sub.add_parser("demo", help="synthetic data -> train -> COCO AP -> skeleton PNGs and a report (start here)",
                       description="Generate the synthetic COCO-17 dataset, train a small top-down model with the "
                                   "batched pipeline, evaluate COCO AP on the synthetic val split, draw predicted "
                                   "skeletons on val images and write report.md (AP table, training curve, "
                                   "throughput). About 10 minutes on 2 CPU cores; uses a GPU when there is one.")
    p.add_argument("--work-dir", default="pyposefast_demo", help="output folder (default: ./pyposefast_demo)")
    p.add_argument("--quick", action="store_true", help="a < 1 minute smoke run (tiny data and schedule, low AP)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA when available)")
    p.add_argument("--epochs", type=int, default=None, help="override the number of training epochs")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's, one per core; use 1 on a machine other "
                        "processes keep busy: oversubscribed threads slow training down several times)")
    p.set_defaults(func=demo_command)

    p = sub.add_parser("train", help="train a top-down model from a YAML config",
                       description="Train the config's model on its data.train split, validating on data.val with "
                                   "its metric (pyposefast.engine.Trainer). Under torchrun every process runs this "
                                   "same command: torchrun --nproc-per-node 2 -m pyposefast train CFG.")
    p.add_argument("config", help="YAML config (e.g. configs/coco/rtmpose-m_coco_256x192.yaml)")
    p.add_argument("--work-dir", default=None, help="checkpoints and logs (default: the config's train.work_dir)")
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CKPT",
                   help="continue the run in the work dir (its last checkpoint), or from CKPT")
    p.add_argument("--device", default=None, help="cpu, cuda ... (default: CUDA when available)")
    p.add_argument("--no-validate", action="store_true", help="train without validation")
    add_set_argument(p)
    p.set_defaults(func=train_command)

    p = sub.add_parser("test", help="evaluate a checkpoint on a config's val split",
                       description="Evaluate CKPT on the config's data.val split with its metric "
                                   "(pyposefast.engine.evaluate) and print the metric values as JSON.")
    p.add_argument("config", help="YAML config")
    p.add_argument("checkpoint", help="a pyposefast checkpoint (best.pt, epoch_N.pt) or an MMPose .pth")
    p.add_argument("--bbox-file", default=None, help="person detections (COCO results JSON) instead of the GT boxes")
    p.add_argument("--device", default=None, help="cpu, cuda ... (default: CUDA when available)")
    p.add_argument("--out", default=None, help="also write the metric values to this JSON file")
    add_set_argument(p)
    p.set_defaults(func=test_command)

    p = sub.add_parser("print-config", help="print a config fully resolved (defaults filled, overrides applied)",
                       description="Load CFG (and its base), apply --set overrides, check every component name "
                                   "and argument, fill in the defaults and print the result as YAML.")
    p.add_argument("config", help="YAML config")
    add_set_argument(p)
    p.set_defaults(func=print_config_command)

    p = sub.add_parser("browse-dataset", help="draw a grid of training-pipeline crops with their keypoints",
                       description="Run the config's training pipeline (augmentation, crops, targets) on the first "
                                   "samples and draw the crops with their transformed keypoints into one PNG.")
    p.add_argument("config", help="YAML config")
    p.add_argument("--out", required=True, help="the PNG to write")
    p.add_argument("--split", choices=["train", "val"], default="train", help="which split (default: train)")
    p.add_argument("--num", type=int, default=16, help="crops to draw (default: 16)")
    p.add_argument("--cols", type=int, default=8, help="crops per row (default: 8)")
    p.add_argument("--no-augment", action="store_true", help="without the random augmentation")
    p.add_argument("--seed", type=int, default=0, help="augmentation seed")
    add_set_argument(p)
    p.set_defaults(func=browse_dataset_command)


def print_config_command(args: argparse.Namespace) -> int:
    """``pyposefast print-config CFG [--set k=v ...]``."""
    from .config import dump_config

    cfg = resolved_config(args.config, args.overrides)
    print(dump_config(cfg), end="")
    return 0


def train_command(args: argparse.Namespace) -> int:
    """``pyposefast train CFG [--work-dir DIR] [--resume [CKPT]] [--set k=v ...]``."""
    from .config import build_metric, build_model, build_records, build_train_data, build_val_data, trainer_arguments
    from .engine import Trainer, is_main_process

    cfg = resolved_config(args.config, args.overrides)
    device = pick_device(args.device)
    model = build_model(cfg)
    train_data = build_train_data(cfg, model, device=device)
    val_data = metric = None
    if not args.no_validate and cfg["data"].get("val") is not None and cfg.get("metric") is not None:
        val_records = build_records(cfg, "val")
        val_data = build_val_data(cfg, model, records=val_records, device=device)
        metric = build_metric(cfg, val_records)
    kwargs = trainer_arguments(cfg, work_dir=args.work_dir)
    kwargs["device"] = device
    trainer = Trainer(model, train_data, val_data, metric, **kwargs)
    result = trainer.fit(resume=args.resume)
    if is_main_process():  # under torchrun: one summary
        summary = {k: v for k, v in (result or {}).items() if k != "history"}
        print(json.dumps(summary, indent=2, default=str))
    return 0


def test_command(args: argparse.Namespace) -> int:
    """``pyposefast test CFG CKPT [--bbox-file F] [--out metrics.json]``."""
    from .config import build_metric, build_model, build_records, build_val_data
    from .engine import evaluate

    cfg = resolved_config(args.config, args.overrides)
    device = pick_device(args.device)
    model = build_model(cfg)
    load_weights(model, args.checkpoint)
    model.to(device).eval()
    val_records = build_records(cfg, "val")
    val_data = build_val_data(cfg, model, records=val_records, bbox_file=args.bbox_file, device=device)
    metric = build_metric(cfg, val_records)
    results = evaluate(model, val_data, metric)
    text = json.dumps(results, indent=2)
    print(text)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")
    return 0


def browse_dataset_command(args: argparse.Namespace) -> int:
    """``pyposefast browse-dataset CFG --out grid.png [--split train] [--num 16]``."""
    import cv2
    import torch

    from .config import build_codec, build_model, build_records
    from .config.experiment import augmentation_arguments, input_size_of
    from .datasets import TopdownBatchPipeline, build_topdown_loader, dataset_meta
    from .visualization import draw_batch_grid

    if args.num < 1:
        raise CliError(f"--num must be >= 1, got {args.num}")
    cfg = resolved_config(args.config, args.overrides)
    meta = dataset_meta(cfg["data"]["metainfo"])
    records = build_records(cfg, args.split)
    recs = getattr(records, "records", records)
    if not recs:
        raise CliError(f"data.{args.split} has no records")
    model = build_model(cfg)
    codec = build_codec(cfg, model)
    augment = args.split == "train" and not args.no_augment and cfg["data"]["augment"]
    kw = augmentation_arguments(cfg) if augment else dict(flip=None, half_body=None, bbox_transform=None)
    pipeline = TopdownBatchPipeline.from_meta(meta, input_size_of(cfg), codec, train=augment, **kw)
    loader = build_topdown_loader(list(recs[:args.num]), min(args.num, len(recs)), 0, shuffle=False)
    batch = next(iter(loader))
    out = pipeline(batch, generator=torch.Generator().manual_seed(args.seed))
    grid = draw_batch_grid(out["inputs"], out["transformed_keypoints"], out["keypoints_visible"], meta, cols=args.cols)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    if not cv2.imwrite(args.out, grid):
        raise CliError(f"could not write {args.out} (use a .png name)")
    print(args.out)
    return 0


def demo_command(args: argparse.Namespace) -> int:
    """``pyposefast demo [--work-dir DIR] [--quick]``."""
    from .demo import run_demo

    if args.threads is not None:
        import torch

        if args.threads < 1:
            raise CliError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    report = run_demo(args.work_dir, quick=args.quick, device=args.device, epochs=args.epochs)
    return 0 if report is not None else 1


# ---------------------------------------------------------------- tools

def _add_tool_parsers(sub: Any) -> None:
    """Register the tool subcommands on ``sub`` (argparse subparsers)."""
    p = sub.add_parser("infer", help="keypoints on images, folders or videos (PoseInferencer)",
                       description="Run a model on images, image folders or video files: person boxes from "
                                   "--bbox-file (COCO detection results), else the whole image (top-down); "
                                   "bottom-up models find people themselves. Writes drawn images/videos "
                                   "(--vis-out-dir) and MMPose-style prediction JSON (--pred-out-dir).")
    p.add_argument("inputs", nargs="+", help="image files, folders of images, video files (.mp4, .avi ...)")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a model name (pyposefast model-info lists them)")
    src.add_argument("--config", help="a YAML config whose model to build")
    p.add_argument("--checkpoint", default=None, help="weights: a pyposefast checkpoint or an MMPose .pth")
    p.add_argument("--device", default=None, help="cpu, cuda ... (default: CUDA when available)")
    p.add_argument("--bbox-file", default=None, help="person detections: a COCO results JSON")
    p.add_argument("--bbox-ann-file", default=None,
                   help="the COCO annotation file the detections' image ids refer to (else: file stem = id)")
    p.add_argument("--img-prefix", default="", help="image folder of --bbox-ann-file")
    p.add_argument("--vis-out-dir", default=None, help="write drawn images (PNG) and videos here")
    p.add_argument("--pred-out-dir", default=None, help="write prediction JSON files here")
    p.add_argument("--kpt-thr", type=float, default=0.3, help="draw keypoints scoring above (default 0.3)")
    p.add_argument("--bbox-thr", type=float, default=0.3, help="keep boxes / people scoring above (default 0.3)")
    p.add_argument("--nms-thr", type=float, default=0.3, help="IoU threshold of the box NMS (default 0.3)")
    p.add_argument("--radius", type=int, default=3, help="keypoint radius in pixels (default 3)")
    p.add_argument("--thickness", type=int, default=1, help="link width in pixels (default 1)")
    p.add_argument("--draw-bbox", action="store_true", help="draw the person boxes")
    p.add_argument("--draw-heatmap", action="store_true", help="add the heatmap overlay (heatmap heads)")
    p.add_argument("--batch-size", type=int, default=64, help="crops or frames per network call (default 64)")
    add_set_argument(p)
    p.set_defaults(func=infer_command)

    p = sub.add_parser("convert-mmpose-checkpoint", help="convert an MMPose 1.x checkpoint to a pyposefast one",
                       description="Read an MMPose 1.x .pth, map its keys onto the named pyposefast model and "
                                   "save a pyposefast checkpoint (loadable with weights_only=True).")
    p.add_argument("src", help="the MMPose checkpoint (.pth)")
    p.add_argument("dst", help="the pyposefast checkpoint to write")
    p.add_argument("--model", required=True, help="the pyposefast model name it belongs to")
    p.set_defaults(func=convert_command)

    for name, aliases in (("model-info", ["models"]),):
        p = sub.add_parser(name, aliases=aliases, help="list the model zoo (with --flops: parameters and GFLOPs)",
                           description=models_command.__doc__.splitlines()[0])
        p.add_argument("names", nargs="*", help="only these models (default: all)")
        p.add_argument("--flops", action="store_true", help="build each model and count parameters and FLOPs")
        p.set_defaults(func=lambda a, _p=p: _models(a, _p))

    p = sub.add_parser("synthetic", help="write the synthetic COCO-format keypoint dataset",
                       description=synthetic_command.__doc__.splitlines()[0])
    _synthetic_arguments(p)
    p.set_defaults(func=_synthetic)


def infer_command(args: argparse.Namespace) -> int:
    """``pyposefast infer INPUT ... (--model NAME | --config CFG) [--checkpoint CKPT] ...``."""
    from .apis import PoseInferencer
    from .models import build_model, list_models

    dataset = None
    if args.config:
        from .config import build_model as build_from_config

        cfg = resolved_config(args.config, args.overrides)
        model = build_from_config(cfg)
        dataset = cfg["data"]["metainfo"]
    else:
        if args.overrides:
            raise CliError("--set applies to --config, not to --model")
        if args.model not in list_models():
            from .config import MODELS

            if args.model not in MODELS:
                raise CliError(f"unknown model {args.model!r}; known: {', '.join(sorted(MODELS))}")
            model = MODELS[args.model]()
        else:
            model = build_model(args.model)
    if args.checkpoint:
        load_weights(model, args.checkpoint)
    inferencer = PoseInferencer(model, device=pick_device(args.device), det_file=args.bbox_file,
                                det_ann_file=args.bbox_ann_file, img_prefix=args.img_prefix, bbox_thr=args.bbox_thr,
                                nms_thr=args.nms_thr, kpt_thr=args.kpt_thr, batch_size=args.batch_size,
                                dataset=dataset)
    count = 0
    people = 0
    for result in inferencer.infer_iter(args.inputs if len(args.inputs) > 1 else args.inputs[0],
                                        vis_out_dir=args.vis_out_dir, pred_out_dir=args.pred_out_dir,
                                        radius=args.radius, thickness=args.thickness, draw_bbox=args.draw_bbox,
                                        draw_heatmap=args.draw_heatmap):
        count += 1
        people += len(result["keypoints"])
    stats = inferencer.last_stats
    print(f"{count} images/frames, {people} people, {stats.get('frames_per_second', 0.0):.1f} frames/s")
    for what, folder in (("drawn", args.vis_out_dir), ("predictions", args.pred_out_dir)):
        if folder:
            print(f"{what}: {folder}")
    return 0


def convert_command(args: argparse.Namespace) -> int:
    """``pyposefast convert-mmpose-checkpoint SRC DST --model NAME``."""
    from . import models

    convert = getattr(models, "convert_mmpose_checkpoint", None)
    if convert is None:
        raise CliError("this pyposefast has no pyposefast.models.convert_mmpose_checkpoint")
    out = convert(args.src, args.dst, args.model)
    print(out if isinstance(out, str) else args.dst)
    return 0


def _models(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    argv = list(args.names) + (["--flops"] if args.flops else [])
    return models_command(argv)


def models_command(argv: list) -> int:
    """``pyposefast model-info [--flops] [NAME ...]`` (alias ``models``): list the named models, with
    parameter counts and forward FLOPs (multiply-add = 2) at their default input size with ``--flops``."""
    parser = argparse.ArgumentParser(prog="pyposefast model-info", description=models_command.__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="only these models (default: all)")
    parser.add_argument("--flops", action="store_true", help="build each model and count parameters and FLOPs")
    args = parser.parse_args(argv)
    from .models import list_models, model_complexity

    known = list_models()
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known: {', '.join(known)}")
    for name in args.names or known:
        if args.flops:
            c = model_complexity(name)
            print(f"{name:<36} {c['params'] / 1e6:>8.2f} M params {c['flops'] / 1e9:>8.2f} GFLOPs")
        else:
            print(name)
    return 0


def _synthetic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", default=None, help="output folder (default: $PYPOSEFAST_CACHE or ~/.cache/pyposefast)")
    parser.add_argument("--train", type=int, default=200, help="training images (default 200)")
    parser.add_argument("--val", type=int, default=50, help="validation images (default 50)")
    parser.add_argument("--image-size", type=int, nargs=2, default=(640, 480), metavar=("W", "H"),
                        help="image width and height (default 640 480)")
    parser.add_argument("--seed", type=int, default=0)


def _synthetic(args: argparse.Namespace) -> int:
    from .datasets import synthetic

    root = args.root or synthetic.default_root()
    synthetic.generate_synthetic_coco(root, num_train=args.train, num_val=args.val,
                                      image_size=tuple(args.image_size), seed=args.seed)
    print(root)
    return 0


def synthetic_command(argv: Optional[list] = None) -> int:
    """``pyposefast synthetic [--root DIR] [--train N] [--val N] [--image-size W H] [--seed S]``: write the
    seeded synthetic COCO-17 keypoint dataset (JPEG images + train/val annotation files)."""
    parser = argparse.ArgumentParser(prog="pyposefast synthetic", description=synthetic_command.__doc__.splitlines()[0])
    _synthetic_arguments(parser)
    return _synthetic(parser.parse_args(argv or []))


# ---------------------------------------------------------------- the parser




def _info(args: argparse.Namespace) -> int:
    from . import build_info, cuda_available

    print(json.dumps(dict(build_info(), cuda_available=cuda_available()), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand (``pyposefast <command> --help`` for each)."""
    parser = argparse.ArgumentParser(
        prog="pyposefast", description="pose estimation with batched C++/CUDA kernels: train, test, infer, demo",
        epilog="start with `pyposefast demo`; `pyposefast <command> --help` for each command")
    sub = parser.add_subparsers(dest="command", metavar="command", required=True)
    _add_run_parsers(sub)
    _add_tool_parsers(sub)
    p = sub.add_parser("bench", help="time the kernels, models and pipeline (pyposefast bench --help)",
                       add_help=False, prefix_chars="\0")
    p.add_argument("bench_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=lambda a: _bench(a.bench_args))
    p = sub.add_parser("info", help="build facts (versions, CUDA compiled in, architectures) as JSON",
                       description="print the build facts of the installed pyposefast as JSON")
    p.set_defaults(func=_info)
    return parser


def _bench(argv: list) -> int:
    from . import benchmark

    return benchmark.main(list(argv))


def main(argv: Optional[list] = None) -> int:
    """Run one ``pyposefast`` command; returns the exit status (2 with a message for bad input)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except CliError as e:
        parser.exit(2, f"pyposefast {args.command}: error: {e}\n")
    except Exception as e:  # config mistakes and bad arguments: one clear line, no traceback
        from .config import ConfigError

        if isinstance(e, ConfigError):
            parser.exit(2, f"pyposefast {args.command}: config error: {e}\n")
        raise


if __name__ == "__main__":
    sys.exit(main())
