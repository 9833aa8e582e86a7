"""Two CPU processes under torchrun (gloo): DDP trains, ranks stay identical, rank 0 alone writes,
validation metrics are gathered across ranks."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch

from pyposefast.engine import TopdownValData, evaluate
from pyposefast.evaluation import CocoMetric
from pyposefast.models import load_checkpoint

from .tiny import INPUT_SIZE, tiny_model

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_script.py")


_TWO_GPUS = pytest.mark.skipif(not (torch.cuda.is_available() and torch.cuda.device_count() >= 2),
                               reason="needs 2 GPUs")


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=[_TWO_GPUS, pytest.mark.cuda])])
def test_two_process_run(synthetic, tmp_path, device):
    """gloo on CPU processes; NCCL with SyncBatchNorm on 2 GPUs."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", SCRIPT,
           synthetic["root"], str(tmp_path), "--per-rank-work-dir", "--val", "--max-epochs", "1", "--batch-size", "4",
           "--device", device] + (["--sync-bn"] if device == "cuda" else [])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    # rank 0 wrote checkpoints and logs; rank 1 (pointed at its own work_dir) wrote nothing
    assert os.path.isfile(tmp_path / "rank0" / "checkpoints" / "epoch_1.pt")
    assert os.path.isfile(tmp_path / "rank0" / "log.jsonl")
    assert not os.path.exists(tmp_path / "rank1")

    # DDP kept the replicas identical (gradients averaged, BatchNorm buffers broadcast from rank 0)
    p0, p1 = torch.load(tmp_path / "params_rank0.pt"), torch.load(tmp_path / "params_rank1.pt")
    for k in p0:
        torch.testing.assert_close(p1[k], p0[k], rtol=0, atol=0, msg=k)
    # and trained: each rank takes ceil(N / 2) people (padded by wrapping), batches of 4
    with open(tmp_path / "rank0" / "log.jsonl") as f:
        train = [json.loads(line) for line in f if '"train"' in line]
    iters = -(-len(synthetic["train"].records) // 2) // 4
    assert [r["global_iter"] for r in train] == list(range(1, iters + 1))

    # both ranks report rank 0's metrics, computed on all validation crops: the same as one process
    r0 = json.load(open(tmp_path / "result_rank0.json"))
    r1 = json.load(open(tmp_path / "result_rank1.json"))
    assert r0["final"] == r1["final"] and "coco/AP" in r0["final"]
    model = tiny_model(dropout=0.2)
    load_checkpoint(model, str(tmp_path / "rank0" / "last.pt"))
    val = TopdownValData(synthetic["val"], "coco", INPUT_SIZE, 16, num_workers=0, device="cpu")
    single = evaluate(model, val, CocoMetric(ann_file=synthetic["val_ann"]))
    for k, v in single.items():
        assert abs(r0["final"][k] - v) < (1e-9 if device == "cpu" else 1e-3), (k, r0["final"][k], v)
