"""The models benchmark: interleaved measurement and a CPU smoke run of the table."""

from __future__ import annotations

import time

import pytest
import torch

from pyposefast.benchmark_models import measure_interleaved, run_models


def test_measure_interleaved_alternates_and_reports_the_ratio():
    calls = []

    def network():
        calls.append("A")
        time.sleep(0.02)

    def end_to_end():
        calls.append("B")
        time.sleep(0.04)

    row = measure_interleaved(network, end_to_end, torch.device("cpu"), repeats=3, iters=2, warmup=1)
    assert calls == ["A", "B"] + ["A", "A", "B", "B"] * 3
    assert row["repeats"] == 3 and row["iters"] == 2
    assert row["overhead_min"] <= row["overhead"] <= row["overhead_max"]
    assert 0.3 < row["overhead"] < 3.0  # 40 ms vs 20 ms (+ scheduling noise on a shared machine)
    assert row["network_ms"] >= 20.0 and row["e2e_ms"] >= 40.0


def test_run_models_cpu_smoke():
    lines = []
    rows = run_models(use_cuda=False, out=lines.append, names=("rtmpose-t_coco_256x192",), batches=(1,), repeats=1)
    assert len(rows) == 1 and rows[0]["mode"] == "eager" and rows[0]["batch"] == 1
    assert rows[0]["e2e_ms"] > 0 and rows[0]["network_ms"] > 0
    assert any(line.startswith("rtmpose-t_coco_256x192") for line in lines)
    with pytest.raises(ValueError, match="second"):
        run_models(use_cuda=False, second="graph")
