"""``pyposefast`` command line: ``pyposefast bench`` | ``info`` | ``models``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="pyposefast", description="pose estimation with batched C++/CUDA kernels")
    parser.add_argument("command", choices=["bench", "info", "models", "synthetic"],
                        help="bench: time the kernels; info: build facts; models: the model zoo with sizes; "
                             "synthetic: write the synthetic COCO-format dataset")
    args, rest = parser.parse_known_args(argv[:1])
    if args.command == "info":
        from . import build_info, cuda_available

        print(json.dumps(dict(build_info(), cuda_available=cuda_available()), indent=2))
        return 0
    if args.command == "models":
        return models_command(argv[1:])
    if args.command == "synthetic":
        return synthetic_command(argv[1:])
    from . import benchmark

    return benchmark.main(argv[1:])


def models_command(argv: list[str]) -> int:
    """``pyposefast models [--flops] [NAME ...]``: list the named models, with parameter counts and
    forward FLOPs (multiply-add = 2) at their default input size when ``--flops`` is given."""
    parser = argparse.ArgumentParser(prog="pyposefast models", description=models_command.__doc__.splitlines()[0])
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


def synthetic_command(argv: list[str]) -> int:
    """``pyposefast synthetic [--root DIR] [--train N] [--val N] [--seed S]``: write the seeded
    synthetic COCO-17 keypoint dataset (JPEG images + train/val annotation files)."""
    parser = argparse.ArgumentParser(prog="pyposefast synthetic", description=synthetic_command.__doc__.splitlines()[0])
    parser.add_argument("--root", default=None, help="output folder (default: $PYPOSEFAST_CACHE or ~/.cache/pyposefast)")
    parser.add_argument("--train", type=int, default=200, help="training images")
    parser.add_argument("--val", type=int, default=50, help="validation images")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    from .datasets import synthetic

    root = args.root or synthetic.default_root()
    synthetic.generate_synthetic_coco(root, num_train=args.train, num_val=args.val, seed=args.seed)
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
