"""Exact resume: a run SIGKILLed mid-epoch and resumed gives the losses and weights of an
uninterrupted run with the same seed; a SIGKILL half-way through a checkpoint write leaves the
previous checkpoint whole (CPU, subprocesses; the runs of both tests share two concurrent phases)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
import torch

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "train_script.py")


def _run(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.Popen([sys.executable, SCRIPT, *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _wait(procs):
    return [(p.communicate(timeout=300)[0], p.returncode) for p in procs]


def _losses(work_dir):
    """global iteration -> loss (the last record wins: a resumed run repeats what was lost)."""
    out = {}
    with open(os.path.join(work_dir, "log.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec["type"] == "train":
                out[rec["global_iter"]] = rec["loss"]
    return out


@pytest.fixture(scope="module")
def runs(synthetic, tmp_path_factory):
    """Phase 1: an uninterrupted run, a run killed mid-epoch, a run killed inside a checkpoint write.
    Phase 2: both killed runs resumed. What phase 1 left is recorded before phase 2 starts."""
    root = tmp_path_factory.mktemp("resume")
    full, killed, torn = root / "full", root / "killed", root / "torn"
    # 41 people, batch 8: 5 iterations per epoch; checkpoints every 2 iterations. ``killed`` dies when
    # batch 4 of epoch 2 is requested (global iteration 10), after iter_8.pt and an uncheckpointed
    # iteration 9; ``torn`` (1 epoch) dies half-way through its 3rd write: iter_2, iter_4, epoch_1
    phase1 = _wait([_run(synthetic["root"], full), _run(synthetic["root"], killed, "--kill-at", 1, 4),
                    _run(synthetic["root"], torn, "--kill-in-save", 3, "--max-epochs", 1)])
    seen = {"killed_last": os.path.realpath(killed / "last.pt"), "killed_losses": _losses(killed),
            "torn_names": sorted(os.listdir(torn / "checkpoints")),
            "torn_last_iter": torch.load(torn / "last.pt", weights_only=True)["global_iter"]}
    phase2 = _wait([_run(synthetic["root"], killed, "--resume"),
                    _run(synthetic["root"], torn, "--resume", "--max-epochs", 1)])
    return {"full": full, "killed": killed, "torn": torn, "phase1": phase1, "phase2": phase2, **seen}


def test_resume_after_sigkill_matches_uninterrupted(runs):
    (out_full, rc_full), (out_killed, rc_killed), _ = runs["phase1"]
    assert rc_full == 0, out_full
    assert rc_killed == -signal.SIGKILL, out_killed
    assert runs["killed_last"].endswith("iter_8.pt")
    assert max(runs["killed_losses"]) == 9  # iteration 9 ran, then the kill
    out, rc = runs["phase2"][0]
    assert rc == 0, out

    full, killed = runs["full"], runs["killed"]
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


def test_sigkill_while_writing_a_checkpoint_keeps_the_previous_one(runs):
    out, rc = runs["phase1"][2]
    assert rc == -signal.SIGKILL, out
    names = runs["torn_names"]
    assert "epoch_1.pt" not in names and "iter_4.pt" in names
    assert any(n.startswith("epoch_1.pt.") and n.endswith(".tmp") for n in names)  # the torn temporary
    assert runs["torn_last_iter"] == 4  # last.pt: still the previous, whole checkpoint
    out, rc = runs["phase2"][1]
    assert rc == 0, out
    torn = runs["torn"]
    assert sorted(os.listdir(torn / "checkpoints")) == ["epoch_1.pt", "iter_2.pt", "iter_4.pt"]  # temporary gone
    assert torch.load(torn / "last.pt", weights_only=True)["global_iter"] == 5
