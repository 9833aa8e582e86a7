"""Optimisers, learning-rate schedules and the EMA."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from pyposefast.engine import ModelEMA, build_optimizer, build_scheduler


def _lrs(cfg, total, per_epoch, steps):
    model = nn.Linear(2, 2)
    opt = build_optimizer(model, {"type": "sgd", "lr": 1.0})
    sched = build_scheduler(opt, cfg, total, per_epoch)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_warmup_cosine():
    lrs = _lrs({"type": "cosine", "warmup_iters": 4, "warmup_ratio": 0.2, "min_lr_ratio": 0.1}, 12, 3, 13)
    assert lrs[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])
    t = [(s - 4) / 8 for s in range(4, 13)]
    assert lrs[4:] == pytest.approx([0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * x)) for x in t])
    assert lrs[-1] == pytest.approx(0.1)


def test_warmup_multistep_by_epoch_and_by_iter():
    lrs = _lrs({"type": "multistep", "milestones": [2, 3], "gamma": 0.1, "warmup_iters": 2, "warmup_ratio": 0.5},
               20, 4, 14)
    assert lrs[:3] == pytest.approx([0.5, 0.75, 1.0])
    assert lrs[7] == pytest.approx(1.0) and lrs[8] == pytest.approx(0.1) and lrs[12] == pytest.approx(0.01)
    lrs = _lrs({"type": "multistep", "milestones": [3], "by_epoch": False, "warmup_iters": 0}, 20, 4, 5)
    assert lrs == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1])


def test_scheduler_state_restores():
    model = nn.Linear(2, 2)
    opt = build_optimizer(model, {"type": "adamw", "lr": 0.1})
    cfg = {"type": "cosine", "warmup_iters": 3, "warmup_ratio": 0.1}
    sched = build_scheduler(opt, cfg, 10, 5)
    for _ in range(5):
        opt.step(), sched.step()
    opt2 = build_optimizer(model, {"type": "adamw", "lr": 0.1})
    sched2 = build_scheduler(opt2, cfg, 10, 5)
    opt2.load_state_dict(opt.state_dict()), sched2.load_state_dict(sched.state_dict())
    opt.step(), sched.step(), opt2.step(), sched2.step()
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] != 0.1


def test_optimizer_options_and_errors():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    opt = build_optimizer(model, {"type": "adamw", "lr": 1e-3, "weight_decay": 0.05, "norm_decay_mult": 0.0,
                                  "bias_decay_mult": 0.0})
    assert isinstance(opt, torch.optim.AdamW)
    decays = sorted((g["weight_decay"], len(g["params"])) for g in opt.param_groups)
    assert decays == [(0.0, 3), (0.05, 1)]  # conv bias + BN weight/bias without decay
    assert isinstance(build_optimizer(model, {"type": "sgd", "lr": 0.1, "momentum": 0.9}), torch.optim.SGD)
    with pytest.raises(ValueError, match="must be one of"):
        build_optimizer(model, {"type": "lamb"})
    with pytest.raises(ValueError, match=r"unknown keys \['momentum'\]"):
        build_optimizer(model, {"type": "adamw", "momentum": 0.9})
    with pytest.raises(ValueError, match="lr"):
        build_optimizer(model, {"type": "sgd", "lr": 0})
    opt = build_optimizer(model, {"type": "sgd", "lr": 0.1})
    with pytest.raises(ValueError, match="allowed"):
        build_scheduler(opt, {"type": "cosine", "milestones": [1]}, 10, 2)
    with pytest.raises(ValueError, match="needs 'milestones'"):
        build_scheduler(opt, {"type": "multistep"}, 10, 2)


def test_ema_matches_exp_momentum():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
    ema = ModelEMA(model, 0.9, gamma=5.0)
    ref = {k: v.clone() for k, v in model.state_dict().items()}
    for step in range(4):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        model(torch.randn(8, 3))  # moves the BN statistics
        ema.update(model)
        m = 0.9 * math.exp(-(1 + step) / 5.0) + 0.1
        assert ema.momentum(step) == pytest.approx(m)
        for name, p in model.named_parameters():
            ref[name] = (1 - m) * ref[name] + m * p.detach()
    for name, p in ema.module.named_parameters():
        torch.testing.assert_close(p, ref[name])
    torch.testing.assert_close(ema.module[1].running_mean, model[1].running_mean)  # buffers copied
    with pytest.raises(ValueError, match="ema_decay"):
        ModelEMA(model, 1.5)
