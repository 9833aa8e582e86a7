"""The embedded synthetic dataset: deterministic, loads in pycocotools and our reader, images agree."""

import json
import os

import cv2
import numpy as np
import pytest

from pyposefast.datasets import generate_synthetic_coco, load_coco_keypoints


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = str(tmp_path_factory.mktemp("syn"))
    return generate_synthetic_coco(root, num_train=6, num_val=2, image_size=(160, 120), seed=3, crowd_prob=0.5,
                                   jpeg_quality=95)


def test_loads_in_pycocotools_and_reader(tiny):
    from pycocotools.coco import COCO

    coco = COCO(tiny["train_ann"])
    assert len(coco.getImgIds()) == 6 and len(coco.getAnnIds()) >= 6
    assert coco.loadCats(1)[0]["keypoints"][0] == "nose"
    data = load_coco_keypoints(tiny["train_ann"], tiny["train_img_prefix"], num_keypoints=17, check_images=True)
    assert len(data) > 0 and not data.skipped
    bu = load_coco_keypoints(tiny["val_ann"], tiny["val_img_prefix"], mode="bottomup")
    assert len(bu) == 2


def test_deterministic(tiny, tmp_path):
    again = generate_synthetic_coco(str(tmp_path), num_train=6, num_val=2, image_size=(160, 120), seed=3,
                                    crowd_prob=0.5, jpeg_quality=95)
    assert open(tiny["train_ann"]).read() == open(again["train_ann"]).read()
    a = os.path.join(tiny["train_img_prefix"], "000000000001.jpg")
    b = os.path.join(again["train_img_prefix"], "000000000001.jpg")
    assert open(a, "rb").read() == open(b, "rb").read()


def test_images_agree_with_annotations(tiny):
    d = json.load(open(tiny["train_ann"]))
    imgs = {i["id"]: cv2.imread(os.path.join(tiny["train_img_prefix"], i["file_name"])) for i in d["images"]}
    checked = 0
    vis = []
    for a in d["annotations"]:
        k = np.array(a["keypoints"]).reshape(17, 3)
        vis.extend(k[:, 2].tolist())
        if a["iscrowd"]:
            assert a["num_keypoints"] == 0
            continue
        assert a["num_keypoints"] == int((k[:, 2] > 0).sum())
        im = imgs[a["image_id"]]
        x, y, w, h = a["bbox"]
        assert 0 <= x and 0 <= y and x + w <= 160 and y + h <= 120
        for px, py, v in k:
            if v == 0:
                assert px == 0 and py == 0
                continue
            assert x - 1 <= px <= x + w + 1 and y - 1 <= py <= y + h + 1  # labelled points lie on the figure
            if v == 2:  # the figure's joint dot is drawn there
                pix = im[int(round(py)), int(round(px))].astype(float)
                assert np.abs(pix - a["joint_color"]).mean() < 40, (a["id"], px, py, pix, a["joint_color"])
                checked += 1
    assert checked > 20
    assert {0, 1, 2} <= set(vis)  # some keypoints outside, some occluded
