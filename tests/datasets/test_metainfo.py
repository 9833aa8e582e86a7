"""Dataset metainfo: transcribed facts, and parity with MMPose's dataset configs where installed."""

import os
import runpy
import sys
import types

import numpy as np
import pytest

from pyposefast.datasets import dataset_meta, list_datasets

# the families the issue lists, by MMPose config stem
REQUIRED = [
    "coco", "mpii", "mpii_trb", "aic", "crowdpose", "ochuman", "posetrack18", "jhmdb", "mhp", "humanart",
    "coco_wholebody", "halpe", "halpe26",
    "300w", "wflw", "aflw", "cofw", "lapa", "coco_wholebody_face",
    "onehand10k", "freihand2d", "panoptic_hand2d", "rhd2d", "coco_wholebody_hand", "interhand2d",
    "ap10k", "animalpose", "ak", "atrw", "fly", "horse10", "locust", "macaque", "zebra",
    "deepfashion_upper", "deepfashion_lower", "deepfashion_full", "deepfashion2",
    "h36m",
]

# (num_keypoints, num_links, first name, last name, sigmas[:3] or None) written down by hand
FACTS = {
    "coco": (17, 19, "nose", "right_ankle", [0.026, 0.025, 0.025]),
    "mpii": (16, 15, "right_ankle", "left_wrist", [0.089, 0.083, 0.107]),
    "mpii_trb": (40, 27, "left_shoulder", "lateral_left_ankle", None),
    "aic": (14, 14, "right_shoulder", "neck", [0.01388152, 0.01515228, 0.01057665]),
    "crowdpose": (14, 15, "left_shoulder", "neck", [0.079, 0.079, 0.072]),
    "ochuman": (17, 19, "nose", "right_ankle", [0.026, 0.025, 0.025]),
    "posetrack18": (17, 16, "nose", "right_ankle", [0.026, 0.025, 0.025]),
    "jhmdb": (15, 14, "neck", "left_ankle", [0.025, 0.107, 0.025]),
    "mhp": (16, 15, "right_ankle", "left_wrist", [0.089, 0.083, 0.107]),
    "humanart": (17, 19, "nose", "right_ankle", [0.026, 0.025, 0.025]),
    "coco_wholebody": (133, 65, "nose", "right_pinky_finger4", [0.026, 0.025, 0.025]),
    "halpe": (136, 67, "nose", "right_pinky_finger4", [0.026, 0.025, 0.025]),
    "halpe26": (26, 27, "nose", "right_heel", [0.026, 0.025, 0.025]),
    "300w": (68, 0, "kpt-0", "kpt-67", None),
    "wflw": (98, 0, "kpt-0", "kpt-97", None),
    "aflw": (19, 0, "kpt-0", "kpt-18", None),
    "cofw": (29, 0, "kpt-0", "kpt-28", None),
    "lapa": (106, 0, "kpt-0", "kpt-105", None),
    "coco_wholebody_face": (68, 0, "face-0", "face-67", [0.042, 0.043, 0.044]),
    "onehand10k": (21, 20, "wrist", "pinky_finger4", None),
    "freihand2d": (21, 20, "wrist", "pinky_finger4", None),
    "panoptic_hand2d": (21, 20, "wrist", "pinky_finger4", None),
    "rhd2d": (21, 20, "wrist", "pinky_finger1", None),
    "coco_wholebody_hand": (21, 20, "wrist", "pinky_finger4", [0.029, 0.022, 0.035]),
    "interhand2d": (21, 20, "thumb4", "wrist", None),
    "ap10k": (17, 17, "L_Eye", "R_B_Paw", [0.025, 0.025, 0.026]),
    "animalpose": (20, 20, "L_Eye", "R_B_Paw", [0.025, 0.025, 0.026]),
    "ak": (23, 22, "Head_Mid_Top", "Tail_End_Back", [0.025, 0.025, 0.025]),
    "atrw": (15, 14, "left_ear", "center", [0.0277, 0.0823, 0.0831]),
    "fly": (32, 25, "head", "wingR", None),
    "horse10": (22, 18, "Nose", "Ischium", None),
    "locust": (35, 26, "head", "hindlegR4", None),
    "macaque": (17, 19, "nose", "right_ankle", [0.026, 0.025, 0.025]),
    "zebra": (9, 8, "snout", "tailtip", None),
    "deepfashion_upper": (6, 0, "left collar", "right hem", None),
    "deepfashion_lower": (4, 0, "left waistline", "right hem", None),
    "deepfashion_full": (8, 0, "left collar", "right hem", None),
    "deepfashion2": (294, 304, "sss_kpt1", "sd_kpt19", None),
    "h36m": (17, 16, "root", "right_wrist", None),
}

KEYS = ["dataset_name", "num_keypoints", "keypoint_id2name", "keypoint_name2id", "upper_body_ids", "lower_body_ids",
        "flip_indices", "flip_pairs", "keypoint_colors", "num_skeleton_links", "skeleton_links",
        "skeleton_link_colors", "dataset_keypoint_weights", "sigmas"]


def test_every_listed_dataset_is_there():
    names = set(list_datasets())
    assert set(REQUIRED) <= names
    assert list_datasets("hand") == sorted(list_datasets("hand"))
    with pytest.raises(KeyError, match="unknown dataset 'nope'"):
        dataset_meta("nope")
    with pytest.raises(ValueError, match="unknown dataset family"):
        list_datasets("plants")


@pytest.mark.parametrize("name", sorted(FACTS))
def test_transcribed_facts(name):
    k, links, first, last, sig = FACTS[name]
    m = dataset_meta(name)
    assert set(KEYS) <= set(m)
    assert m["num_keypoints"] == k and len(m["keypoint_id2name"]) == k
    assert m["num_skeleton_links"] == links == len(m["skeleton_links"])
    assert m["keypoint_id2name"][0] == first and m["keypoint_id2name"][k - 1] == last
    assert m["keypoint_colors"].dtype == np.uint8 and m["keypoint_colors"].shape == (k, 3)
    assert m["dataset_keypoint_weights"].dtype == np.float32
    fi = m["flip_indices"]
    assert all(0 <= i < k for i in fi)
    if name != "deepfashion2":  # MMPose's deepfashion2 swaps are not a permutation (kept as published)
        assert sorted(fi) == list(range(k)) and all(fi[fi[i]] == i for i in range(k))
    if sig is not None:
        np.testing.assert_allclose(m["sigmas"][:3], sig, rtol=1e-6)


def test_coco_details():
    m = dataset_meta("coco")
    assert m["upper_body_ids"] == list(range(11)) and m["lower_body_ids"] == list(range(11, 17))
    assert m["flip_indices"] == [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15]
    assert m["flip_pairs"][:2] == [(2, 1), (1, 2)]
    assert m["skeleton_links"][0] == (15, 13)
    assert m["keypoint_colors"][0].tolist() == [51, 153, 255]
    np.testing.assert_allclose(m["dataset_keypoint_weights"][9], 1.5)
    m2 = dataset_meta("h36m")
    np.testing.assert_allclose(m2["stats_info"]["bbox_center"], [528.0, 427.0])
    m["flip_indices"].append(99)  # a fresh dict every call
    assert len(dataset_meta("coco")["flip_indices"]) == 17


def _mmpose_configs():
    try:
        import mmpose
    except Exception:
        return None, None
    root = os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs", "_base_", "datasets")
    utils = os.path.join(os.path.dirname(mmpose.__file__), "datasets", "datasets", "utils.py")
    if not os.path.isdir(root) or not os.path.isfile(utils):
        return None, None
    # MMPose's own parse_pose_metainfo, run without mmengine (only its Config import is stubbed)
    stub = types.ModuleType("mmengine")
    stub.Config = object
    saved = sys.modules.get("mmengine")
    sys.modules["mmengine"] = sys.modules.get("mmengine") or stub
    try:
        parse = runpy.run_path(utils)["parse_pose_metainfo"]
    finally:
        if saved is None:
            sys.modules.pop("mmengine", None)
    return root, parse


@pytest.mark.parametrize("name", sorted(list_datasets()))
def test_parity_with_mmpose_config(name):
    root, parse = _mmpose_configs()
    if root is None:
        pytest.skip("MMPose (test extra) is not installed")
    path = os.path.join(root, name + ".py")
    if not os.path.isfile(path):
        pytest.skip(f"{path} not in this MMPose version")
    ref = parse(runpy.run_path(path)["dataset_info"])
    ours = dataset_meta(name)
    assert set(ref) == set(ours)
    for key in ref:
        a, b = ours[key], ref[key]
        if isinstance(b, np.ndarray):
            assert a.dtype == b.dtype and a.shape == b.shape, key
            np.testing.assert_array_equal(a, b, err_msg=key)
        elif key == "stats_info":
            assert set(a) == set(b)
            for s in b:
                np.testing.assert_array_equal(a[s], b[s])
        else:
            assert a == b, key
            assert type(a) is type(b), key
