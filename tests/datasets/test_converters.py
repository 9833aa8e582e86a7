"""MPII .mat -> MMPose JSON -> COCO JSON converters, on a synthetic .mat shaped like MPII's release."""

import json

import numpy as np
import pytest

from pyposefast.datasets import load_coco_keypoints
from pyposefast.datasets.converters import mpii_json_to_coco, mpii_mat_to_coco, mpii_mat_to_mmpose_json
from pyposefast.datasets.errors import AnnotationError
from pyposefast.datasets.mpii import load_mpii

scipy_io = pytest.importorskip("scipy.io")


def _rect(rng, ids, head=True):
    pts = [{"id": k, "x": float(rng.uniform(10, 600)), "y": float(rng.uniform(10, 400)), "is_visible": 1}
           for k in ids]
    rect = {"scale": float(rng.uniform(1, 4)), "objpos": {"x": float(rng.uniform(100, 500)),
                                                          "y": float(rng.uniform(100, 300))},
            "annopoints": {"point": pts if len(pts) > 1 else pts[0]}}
    if head:
        rect.update(x1=50.0, y1=60.0, x2=80.0, y2=95.0)
    return rect


def _release(rng):
    # image 0: two people (one without a head box); image 1: test image (no keypoints);
    # image 2: one person with 3 keypoints (a scalar struct after squeezing)
    annolist = np.empty((1, 3), dtype=object)
    annolist[0, 0] = {"image": {"name": "000000001.jpg"},
                      "annorect": np.array([_rect(rng, range(16)), _rect(rng, [0, 5, 9], head=False)], dtype=object)}
    annolist[0, 1] = {"image": {"name": "000000002.jpg"}, "annorect": {"scale": 2.0, "objpos": {"x": 1.0, "y": 2.0}}}
    annolist[0, 2] = {"image": {"name": "000000003.jpg"}, "annorect": _rect(rng, [3, 4, 12])}
    return {"RELEASE": {"annolist": annolist, "img_train": np.array([[1, 0, 1]])}}


@pytest.fixture()
def mat_file(tmp_path):
    path = tmp_path / "mpii_release.mat"
    scipy_io.savemat(str(path), _release(np.random.default_rng(0)))
    return str(path)


def test_mat_to_mmpose_json(mat_file, tmp_path):
    out = tmp_path / "mpii_train.json"
    entries = mpii_mat_to_mmpose_json(mat_file, str(out))
    assert json.loads(out.read_text()) == entries
    assert [e["image"] for e in entries] == ["000000001.jpg", "000000001.jpg", "000000003.jpg"]
    full, partial, single = entries
    assert full["joints_vis"] == [1] * 16 and full["headbox"] == [50.0, 60.0, 80.0, 95.0]
    assert "headbox" not in partial and partial["joints_vis"][5] == 1 and partial["joints_vis"][1] == 0
    assert partial["joints"][1] == [-1.0, -1.0]
    assert sum(single["joints_vis"]) == 3
    assert mpii_mat_to_mmpose_json(mat_file, split="test") == []  # the test image has no keypoints
    assert len(mpii_mat_to_mmpose_json(mat_file, split="all")) == 3
    # MMPose's reader reads it; head sizes from the entries' head boxes
    data = load_mpii(str(out), skip_bad=False)
    assert len(data) == 3 and "head_size" not in data.records[1]
    np.testing.assert_allclose(data.records[0]["head_size"], [[0.6 * np.hypot(30.0, 35.0)]])


def test_json_to_coco_loads_in_pycocotools_and_our_reader(mat_file, tmp_path):
    pycocotools = pytest.importorskip("pycocotools.coco")
    out = tmp_path / "mpii_coco.json"
    sizes = {"000000001.jpg": (640, 480), "000000003.jpg": (720, 576)}
    coco = mpii_mat_to_coco(mat_file, str(out), image_sizes=sizes)
    assert len(coco["images"]) == 2 and len(coco["annotations"]) == 3
    api = pycocotools.COCO(str(out))
    assert sorted(api.getImgIds()) == [1, 3] and len(api.getAnnIds(imgIds=[1])) == 2
    entries = mpii_mat_to_mmpose_json(mat_file)
    ours = load_coco_keypoints(str(out), "", num_keypoints=16, filter_invalid=False).records
    mpii = load_mpii(entries_file(tmp_path, entries)).records
    for c, m, e in zip(ours, mpii, entries):
        vis = np.asarray(e["joints_vis"]) > 0
        np.testing.assert_allclose(c["keypoints"][0][vis], np.asarray(e["joints"])[vis] - 1, atol=1e-3)
        assert np.array_equal(c["keypoints_visible"][0], vis.astype(np.float32))
        # the COCO box is MMPose's MPII box (clipped to the image by the COCO reader)
        w, h = sizes[e["image"]]
        np.testing.assert_allclose(c["bbox"][0], np.clip(m["bbox"][0], 0, [w - 1, h - 1, w - 1, h - 1]), atol=1e-3)


def entries_file(tmp_path, entries):
    path = tmp_path / "entries.json"
    path.write_text(json.dumps(entries))
    return str(path)


def test_converter_errors(tmp_path, mat_file):
    bad = _release(np.random.default_rng(1))
    bad["RELEASE"]["annolist"][0, 2]["annorect"]["annopoints"]["point"][1]["id"] = 40
    path = tmp_path / "bad.mat"
    scipy_io.savemat(str(path), bad)
    with pytest.raises(AnnotationError, match=r"bad.mat: annolist\[2\].annorect\[0\] \(image 000000003.jpg\): "
                                              r"keypoint id 40"):
        mpii_mat_to_mmpose_json(str(path))
    assert len(mpii_mat_to_mmpose_json(str(path), skip_bad=True)) == 2
    scipy_io.savemat(str(tmp_path / "other.mat"), {"x": np.zeros(3)})
    with pytest.raises(AnnotationError, match="other.mat: needs a 'RELEASE' struct"):
        mpii_mat_to_mmpose_json(str(tmp_path / "other.mat"))
    with pytest.raises(AnnotationError, match="missing.mat: file does not exist"):
        mpii_mat_to_mmpose_json(str(tmp_path / "missing.mat"))
    with pytest.raises(AnnotationError, match=r"\[0\] \(image=000000001.jpg\): no size for image"):
        mpii_json_to_coco(mpii_mat_to_mmpose_json(mat_file))
    with pytest.raises(ValueError, match="split must be"):
        mpii_mat_to_mmpose_json(mat_file, split="val")
