"""``pyposefast demo --quick``: every artefact of the demo is written and valid (the AP is not checked:
the quick run trains a tiny model for a few iterations)."""

from __future__ import annotations

import json
import os
import re

import cv2
import pytest

from pyposefast import cli
from pyposefast.demo import QUICK, demo_model

STATS = ["AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)"]


def test_quick_demo_writes_report_pngs_and_curve(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PYPOSEFAST_CACHE", str(tmp_path / "cache"))
    work = tmp_path / "demo"
    assert cli.main(["demo", "--quick", "--work-dir", str(work), "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    report = work / "report.md"
    assert f"report:         {report}" in out and "COCO AP" in out
    text = report.read_text()
    # the AP table: every COCO statistic with a number in [0, 1] (or -1: no such instances)
    for name in STATS:
        m = re.search(rf"^\| {re.escape(name)} \| (-?[0-9.]+) \|$", text, re.M)
        assert m, f"no row for {name} in the AP table"
        assert -1.0 <= float(m.group(1)) <= 1.0
    assert "samples/s" in text and "device | cpu" in text
    metrics = json.loads((work / "metrics.json").read_text())
    assert {f"coco/{s}" for s in STATS} <= set(metrics["metrics"])
    assert metrics["settings"]["epochs"] == QUICK.epochs
    assert metrics["train_samples_per_s"] > 0 and metrics["timings"]["total_s"] > 0
    # skeleton PNGs decode, at the synthetic images' size
    pngs = sorted((work / "vis").glob("*.png"))
    assert len(pngs) == QUICK.vis_images
    for png in pngs:
        img = cv2.imread(str(png))
        assert img is not None and img.shape == (QUICK.image_size[1], QUICK.image_size[0], 3)
    # the training curve: a non-empty image, referenced by the report
    curve = work / "training_curve.png"
    assert curve.stat().st_size > 1000
    img = cv2.imread(str(curve))
    assert img is not None and img.std() > 1
    assert "![training curve](training_curve.png)" in text
    assert os.path.isfile(metrics["checkpoint"])


def test_demo_model_checks_its_arguments():
    model = demo_model((64, 96), width=8)
    assert model.head.decoder.heatmap_size == (16, 24)
    assert sum(p.numel() for p in demo_model(head="heatmap").parameters()) / 1e6 == pytest.approx(3.19, abs=0.01)
    assert sum(p.numel() for p in demo_model(head="multiscale").parameters()) / 1e6 == pytest.approx(2.87, abs=0.01)
    with pytest.raises(ValueError, match="multiples of 32"):
        demo_model((100, 128))
    with pytest.raises(ValueError, match="width"):
        demo_model(width=4)
    with pytest.raises(ValueError, match="head must be"):
        demo_model(head="regression")


@pytest.mark.parametrize("head, shapes", [("heatmap", [(2, 17, 16, 16)]), ("multiscale", [(2, 17, 16, 16)]),
                                          ("simcc", [(2, 17, 128), (2, 17, 128)])])
def test_demo_model_heads_train_and_predict(head, shapes):
    import torch

    torch.manual_seed(0)
    model = demo_model((64, 64), width=8, head=head)
    x = torch.randn(2, 3, 64, 64)
    out = model(x)
    out = out if isinstance(out, tuple) else (out,)
    assert [tuple(o.shape) for o in out] == shapes
    model.eval()
    kp, scores = model.predict(x, torch.tensor([[50.0, 60.0]] * 2), torch.tensor([[64.0, 64.0]] * 2))
    assert kp.shape == (2, 17, 2) and scores.shape == (2, 17)
    # the predictions lie in the crop's box in image pixels (centre 50, 60; size 64 x 64), give or take
    # one heatmap pixel (4 px: the flip test's heatmap shift)
    assert ((kp[..., 0] >= 14) & (kp[..., 0] <= 86) & (kp[..., 1] >= 24) & (kp[..., 1] <= 96)).all()
