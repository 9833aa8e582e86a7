"""``pyposefast`` command line: ``pyposefast bench`` | ``pyposefast info``."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Optional


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="pyposefast", description="pose estimation with batched C++/CUDA kernels")
    parser.add_argument("command", choices=["bench", "info"], help="bench: time the kernels; info: build facts")
    args, rest = parser.parse_known_args(argv[:1])
    if args.command == "info":
        from . import build_info, cuda_available

        print(json.dumps(dict(build_info(), cuda_available=cuda_available()), indent=2))
        return 0
    from . import benchmark

    return benchmark.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
