"""Hand3DInferencer: images and folders in, InterNet outputs in image pixels, display keypoints,
PNGs and JSON out; boxes given or the whole image; errors for wrong models and boxes."""

import json
import os

import cv2
import numpy as np
import pytest
import torch

from pyposefast.apis import Hand3DInferencer
from pyposefast.codecs import Hand3DHeatmap
from pyposefast.models.backbones.resnet import ResNet
from pyposefast.models.heads.internet_head import build_internet
from pyposefast.visualization import hand3d_display_keypoints

CODEC = dict(image_size=[64, 64], root_heatmap_size=16, heatmap_size=[16, 16, 8], sigma=2.5, max_bound=255,
             depth_size=8)
FLIP = [21 + i for i in range(21)] + list(range(21))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_internet(ResNet(18), 512, Hand3DHeatmap(**CODEC), deconv_out_channels=(16, 16, 16),
                          hidden_dims=(16,), flip_test=True, flip_indices=FLIP).eval()


def _image(seed=0, shape=(240, 320)):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 255, (*shape, 3), dtype=np.uint8)


def test_boxes_whole_image_outputs_and_files(model, tmp_path):
    inf = Hand3DInferencer(model, device="cpu")
    img = _image()
    box = np.array([[200.0, 120.0, 264.0, 184.0]])
    vis, pred = str(tmp_path / "vis"), str(tmp_path / "pred")
    a, b = inf([img, img], [box, np.concatenate([box, box + 20])], vis_out_dir=vis, pred_out_dir=pred)
    assert a["keypoints"].shape == (1, 42, 3) and b["keypoints"].shape == (2, 42, 3)
    assert a["keypoint_scores"].shape == (1, 42) and a["rel_root_depth"].shape == (1,)
    assert a["hand_type"].shape == (1, 2)
    np.testing.assert_allclose(a["keypoints"], b["keypoints"][:1], rtol=1e-5, atol=1e-4)  # batching changes nothing
    # keypoints are in image pixels, inside the padded box (random weights still decode inside the crop)
    x, y = a["keypoints"][0, :, 0], a["keypoints"][0, :, 1]
    pad = 0.125 * 64 + 1
    assert (x >= 200 - pad).all() and (x <= 264 + pad).all() and (y >= 120 - pad).all() and (y <= 184 + pad).all()
    kp3d, sc3d, _ = hand3d_display_keypoints(a["keypoints"], a["keypoint_scores"], a["rel_root_depth"], a["hand_type"])
    np.testing.assert_allclose(a["keypoints_3d"], kp3d)
    np.testing.assert_allclose(a["keypoint_scores_3d"], sc3d)
    pngs = sorted(os.listdir(vis))
    assert len(pngs) == 2  # one per input array (MMPose's index names)
    assert cv2.imread(os.path.join(vis, pngs[0])) is not None
    with open(os.path.join(pred, sorted(os.listdir(pred))[0])) as f:
        saved = json.load(f)
    assert np.asarray(saved["keypoints"]).shape[1:] == (42, 3)
    # no boxes: the whole image, as MMPose
    (whole,) = inf(img)
    np.testing.assert_allclose(whole["bboxes"], [[0, 0, 320, 240]])
    (explicit,) = inf(img, [np.array([[0, 0, 320, 240]])])
    np.testing.assert_allclose(whole["keypoints"], explicit["keypoints"])


def test_folder_input(model, tmp_path):
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.jpg"), _image(i))
    out = Hand3DInferencer(model, device="cpu")(str(tmp_path))
    assert [os.path.basename(r["img_path"]) for r in out] == ["0.jpg", "1.jpg"]


def test_bad_arguments(model):
    with pytest.raises(TypeError, match="InternetHead"):
        Hand3DInferencer(torch.nn.Linear(2, 2), device="cpu")
    inf = Hand3DInferencer(model, device="cpu")
    with pytest.raises(ValueError, match="one \\[N, 4\\] array per input"):
        inf([_image(), _image()], [np.zeros((1, 4))])
    with pytest.raises(ValueError, match="NaN"):
        inf(_image(), [np.array([[0, 0, np.nan, 10]])])
    with pytest.raises(ValueError, match="batch_size"):
        Hand3DInferencer(model, device="cpu", batch_size=0)
