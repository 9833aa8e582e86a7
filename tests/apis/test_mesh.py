"""MeshInferencer: boxes (or the whole image) in, the crops' geometry, meshes and 2D joints in image
pixels out, the same numbers as ParametricMesh.predict on the same crops; PNG and JSON written."""

import json
import os

import cv2
import numpy as np
import pytest
import torch

from pyposefast import ops
from pyposefast.apis import MeshInferencer
from pyposefast.apis.geometry import topdown_geometry
from pyposefast.datasets.pipeline import IMAGENET_MEAN, IMAGENET_STD
from pyposefast.models import SMPL, write_synthetic_smpl
from tests.models.test_mesh import _tiny_model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    path = write_synthetic_smpl(tmp_path_factory.mktemp("smpl") / "SMPL_NEUTRAL.pkl", num_vertices=192, seed=2)
    return _tiny_model(SMPL(path), img_res=32).eval()


def test_meshes_match_predict_and_files_are_written(model, tmp_path):
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    boxes = np.array([[10.0, 20.0, 50.0, 100.0], [90.0, 10.0, 150.0, 110.0]], np.float32)
    vis, pred = str(tmp_path / "vis"), str(tmp_path / "pred")
    (res,) = MeshInferencer(model, device="cpu", batch_size=1)(img, [boxes], vis_out_dir=vis, pred_out_dir=pred)
    assert res["vertices"].shape == (2, 192, 3) and res["keypoints_2d"].shape[0] == 2
    assert res["input_center"].shape == (2, 2) and np.allclose(res["input_scale"][:, 0], res["input_scale"][:, 1])
    # the same numbers as predict on the crops (square, padding 1.25)
    center, scale, warp = topdown_geometry(torch.from_numpy(boxes).double(), (32, 32))
    crops = ops.warp_affine(torch.from_numpy(img)[None], warp, (32, 32), image_index=torch.zeros(2, dtype=torch.long),
                            mean=IMAGENET_MEAN, std=IMAGENET_STD, bgr_to_rgb=True)
    with torch.no_grad():
        want = model.predict(crops, center.float(), scale.float())
    np.testing.assert_allclose(res["vertices"], want["vertices"].numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(res["keypoints_2d"], want["keypoints_2d"].numpy(), rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(res["input_center"], [[30, 60], [120, 60]])
    drawn = cv2.imread(os.path.join(vis, os.listdir(vis)[0]))
    assert drawn.shape == img.shape
    with open(os.path.join(pred, os.listdir(pred)[0])) as f:
        assert np.asarray(json.load(f)["camera"]).shape == (2, 3)
    # no boxes: the whole image; an empty box list gives empty arrays
    (whole,) = MeshInferencer(model, device="cpu")(img)
    np.testing.assert_allclose(whole["bboxes"], [[0, 0, 160, 120]])
    (none,) = MeshInferencer(model, device="cpu")(img, [np.zeros((0, 4))])
    assert none["vertices"].shape[0] == 0


def test_bad_arguments(model):
    with pytest.raises(TypeError, match="ParametricMesh"):
        MeshInferencer(torch.nn.Linear(2, 2), device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        MeshInferencer(model, device="cpu", batch_size=0)
    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match="one \\[N, 4\\] array per input"):
        MeshInferencer(model, device="cpu")([img, img], [np.zeros((1, 4))])
