"""The lifting benchmark runs on tiny settings on the CPU and reports every row it promises."""

from __future__ import annotations

import pytest

from pyposefast.benchmark_lifting import main, run_lifting
from tests.conftest import requires_cuda


def test_run_lifting_cpu_tiny():
    lines = []
    rows = run_lifting(use_cuda=False, out=lines.append, model_name="videopose3d-27f_h36m", cpu_batches=(1, 2),
                       repeats=1, iters=1, inferencer_frames=6)
    modes = [r["mode"] for r in rows]
    assert modes[:4] == ["inference fp32", "inference fp32", "train step", "codec encode+decode"]
    assert [r["batch"] for r in rows[:3]] == [1, 2, 2]  # no train step at batch 1 (batch norm)
    assert modes[-1] == "inferencer, 2 people"
    for r in rows:
        assert r["device"] == "cpu" and r["ms"] > 0 and r["per_s"] > 0
        assert r["frames"] == (6 if r["section"] == "inferencer" else 27)
    net = rows[0]
    assert net["per_s"] == pytest.approx(net["batch"] / (net["ms"] / 1e3))
    assert lines[0].startswith("lifting: videopose3d-27f_h36m (27-frame windows")
    assert sum(line.startswith("cpu ") for line in lines) == len(rows)


@requires_cuda
@pytest.mark.cuda
def test_run_lifting_cuda_quick():
    rows = run_lifting(quick=True, use_cuda=True, cpu=False, out=lambda s: None, model_name="videopose3d-27f_h36m",
                       batches=(8,), repeats=1, iters=2, inferencer_frames=50)
    assert {r["mode"] for r in rows} >= {"inference fp32", "inference fp16", "train step", "codec encode+decode",
                                         "inferencer, 2 people"}
    assert all(r["device"] == "cuda" and r["per_s"] > 0 for r in rows)


def test_run_lifting_refuses_cuda_without_a_gpu(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no GPU"):
        run_lifting(use_cuda=True, out=lambda s: None)
    with pytest.raises(SystemExit):
        main(["--no-such-flag"])
