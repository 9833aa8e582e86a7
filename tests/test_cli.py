"""The ``pyposefast`` command line: every subcommand's --help, one real (tiny) run of each, clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
import yaml

from pyposefast import cli

SUBCOMMANDS = ["demo", "train", "test", "print-config", "browse-dataset", "infer", "convert-mmpose-checkpoint",
               "model-info", "models", "synthetic", "bench", "info"]
CONFIGS = os.path.join(os.path.dirname(__file__), "..", "configs")

TINY = """
model: {type: demo_resnet18_coco_128x96, input_size: [64, 64], width: 8}
data:
  metainfo: coco
  train: {type: synthetic, split: train, root: ROOT, num_train: 6, num_val: 3, image_size: [160, 128], seed: 1}
  val: {type: synthetic, split: val, root: ROOT, num_train: 6, num_val: 3, image_size: [160, 128], seed: 1}
  batch_size: 4
  val_batch_size: 8
  num_workers: 0
metric: {type: CocoMetric}
train:
  max_epochs: 1
  max_iters_per_epoch: 2
  optimizer: {type: adamw, lr: 1.0e-3}
  scheduler: {type: cosine, warmup_iters: 1}
  log_interval: 1
  progress: false
  tensorboard: false
"""


@pytest.fixture(scope="module")
def tiny_config(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    path = folder / "tiny.yaml"
    path.write_text(TINY.replace("ROOT", str(folder / "synthetic")))
    return str(path)


@pytest.fixture(scope="module")
def trained(tiny_config, tmp_path_factory):
    """One tiny training run through ``pyposefast train``: (config, work dir)."""
    work = str(tmp_path_factory.mktemp("train"))
    assert cli.main(["train", tiny_config, "--work-dir", work, "--device", "cpu"]) == 0
    return tiny_config, work


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        cli.main([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    prog = "model-info" if command == "models" else command
    assert f"usage: pyposefast {prog}" in out
    assert len(out.splitlines()) > 3


def test_top_level_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in SUBCOMMANDS:
        assert command in out


def test_python_dash_m_is_the_same_command():
    out = subprocess.run([sys.executable, "-m", "pyposefast", "info"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert {"pyposefast", "torch", "cuda_available"} <= set(json.loads(out.stdout))


def test_info_prints_build_facts(capsys):
    assert cli.main(["info"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert {"pyposefast", "torch", "with_cuda", "cuda_available"} <= set(info)


def test_models_lists_the_zoo_and_counts(capsys):
    assert cli.main(["models"]) == 0
    names = capsys.readouterr().out.split()
    for required in ("resnet50_coco_256x192", "hrnet-w32_coco_256x192", "rtmpose-m_coco_256x192",
                     "ae_hrnet-w32_coco_512x512", "videopose3d-243f_h36m"):
        assert required in names
    assert cli.main(["model-info", "--flops", "rtmpose-t_coco_256x192"]) == 0
    line = capsys.readouterr().out
    assert "rtmpose-t_coco_256x192" in line and "M params" in line and "GFLOPs" in line


def test_unknown_model_and_command_fail(capsys):
    with pytest.raises(SystemExit):
        cli.main(["models", "no-such-model"])
    assert "unknown model(s) no-such-model" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["no-such-command"])
    assert e.value.code == 2


def test_synthetic_writes_a_coco_dataset(tmp_path, capsys):
    root = tmp_path / "syn"
    assert cli.main(["synthetic", "--root", str(root), "--train", "2", "--val", "1", "--image-size", "96", "64"]) == 0
    assert capsys.readouterr().out.strip() == str(root)
    ann = json.loads((root / "annotations" / "person_keypoints_train.json").read_text())
    assert len(ann["images"]) == 2 and ann["images"][0]["width"] == 96 and ann["images"][0]["height"] == 64


def test_print_config_resolves_with_overrides(capsys):
    path = os.path.join(CONFIGS, "coco", "resnet50_coco_256x192.yaml")
    assert cli.main(["print-config", path, "--set", "train.optimizer.lr=1e-3", "--set", "data.batch_size=32",
                     "--set", "data.val.bbox_file=dets.json"]) == 0
    cfg = yaml.safe_load(capsys.readouterr().out)
    assert cfg["train"]["optimizer"] == {"type": "adam", "lr": 1e-3}
    assert cfg["data"]["batch_size"] == 32 and cfg["data"]["val"]["bbox_file"] == "dets.json"
    assert cfg["model"] == {"type": "resnet50_coco_256x192", "input_size": [192, 256], "num_keypoints": 17,
                            "flip_test": True, "depth": 50}
    assert cfg["train"]["max_epochs"] == 210 and cfg["train"]["work_dir"].endswith("resnet50_coco_256x192")


def test_config_errors_exit_with_the_key_and_allowed_values(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: {type: resnet50_coco_256x192, widht: 2}\n")
    with pytest.raises(SystemExit) as e:
        cli.main(["print-config", str(bad)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "config error: model:" in err and "'widht'" in err and "num_keypoints" in err
    with pytest.raises(SystemExit):
        cli.main(["print-config", os.path.join(CONFIGS, "coco", "resnet50_coco_256x192.yaml"),
                  "--set", "model.type=resnet51"])
    err = capsys.readouterr().err
    assert "model.type" in err and "'resnet51'" in err and "hrnet-w32_coco_256x192" in err


def test_train_writes_checkpoints_and_log(trained):
    _, work = trained
    assert os.path.isfile(os.path.join(work, "checkpoints", "epoch_1.pt"))
    assert os.path.exists(os.path.join(work, "last.pt")) and os.path.exists(os.path.join(work, "best.pt"))
    records = [json.loads(line) for line in open(os.path.join(work, "log.jsonl"))]
    assert [r["iter"] for r in records if r["type"] == "train"] == [1, 2]
    assert any(r["type"] == "val" and "coco/AP" in r for r in records)


def test_test_evaluates_a_checkpoint(trained, tmp_path, capsys):
    cfg, work = trained
    out = tmp_path / "metrics.json"
    assert cli.main(["test", cfg, os.path.join(work, "best.pt"), "--device", "cpu", "--out", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    assert {"coco/AP", "coco/AP .5", "coco/AR"} <= set(printed)
    assert all(0.0 <= v <= 1.0 or v == -1.0 for v in printed.values())
    with pytest.raises(SystemExit) as e:
        cli.main(["test", cfg, str(tmp_path / "missing.pt")])
    assert e.value.code == 2 and "does not exist" in capsys.readouterr().err


def test_infer_writes_drawings_and_predictions(trained, tmp_path, capsys):
    cfg, work = trained
    images = os.path.join(os.path.dirname(cfg), "synthetic", "images", "val")
    vis, pred = tmp_path / "vis", tmp_path / "pred"
    assert cli.main(["infer", images, "--config", cfg, "--checkpoint", os.path.join(work, "best.pt"), "--device",
                     "cpu", "--vis-out-dir", str(vis), "--pred-out-dir", str(pred), "--kpt-thr", "0"]) == 0
    assert "3 images/frames" in capsys.readouterr().out
    pngs = sorted(vis.glob("*.png"))
    assert len(pngs) == 3
    for png in pngs:
        img = cv2.imread(str(png))
        assert img is not None and img.shape == (128, 160, 3)
    preds = sorted(pred.glob("*.json"))
    assert len(preds) == 3
    instance = json.loads(preds[0].read_text())[0]
    assert np.asarray(instance["keypoints"]).shape == (17, 2)


def test_infer_by_model_name_and_unknown_name(tmp_path, capsys):
    img = np.full((64, 48, 3), 128, np.uint8)
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), img)
    assert cli.main(["infer", str(path), "--model", "demo_resnet18_coco_128x96", "--device", "cpu"]) == 0
    assert "1 images/frames, 1 people" in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        cli.main(["infer", str(path), "--model", "no-such-model"])
    assert e.value.code == 2 and "unknown model 'no-such-model'" in capsys.readouterr().err


def test_browse_dataset_draws_a_grid(tiny_config, tmp_path, capsys):
    out = tmp_path / "grid.png"
    assert cli.main(["browse-dataset", tiny_config, "--out", str(out), "--num", "5", "--cols", "3"]) == 0
    grid = cv2.imread(str(out))
    gap = 2
    assert grid.shape == (2 * (64 + gap) - gap, 3 * (64 + gap) - gap, 3)
    assert grid[:64, :64].std() > 5  # a crop, not an empty tile
    assert (grid[64:66] == 0).all()  # the gap between rows


def test_convert_mmpose_checkpoint(tmp_path, capsys):
    from pyposefast import models

    if not hasattr(models, "convert_mmpose_checkpoint"):
        pytest.skip("pyposefast.models.convert_mmpose_checkpoint is not available")
    model = models.build_model("rtmpose-t_coco_256x192")
    state = {f"{k}": v.clone() + 1 if v.is_floating_point() else v.clone() for k, v in model.state_dict().items()}
    state["data_preprocessor.mean"] = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    src, dst = tmp_path / "mmpose.pth", tmp_path / "converted.pt"
    torch.save({"state_dict": state, "meta": {"epoch": 420}}, str(src))
    assert cli.main(["convert-mmpose-checkpoint", str(src), str(dst), "--model", "rtmpose-t_coco_256x192"]) == 0
    assert capsys.readouterr().out.strip()
    loaded = torch.load(str(dst), map_location="cpu", weights_only=True)
    weights = loaded.get("state_dict", loaded)
    fresh = models.build_model("rtmpose-t_coco_256x192")
    models.load_checkpoint(fresh, weights)
    for k, v in fresh.state_dict().items():
        torch.testing.assert_close(v, state[k], msg=k)
