"""Exact resume: a run SIGKILLed mid-epoch and resumed gives the losses and weights of an
uninterrupted run with the same seed (CPU, subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import torch

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_script.py")


def _run(*args, check=True):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, SCRIPT, *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _losses(work_dir):
    """global iteration -> loss (the last record wins: a resumed run repeats what was lost)."""
    out = {}
    with open(os.path.join(work_dir, "log.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec["type"] == "train":
                out[rec["global_iter"]] = rec["loss"]
    return out


def test_resume_after_sigkill_matches_uninterrupted(synthetic, tmp_path):
    full, killed = tmp_path / "full", tmp_path / "killed"
    # 41 people, batch 8: 5 iterations per epoch; checkpoints every 2 iterations; killed when batch 4
    # of epoch 2 is requested (global iteration 10), after iter_8.pt and an uncheckpointed iteration 9
    procs = [_run(synthetic["root"], full), _run(synthetic["root"], killed, "--kill-at", 1, 4)]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    assert procs[0].returncode == 0, outs[0]
    assert procs[1].returncode == -signal.SIGKILL, outs[1]
    assert not os.path.exists(killed / "result_rank0.json")
    assert os.path.realpath(killed / "last.pt").endswith("iter_8.pt")
    before = _losses(killed)
    assert max(before) == 9  # iteration 9 ran, then the kill

    resumed = _run(synthetic["root"], killed, "--resume")
    out = resumed.communicate(timeout=240)[0]
    assert resumed.returncode == 0, out

    ref, got = _losses(full), _losses(killed)
    assert sorted(ref) == list(range(1, 11)) and sorted(got) == sorted(ref)
    for it in ref:
        assert abs(got[it] - ref[it]) <= 1e-6 * max(1.0, abs(ref[it])), (it, got[it], ref[it])
    # the resumed run recomputed iteration 9 itself (not just kept the killed run's record)
    with open(killed / "log.jsonl") as f:
        recs = [json.loads(line) for line in f]
    assert [r["type"] for r in recs].count("resume") == 1
    assert sum(1 for r in recs if r.get("global_iter") == 9 and r["type"] == "train") == 2
    a, b = torch.load(full / "params_rank0.pt"), torch.load(killed / "params_rank0.pt")
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=1e-6, atol=1e-7, msg=k)
    ema_a = torch.load(full / "last.pt", weights_only=True)["state_dict"]
    ema_b = torch.load(killed / "last.pt", weights_only=True)["state_dict"]
    for k in ema_a:
        torch.testing.assert_close(ema_b[k], ema_a[k], rtol=1e-6, atol=1e-7, msg=k)


def test_sigkill_while_writing_a_checkpoint_keeps_the_previous_one(synthetic, tmp_path):
    # checkpoints: iter_2 (1st), iter_4 (2nd), epoch_1 (3rd write): killed half-way through epoch_1.pt
    proc = _run(synthetic["root"], tmp_path, "--kill-in-save", 3, "--max-epochs", 1)
    out = proc.communicate(timeout=240)[0]
    assert proc.returncode == -signal.SIGKILL, out
    names = sorted(os.listdir(tmp_path / "checkpoints"))
    assert "epoch_1.pt" not in names and "iter_4.pt" in names
    assert any(n.startswith("epoch_1.pt.") and n.endswith(".tmp") for n in names)  # the torn temporary
    state = torch.load(tmp_path / "last.pt", weights_only=True)  # still the previous, whole checkpoint
    assert state["global_iter"] == 4
    resumed = _run(synthetic["root"], tmp_path, "--resume", "--max-epochs", 1)
    out = resumed.communicate(timeout=240)[0]
    assert resumed.returncode == 0, out
    assert sorted(os.listdir(tmp_path / "checkpoints")) == ["epoch_1.pt", "iter_2.pt", "iter_4.pt"]
    assert torch.load(tmp_path / "last.pt", weights_only=True)["global_iter"] == 5
