"""Atomic checkpoint writes, safe reads, rotation, symlinks and RNG state round trips."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import torch

from pyposefast.engine import load_checkpoint_file, save_checkpoint
from pyposefast.engine.checkpoint import (capture_rng_state, copy_atomic, link_atomic, restore_rng_state,
                                          rotate_checkpoints)


def test_save_load_round_trip(tmp_path):
    state = {"state_dict": {"w": torch.arange(6.0).reshape(2, 3)}, "epoch": 3, "history": [{"loss": 0.5}]}
    path = save_checkpoint(tmp_path / "sub" / "a.pt", state)
    back = load_checkpoint_file(path)
    assert back["epoch"] == 3 and back["history"] == [{"loss": 0.5}]
    torch.testing.assert_close(back["state_dict"]["w"], state["state_dict"]["w"])
    assert os.listdir(tmp_path / "sub") == ["a.pt"]  # no temporary file left


def test_failed_write_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1, "w": torch.ones(3)})
    real_save = torch.save

    def crash(obj, f, *a, **k):  # write half a file, then die as a full disk or a kill would
        real_save(obj, f, *a, **k)
        f.truncate(10)
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2, "w": torch.zeros(3)})
    monkeypatch.setattr(torch, "save", real_save)
    assert load_checkpoint_file(path)["epoch"] == 1
    assert os.listdir(tmp_path) == ["last.pt"]


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_checkpoint_file(tmp_path / "missing.pt")
    bad = tmp_path / "torn.pt"
    save_checkpoint(bad, {"w": torch.ones(100)})
    with open(bad, "r+b") as f:
        f.truncate(50)
    with pytest.raises(RuntimeError, match="torn.pt"):
        load_checkpoint_file(bad)
    with pytest.raises(TypeError, match="state must be a dict"):
        save_checkpoint(tmp_path / "x.pt", [1, 2])


def test_rotation_link_and_copy(tmp_path):
    paths = []
    for i, name in enumerate(["epoch_1.pt", "iter_7.pt", "epoch_2.pt", "iter_12.pt", "epoch_3.pt"]):
        p = save_checkpoint(tmp_path / name, {"i": i})
        os.utime(p, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))
        paths.append(p)
    (tmp_path / "notes.pt").write_bytes(b"x")  # not a periodic checkpoint: never deleted
    deleted = rotate_checkpoints(tmp_path, 2)
    assert sorted(os.path.basename(p) for p in deleted) == ["epoch_1.pt", "epoch_2.pt", "iter_7.pt"]
    assert sorted(os.listdir(tmp_path)) == ["epoch_3.pt", "iter_12.pt", "notes.pt"]
    link = link_atomic(paths[-1], tmp_path / "last.pt")
    assert os.path.realpath(link) == os.path.realpath(paths[-1]) and load_checkpoint_file(link)["i"] == 4
    link_atomic(paths[3], tmp_path / "last.pt")  # re-pointed in place
    assert load_checkpoint_file(tmp_path / "last.pt")["i"] == 3
    copy_atomic(paths[3], tmp_path / "best.pt")
    assert not os.path.islink(tmp_path / "best.pt") and load_checkpoint_file(tmp_path / "best.pt")["i"] == 3


def test_rng_state_round_trip(tmp_path):
    random.seed(1), np.random.seed(2), torch.manual_seed(3)
    state = capture_rng_state()
    save_checkpoint(tmp_path / "rng.pt", {"rng": state})
    first = (random.random(), np.random.rand(3), torch.rand(3), np.random.randn())
    restore_rng_state(load_checkpoint_file(tmp_path / "rng.pt")["rng"])
    again = (random.random(), np.random.rand(3), torch.rand(3), np.random.randn())
    assert first[0] == again[0] and np.array_equal(first[1], again[1]) and torch.equal(first[2], again[2])
    assert first[3] == again[3]
