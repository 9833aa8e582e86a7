"""log.jsonl records, the TensorBoard fallback, ETA formatting, and the throughput helper."""

from __future__ import annotations

import json
import sys

import pytest

from pyposefast.engine import TopdownTrainData
from pyposefast.engine import logging as engine_logging
from pyposefast.engine.throughput import measure_training_throughput

from .tiny import INPUT_SIZE, tiny_codec, tiny_model


def test_jsonl_logger(tmp_path):
    log = engine_logging.JsonlLogger(str(tmp_path / "a" / "log.jsonl"))
    log.write({"type": "train", "loss": 0.5})
    log.write({"type": "train", "loss": float("nan")})
    log.close()
    lines = [json.loads(s) for s in open(tmp_path / "a" / "log.jsonl")]
    assert lines == [{"type": "train", "loss": 0.5}, {"type": "train", "loss": "nan"}]
    off = engine_logging.JsonlLogger(str(tmp_path / "b" / "log.jsonl"), enabled=False)
    off.write({"x": 1})
    assert not (tmp_path / "b").exists()


def test_tensorboard_missing_warns_once(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import fails
    monkeypatch.setattr(engine_logging, "_TB_WARNED", False)
    with pytest.warns(UserWarning, match="tensorboard"):
        w = engine_logging.ScalarWriter(str(tmp_path))
    assert not w.active
    w.scalars({"loss": 1.0}, 0)  # a no-op
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine_logging.ScalarWriter(str(tmp_path))


def test_format_eta():
    assert engine_logging.format_eta(3725.4) == "1:02:05"
    assert engine_logging.format_eta(float("inf")) == "?"


def test_throughput_helper_runs(synthetic):
    data = TopdownTrainData(synthetic["train"], "coco", tiny_codec(), INPUT_SIZE, 8, num_workers=0, device="cpu")
    out = measure_training_throughput(tiny_model(), data, iters=2, warmup=0)
    assert out["batch_size"] == 8 and out["pipeline_samples_per_s"] > 0 and out["model_samples_per_s"] > 0
    assert out["pipeline_cost"] == pytest.approx(1 - out["pipeline_samples_per_s"] / out["model_samples_per_s"])
