"""Lifting configs: the shipped ones resolve, their data build as LiftingTrainData / LiftingValData, the
registry names (videopose3d, VideoPoseLifting, h36m, synthetic3d, MPJPE, LiftingMetrics) and
``pyposefast train`` on a tiny synthetic Human3.6M."""

from __future__ import annotations

import os

import pytest
import torch

from pyposefast import cli
from pyposefast.config import ConfigError, apply_overrides, build_model, load_config, resolve_config
from pyposefast.config.experiment import build_codec, build_metric, build_records, build_train_data, build_val_data
from pyposefast.config.lifting import videopose3d
from pyposefast.engine.lifting import LiftingMetrics, LiftingTrainData, LiftingValData

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
SYNTHETIC = os.path.join(CONFIGS, "synthetic3d", "videopose3d-27frm_synthetic3d.yaml")
H36M = os.path.join(CONFIGS, "h36m", "videopose3d-243frm-supv_h36m.yaml")

# a few seconds of data: 2 train subjects, 1 action, 1 camera, 30 frames
TINY = ["data.train.train_subjects=2", "data.val.train_subjects=2", "data.train.val_subjects=[S9]",
        "data.val.val_subjects=[S9]", "data.train.num_cameras=1", "data.val.num_cameras=1",
        "data.train.num_frames=30", "data.val.num_frames=30", "data.train.sequences_per_action=1",
        "data.val.sequences_per_action=1", "model.channels=16", "data.batch_size=16"]


def tiny_config(tmp_path, extra=()):
    cfg = load_config(SYNTHETIC)
    cfg = apply_overrides(cfg, TINY + [f"data.train.root={tmp_path}/data", f"data.val.root={tmp_path}/data"]
                          + list(extra))
    return resolve_config(cfg)


def test_h36m_config_mirrors_mmpose():
    cfg = resolve_config(load_config(H36M))
    assert cfg["model"]["type"] == "videopose3d" and cfg["model"]["num_frames"] == 243
    assert cfg["model"]["channels"] == 1024 and cfg["model"]["dropout"] == 0.25
    assert cfg["codec"]["type"] == "VideoPoseLifting" and cfg["codec"]["zero_center"] is True
    for split in ("train", "val"):
        assert cfg["data"][split]["type"] == "h36m" and cfg["data"][split]["seq_len"] == 243
        assert cfg["data"][split]["pad_video_seq"] is True and cfg["data"][split]["causal"] is False
        assert cfg["data"][split]["compact"] is True
    assert cfg["train"]["max_epochs"] == 160 and cfg["train"]["optimizer"] == {"type": "adam", "lr": 1e-3}
    assert cfg["train"]["scheduler"]["milestones"] == list(range(1, 81))
    assert cfg["metric"]["modes"] == ["mpjpe", "p-mpjpe"] and cfg["train"]["save_best"] == "MPJPE"
    assert cli.main(["print-config", H36M]) == 0


def test_videopose3d_entry_point_shapes():
    model = videopose3d(17, num_frames=81, channels=32)
    assert len(model.backbone.tcn_blocks) == 3
    assert model(torch.zeros(2, 34, 81)).shape == (2, 17, 3)
    assert type(model.head.decoder).__name__ == "VideoPoseLifting" and model.head.decoder.zero_center
    with pytest.raises(ValueError, match="power of 3"):
        videopose3d(17, num_frames=30)


def test_synthetic_config_builds_lifting_data(tmp_path):
    cfg = tiny_config(tmp_path)
    model = build_model(cfg)
    assert model.backbone.expand_conv.conv.out_channels == 16
    train = build_train_data(cfg, model, device="cpu")
    assert isinstance(train, LiftingTrainData) and train.flip_prob == 0.5
    val_records = build_records(cfg, "val")
    val = build_val_data(cfg, model, records=val_records, device="cpu")
    assert isinstance(val, LiftingValData) and val.batch_size == 512
    metric = build_metric(cfg, val_records)
    assert isinstance(metric, LiftingMetrics) and [m.mode for m in metric.metrics] == ["mpjpe", "p-mpjpe", "n-mpjpe"]
    assert type(build_codec(cfg, model)).__name__ == "VideoPoseLifting"
    batch = next(iter(train))
    assert batch["inputs"].shape == (16, 34, 27) and batch["lifting_target_label"].shape == (16, 17, 3)
    loss = model.loss(batch["inputs"], lifting_target_label=batch["lifting_target_label"],
                      lifting_target_weight=batch["lifting_target_weight"])
    assert torch.isfinite(loss["loss_pose3d"])


def test_lifting_config_rejects_crop_augmentation(tmp_path):
    cfg = tiny_config(tmp_path, ["data.augmentation.half_body={}"])
    with pytest.raises(ConfigError, match="half_body.*lifting"):
        build_train_data(cfg, build_model(cfg), device="cpu")
    cfg = tiny_config(tmp_path, ["data.augmentation.flip.direction=vertical"])
    with pytest.raises(ConfigError, match="only 'prob'"):
        build_train_data(cfg, build_model(cfg), device="cpu")


def test_cli_trains_the_synthetic_config(tmp_path, capsys):
    args = ["train", SYNTHETIC, "--work-dir", str(tmp_path / "work"), "--device", "cpu", "--no-validate"]
    for item in TINY + [f"data.train.root={tmp_path}/data", f"data.val.root={tmp_path}/data", "train.max_epochs=1",
                        "train.progress=false"]:
        args += ["--set", item]
    assert cli.main(args) == 0
    assert os.path.exists(tmp_path / "work" / "last.pt")
