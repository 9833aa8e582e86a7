"""Shared fixtures of the engine tests: one tiny synthetic COCO dataset per session."""

from __future__ import annotations

import pytest

from pyposefast.datasets import generate_synthetic_coco, load_coco_keypoints


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory):
    """12 training and 4 validation images of 160x120 (about 40 / 15 people): paths and records."""
    root = tmp_path_factory.mktemp("synthetic")
    paths = generate_synthetic_coco(str(root), num_train=12, num_val=4, image_size=(160, 120), seed=0)
    paths["train"] = load_coco_keypoints(paths["train_ann"], paths["train_img_prefix"])
    paths["val"] = load_coco_keypoints(paths["val_ann"], paths["val_img_prefix"])
    return paths
