"""The ``pyposefast`` command line: subcommands parse, run and fail with clear messages."""

from __future__ import annotations

import json

import pytest

from pyposefast import cli


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
    assert cli.main(["models", "--flops", "rtmpose-t_coco_256x192"]) == 0
    line = capsys.readouterr().out
    assert "rtmpose-t_coco_256x192" in line and "M params" in line and "GFLOPs" in line


def test_unknown_model_and_command_fail(capsys):
    with pytest.raises(SystemExit):
        cli.main(["models", "no-such-model"])
    assert "unknown model(s) no-such-model" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["no-such-command"])


def test_synthetic_writes_a_coco_dataset(tmp_path, capsys):
    root = tmp_path / "syn"
    assert cli.main(["synthetic", "--root", str(root), "--train", "2", "--val", "1"]) == 0
    assert capsys.readouterr().out.strip() == str(root)
    files = {p.name for p in root.rglob("*.json")}
    assert files, "no annotation files written"
