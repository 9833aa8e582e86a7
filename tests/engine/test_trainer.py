"""Trainer in-process: files it writes, best tracking, EMA weights in the checkpoint, NaN stop with
the last good checkpoint intact, AMP on the CPU, argument errors; CUDA when available."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from pyposefast.engine import NonFiniteLossError, TopdownTrainData, TopdownValData, Trainer, load_checkpoint_file
from pyposefast.evaluation import CocoMetric
from pyposefast.models import load_checkpoint

from ..conftest import requires_cuda
from .tiny import INPUT_SIZE, tiny_codec, tiny_model


def _train(synthetic, batch=8, device="cpu"):
    return TopdownTrainData(synthetic["train"], "coco", tiny_codec(), INPUT_SIZE, batch, num_workers=0, device=device)


def _val(synthetic, device="cpu"):
    return TopdownValData(synthetic["val"], "coco", INPUT_SIZE, 16, num_workers=0, device=device)


def _records(work_dir):
    with open(os.path.join(work_dir, "log.jsonl")) as f:
        return [json.loads(line) for line in f]


def test_fit_writes_checkpoints_logs_and_best(synthetic, tmp_path):
    torch.manual_seed(0)
    trainer = Trainer(tiny_model(), _train(synthetic), _val(synthetic), CocoMetric(ann_file=synthetic["val_ann"]),
                      work_dir=str(tmp_path), max_epochs=2, optimizer={"type": "adamw", "lr": 1e-3},
                      scheduler={"type": "cosine", "warmup_iters": 2}, accumulate=2, grad_clip=1.0, ema_decay=0.9,
                      keep_last=1, log_interval=2, progress=False, tensorboard=True, device="cpu")
    result = trainer.fit()
    iters = len(synthetic["train"].records) // 8
    assert trainer.global_iter == 2 * iters
    assert trainer.scheduler.last_epoch == 2 * -(-iters // 2)  # optimiser steps: accumulate 2, partial at the end
    # files: the newest periodic checkpoint only (keep_last=1), last.pt -> it, best.pt, log, events
    assert os.listdir(tmp_path / "checkpoints") == ["epoch_2.pt"]
    assert os.path.realpath(tmp_path / "last.pt") == str(tmp_path / "checkpoints" / "epoch_2.pt")
    assert os.path.isfile(tmp_path / "best.pt") and not os.path.islink(tmp_path / "best.pt")
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(tmp_path / "tensorboard"))
    recs = _records(tmp_path)
    train = [r for r in recs if r["type"] == "train"]
    val = [r for r in recs if r["type"] == "val"]
    assert [r["epoch"] for r in val] == [1, 2] and "coco/AP" in val[0]
    assert {"loss", "loss_kpt", "lr", "samples_per_s", "eta_s", "grad_norm"} <= set(train[0])
    assert train[-1]["global_iter"] == 2 * iters
    # result and history
    assert [h["epoch"] for h in result["history"]] == [1, 2] and result["final"] == result["history"][-1]["val"]
    best = result["best"]
    assert best["metric"] == "coco/AP" and best["value"] == max(h["val"]["coco/AP"] for h in result["history"])
    assert load_checkpoint_file(tmp_path / "best.pt")["epoch"] == best["epoch"]
    # the checkpoint's state_dict is the EMA model, loadable as plain weights; training weights kept too
    state = load_checkpoint_file(tmp_path / "last.pt")
    for k, v in trainer.ema.module.state_dict().items():
        torch.testing.assert_close(state["state_dict"][k], v)
    assert any(not torch.equal(state["train_state_dict"][k], state["state_dict"][k]) for k in state["state_dict"])
    fresh = tiny_model()
    assert load_checkpoint(fresh, str(tmp_path / "last.pt")) == {"missing": [], "unexpected": [], "mismatched": []}
    # resume=True at the end: nothing left to train, the result is the same
    again = Trainer(tiny_model(), _train(synthetic), _val(synthetic), CocoMetric(ann_file=synthetic["val_ann"]),
                    work_dir=str(tmp_path), max_epochs=2, accumulate=2, ema_decay=0.9, progress=False,
                    tensorboard=False, device="cpu").fit(resume=True)
    assert again["best"] == best and again["final"] == result["final"]


def _nan_after(model, calls_before_nan):
    """Make the head's loss NaN from call ``calls_before_nan + 1`` on."""
    original, calls = model.head.loss, [0]

    def loss(feats, **targets):
        calls[0] += 1
        out = original(feats, **targets)
        return {k: v * float("nan") for k, v in out.items()} if calls[0] > calls_before_nan else out

    model.head.loss = loss
    return model


@pytest.mark.parametrize("log_interval, nan_from, checkpoint", [(1, 7, "iter_6.pt"), (100, 3, "iter_2.pt")])
def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(synthetic, tmp_path, log_interval, nan_from, checkpoint):
    iters = len(synthetic["train"].records) // 8
    epoch, it = (nan_from - 1) // iters + 1, (nan_from - 1) % iters + 1
    trainer = Trainer(_nan_after(tiny_model(), nan_from - 1), _train(synthetic), work_dir=str(tmp_path), max_epochs=3,
                      checkpoint_interval=2, log_interval=log_interval, keep_last=10, progress=False,
                      tensorboard=False, device="cpu", save_best=None)
    with pytest.raises(NonFiniteLossError,
                       match=rf"loss is nan at epoch {epoch} iteration {it} \(global iteration {nan_from}\).*"
                             rf"last good checkpoint is .*{checkpoint}"):
        trainer.fit()
    # with a long log interval the loss check before writing iter_4.pt caught it: nothing NaN was saved
    assert os.path.realpath(tmp_path / "last.pt").endswith(checkpoint)
    for name in os.listdir(tmp_path / "checkpoints"):
        state = load_checkpoint_file(tmp_path / "checkpoints" / name)
        assert state["global_iter"] < nan_from
        assert all(torch.isfinite(v).all() for v in state["state_dict"].values() if v.is_floating_point())


@pytest.mark.parametrize("amp, channels_last", [("bf16", False), ("fp16", False), (None, True)])
def test_amp_and_channels_last_on_cpu(synthetic, tmp_path, amp, channels_last):
    trainer = Trainer(tiny_model(), _train(synthetic), work_dir=str(tmp_path), max_epochs=1, amp=amp, grad_clip=2.0,
                      channels_last=channels_last,
                      max_iters_per_epoch=2, log_interval=1, progress=False, tensorboard=False, device="cpu",
                      save_best=None, scheduler={"type": "multistep", "milestones": [1], "warmup_iters": 0})
    trainer.fit()
    losses = [r["loss"] for r in _records(tmp_path) if r["type"] == "train"]
    assert len(losses) == 2 and all(isinstance(v, float) and 0 < v < 10 for v in losses)
    scaler = load_checkpoint_file(tmp_path / "last.pt")["scaler"]
    assert bool(scaler) == (amp == "fp16")  # GradScaler state only for fp16
    conv = trainer.model.backbone.layers[0].weight
    assert conv.is_contiguous(memory_format=torch.channels_last) == channels_last


def test_argument_errors(synthetic, tmp_path):
    kw = dict(work_dir=str(tmp_path), max_epochs=1, device="cpu", progress=False, tensorboard=False)
    with pytest.raises(ValueError, match="amp must be"):
        Trainer(tiny_model(), _train(synthetic), amp="fp8", **kw)
    with pytest.raises(ValueError, match="accumulate"):
        Trainer(tiny_model(), _train(synthetic), accumulate=0, **kw)
    with pytest.raises(ValueError, match="val_data and metric"):
        Trainer(tiny_model(), _train(synthetic), _val(synthetic), **kw)
    with pytest.raises(ValueError, match="no batches"):
        Trainer(tiny_model(), _train(synthetic, batch=1000), **kw)
    with pytest.raises(TypeError, match="loss"):
        Trainer(torch.nn.Linear(2, 2), _train(synthetic), **kw)
    with pytest.raises(ValueError, match=r"cuda_graph=True needs a CUDA device.*accumulate=1"):
        Trainer(tiny_model(), _train(synthetic), cuda_graph=True, accumulate=2, **kw)
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        Trainer(tiny_model(), _train(synthetic), **kw).fit(resume=str(tmp_path / "nope.pt"))
    trainer = Trainer(tiny_model(), _train(synthetic), _val(synthetic), CocoMetric(ann_file=synthetic["val_ann"]),
                      save_best="PCK", max_iters_per_epoch=1, **kw)
    with pytest.raises(ValueError, match=r"save_best='PCK' is not among .*coco/AP"):
        trainer.fit()


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("amp", [None, "bf16", "fp16"])
def test_fit_on_cuda(synthetic, tmp_path, amp):
    trainer = Trainer(tiny_model(), _train(synthetic, device="cuda"), _val(synthetic, device="cuda"),
                      CocoMetric(ann_file=synthetic["val_ann"]), work_dir=str(tmp_path), max_epochs=2, amp=amp,
                      ema_decay=0.9, grad_clip=1.0, checkpoint_interval=2, log_interval=1, progress=False,
                      device="cuda")
    result = trainer.fit()
    assert next(trainer.model.parameters()).is_cuda
    assert all(0 < r["loss"] < 10 for r in _records(tmp_path) if r["type"] == "train")
    assert "coco/AP" in result["final"] and "memory_mb" in _records(tmp_path)[0]
    resumed = Trainer(tiny_model(), _train(synthetic, device="cuda"), _val(synthetic, device="cuda"),
                      CocoMetric(ann_file=synthetic["val_ann"]), work_dir=str(tmp_path), max_epochs=3, amp=amp,
                      ema_decay=0.9, grad_clip=1.0, progress=False, device="cuda").fit(resume=True)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]


@requires_cuda
@pytest.mark.cuda
def test_cuda_graph_trains_like_eager(synthetic, tmp_path):
    """Trainer(cuda_graph=True): the same losses as eager steps (the same batches and draws, the
    capture's warm-up undone), schedule and EMA applied, checkpoints resume in eager mode."""
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.allow_tf32 = False
    try:
        runs = {}
        for graph in (False, True):
            work = tmp_path / f"graph{int(graph)}"
            torch.manual_seed(0)  # the same initial weights for both runs
            trainer = Trainer(tiny_model(), _train(synthetic, device="cuda"), work_dir=str(work), max_epochs=2,
                              ema_decay=0.9, grad_clip=1.0, log_interval=1, progress=False, tensorboard=False,
                              save_best=None, device="cuda", cuda_graph=graph,
                              optimizer={"type": "adamw", "lr": 1e-3}, scheduler={"type": "cosine", "warmup_iters": 3})
            trainer.fit()
            runs[graph] = [r["loss"] for r in _records(work) if r["type"] == "train"]
            if graph:
                assert trainer._graph_step is not None and trainer._graph_step.captures >= 1
                resumed = Trainer(tiny_model(), _train(synthetic, device="cuda"), work_dir=str(work), max_epochs=3,
                                  progress=False, tensorboard=False, save_best=None, device="cuda", ema_decay=0.9,
                                  optimizer={"type": "adamw", "lr": 1e-3}).fit(resume=True)
                assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
        assert len(runs[True]) == len(runs[False]) > 2
        np.testing.assert_allclose(runs[True], runs[False], rtol=1e-3, atol=1e-6)
    finally:
        torch.backends.cudnn.deterministic = False
        torch.backends.cudnn.allow_tf32 = True
