"""Configs: YAML reading, ``base:`` merging, overrides, registry checks and their error messages."""

from __future__ import annotations

import glob
import json
import os

import numpy as np
import pytest
import yaml

from pyposefast.config import (MODELS, ConfigError, apply_overrides, build_model, dump_config, load_config, merge,
                               parse_value, resolve_config)
from pyposefast.config.registry import coco_wholebody_keypoints

CONFIGS = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
SHIPPED = sorted(p for p in glob.glob(os.path.join(CONFIGS, "**", "*.yaml"), recursive=True) if "_base_" not in p)


def write(path, text: str) -> str:
    path = str(path)
    with open(path, "w") as f:
        f.write(text)
    return path


def minimal(**sections) -> dict:
    cfg = {"model": {"type": "demo_resnet18_coco_128x96", "width": 8}}
    cfg.update(sections)
    return cfg


@pytest.mark.parametrize("text, value", [("1e-3", 1e-3), ("5E+4", 5e4), ("2.0e-4", 2e-4), ("[96, 128]", [96, 128]),
                                         ("null", None), ("true", True), ("adamw", "adamw"), ("3", 3),
                                         ("{type: sgd, lr: 0.1}", {"type": "sgd", "lr": 0.1})])
def test_values_are_read_as_yaml_with_plain_scientific_floats(text, value):
    got = parse_value(text)
    assert got == value and type(got) is type(value)


def test_overrides_set_nested_keys_and_name_a_bad_path():
    cfg = {"train": {"optimizer": {"type": "adamw", "lr": 5e-4}}, "data": {"batch_size": 64}}
    out = apply_overrides(cfg, ["train.optimizer.lr=1e-3", "data.batch_size=32", "model.input_size=[96,128]"])
    assert out["train"]["optimizer"] == {"type": "adamw", "lr": 1e-3}
    assert out["data"]["batch_size"] == 32 and out["model"]["input_size"] == [96, 128]
    assert cfg["train"]["optimizer"]["lr"] == 5e-4  # the input is not changed
    with pytest.raises(ConfigError, match=r"data\.batch_size is a int"):
        apply_overrides(cfg, ["data.batch_size.x=1"])
    with pytest.raises(ConfigError, match="key.path=value"):
        apply_overrides(cfg, ["train.lr"])


def test_base_file_is_merged_key_by_key(tmp_path):
    write(tmp_path / "base.yaml", "data: {batch_size: 64, num_workers: 4}\ntrain: {max_epochs: 210, "
                                  "scheduler: {type: multistep, milestones: [170, 200]}}\n")
    child = write(tmp_path / "child.yaml", "base: base.yaml\ndata: {batch_size: 32}\n"
                                           "train: {scheduler: {type: cosine, _replace_: true}}\n")
    cfg = load_config(child, ["train.max_epochs=3"])
    assert cfg["data"] == {"batch_size": 32, "num_workers": 4}
    assert cfg["train"] == {"max_epochs": 3, "scheduler": {"type": "cosine"}}
    assert merge({"a": {"b": 1}, "c": [1, 2]}, {"a": {"d": 2}, "c": [3]}) == {"a": {"b": 1, "d": 2}, "c": [3]}


def test_base_loops_and_bad_files_are_errors(tmp_path):
    write(tmp_path / "a.yaml", "base: b.yaml\n")
    write(tmp_path / "b.yaml", "base: a.yaml\n")
    with pytest.raises(ConfigError, match="loops back"):
        load_config(str(tmp_path / "a.yaml"))
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(str(tmp_path / "missing.yaml"))
    with pytest.raises(ConfigError, match="mapping at the top level"):
        load_config(write(tmp_path / "list.yaml", "- 1\n- 2\n"))


def test_unknown_component_names_the_key_and_lists_the_registered_names():
    with pytest.raises(ConfigError) as e:
        resolve_config({"model": {"type": "resnet5O_coco_256x192"}})
    msg = str(e.value)
    assert "model.type" in msg and "'resnet5O_coco_256x192'" in msg and "resnet50_coco_256x192" in msg
    with pytest.raises(ConfigError) as e:
        resolve_config(minimal(metric={"type": "CocoMetrik"}))
    assert "metric.type" in str(e.value) and "CocoMetric" in str(e.value) and "NME" in str(e.value)
    with pytest.raises(ConfigError) as e:
        resolve_config(minimal(data={"metainfo": "cocoo"}))
    assert "data.metainfo" in str(e.value) and "coco_wholebody" in str(e.value)


def test_wrong_argument_names_the_key_and_lists_the_accepted_arguments():
    with pytest.raises(ConfigError) as e:
        resolve_config({"model": {"type": "resnet50_coco_256x192", "num_keypoint": 16}})
    msg = str(e.value)
    assert msg.startswith("model:") and "'num_keypoint'" in msg and "num_keypoints" in msg and "input_size" in msg
    with pytest.raises(ConfigError) as e:
        resolve_config(minimal(data={"train": {"type": "coco", "ann_fil": "x.json"}}))
    assert str(e.value).startswith("data.train:") and "'ann_fil'" in str(e.value) and "ann_file" in str(e.value)
    with pytest.raises(ConfigError, match=r"data\.val: .*needs argument\(s\) 'ann_file'"):
        resolve_config(minimal(data={"val": {"type": "coco", "img_prefix": "x"}}))
    with pytest.raises(ConfigError) as e:
        resolve_config(minimal(train={"max_epoch": 3}))
    assert "train:" in str(e.value) and "'max_epoch'" in str(e.value) and "max_epochs" in str(e.value)
    with pytest.raises(ConfigError, match=r"data: unknown key\(s\) 'batchsize'.*batch_size"):
        resolve_config(minimal(data={"batchsize": 3}))
    with pytest.raises(ConfigError, match=r"config: unknown key\(s\) 'optimizer'.*model, codec, data, metric, train"):
        resolve_config(minimal(optimizer={"lr": 1}))


def test_resolve_fills_every_default():
    cfg = resolve_config(minimal(data={"val": {"type": "coco", "ann_file": "v.json"}}, metric={"type": "CocoMetric"},
                                 train={"max_epochs": 2}))
    assert cfg["model"] == {"type": "demo_resnet18_coco_128x96", "input_size": [96, 128], "num_keypoints": 17,
                            "flip_test": True, "width": 8, "sigma": 2.0, "head": "multiscale",
                            "unbiased": False}
    assert cfg["data"]["val"]["img_prefix"] == "" and cfg["data"]["val"]["bbox_file"] is None
    assert cfg["data"]["batch_size"] == 64 and cfg["data"]["metainfo"] == "coco"
    assert cfg["metric"]["nms_thr"] == 0.9 and cfg["metric"]["ann_file"] is None
    assert cfg["train"]["max_epochs"] == 2 and cfg["train"]["work_dir"] == os.path.join("work_dirs", "run")
    assert cfg["train"]["keep_last"] == 3  # a Trainer default
    assert yaml.safe_load(dump_config(cfg)) == cfg


@pytest.mark.parametrize("path", SHIPPED, ids=[os.path.relpath(p, CONFIGS) for p in SHIPPED])
def test_shipped_configs_resolve(path):
    cfg = resolve_config(load_config(path))
    assert cfg["model"]["type"] in MODELS
    assert cfg["data"]["train"] is not None and cfg["data"]["val"] is not None and cfg["metric"] is not None
    assert cfg["train"]["work_dir"].endswith(os.path.splitext(os.path.basename(path))[0])


def test_shipped_configs_cover_the_datasets():
    metainfo = {resolve_config(load_config(p))["data"]["metainfo"] for p in SHIPPED}
    assert {"coco", "mpii", "coco_wholebody", "onehand10k", "wflw", "ap10k"} <= metainfo
    cfg = resolve_config(load_config(os.path.join(CONFIGS, "coco", "resnet50_coco_256x192.yaml")))
    assert cfg["data"]["data_root"] == "data/coco"
    assert cfg["data"]["train"]["ann_file"] == "annotations/person_keypoints_train2017.json"


def test_model_takes_the_datasets_flip_pairs():
    from pyposefast.datasets import dataset_meta

    model = build_model(resolve_config(minimal(data={"metainfo": "ap10k"})))
    assert model.flip_indices == list(dataset_meta("ap10k")["flip_indices"]) != list(dataset_meta("coco")["flip_indices"])


def test_coco_wholebody_reader_concatenates_the_parts(tmp_path):
    parts = {"keypoints": 17, "foot_kpts": 6, "face_kpts": 68, "lefthand_kpts": 21, "righthand_kpts": 21}
    rng = np.random.default_rng(0)
    ann = {"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 50, 80], "area": 2000.0, "iscrowd": 0,
           "num_keypoints": 17}
    expected = []
    for key, k in parts.items():
        kp = np.concatenate([rng.uniform(10, 60, (k, 2)).round(1), rng.integers(0, 3, (k, 1))], 1)
        ann[key] = kp.reshape(-1).tolist()
        expected.append(kp)
    expected = np.concatenate(expected)
    data = {"images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}], "annotations": [ann],
            "categories": [{"id": 1, "name": "person"}]}
    path = write(tmp_path / "wb.json", json.dumps(data))
    rec = coco_wholebody_keypoints(path).records[0]
    assert rec["keypoints"].shape == (1, 133, 2) and rec["keypoints_visible"].shape == (1, 133)
    np.testing.assert_allclose(rec["keypoints"][0], expected[:, :2], rtol=1e-6)
    np.testing.assert_array_equal(rec["keypoints_visible"][0], np.minimum(1, expected[:, 2]))
    del ann["face_kpts"]
    with pytest.raises(ConfigError, match="no face_kpts"):
        coco_wholebody_keypoints(write(tmp_path / "bad.json", json.dumps(data)))


def test_augmentation_is_checked_and_built():
    from pyposefast.config.experiment import augmentation_arguments

    cfg = resolve_config(minimal(data={"augmentation": {"half_body": False, "bbox_transform": {"rotate_factor": 30}}}))
    aug = cfg["data"]["augmentation"]
    assert aug["half_body"] is False and aug["bbox_transform"]["rotate_factor"] == 30
    assert aug["bbox_transform"]["scale_factor"] == [0.5, 1.5] and aug["flip"]["prob"] == 0.5
    built = augmentation_arguments(cfg)
    assert built["half_body"] is None and built["bbox_transform"].rotate_factor == 30.0
    assert built["bbox_transform"].scale_factor == (0.5, 1.5)
    with pytest.raises(ConfigError, match=r"data\.augmentation: unknown key\(s\) 'rotate'.*bbox_transform"):
        resolve_config(minimal(data={"augmentation": {"rotate": {}}}))
    with pytest.raises(ConfigError, match=r"data\.augmentation\.bbox_transform: .*'rotation'.*rotate_factor"):
        resolve_config(minimal(data={"augmentation": {"bbox_transform": {"rotation": 30}}}))
