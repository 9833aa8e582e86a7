"""One pipeline-throughput run with chosen sections, models, step modes and training feeds (for the
GPU machine; see pyposefast.benchmark_pipeline.run_pipeline for what each row measures).

    python benchmarks/pipeline_train.py --sections nvjpeg train --models resnet50 \
        --feeds device_pipeline_resident device_pipeline_nvjpeg --steps graph
"""
import argparse
import faulthandler
import sys

from pyposefast.benchmark_pipeline import run_pipeline

if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sections", nargs="+", default=["feeds", "train"])
    ap.add_argument("--models", nargs="+", default=["resnet50", "rtmpose_s"])
    ap.add_argument("--steps", nargs="+", default=["graph"])
    ap.add_argument("--feeds", nargs="+", default=None)
    ap.add_argument("--batches", type=int, default=None)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--default-stream", action="store_true", help="train on the legacy default stream")
    ap.add_argument("--ahead", type=int, default=2, help="training steps in flight at most (0: no limit)")
    ap.add_argument("--hang-dump", type=float, default=0.0, help="dump every thread's stack after this many s")
    a = ap.parse_args()
    if a.hang_dump:
        faulthandler.dump_traceback_later(a.hang_dump, exit=True, file=sys.stderr)
    run_pipeline(a.quick, True, sections=a.sections, models=a.models, train_steps=a.steps, train_feeds=a.feeds,
                 batches=a.batches, num_workers=a.workers,
                 train_stream_own=not a.default_stream, train_max_ahead=a.ahead, out=lambda s: print(s, flush=True))
