"""InterHand2.6M reader: fixture files in the dataset's format (written here), MMPose parity of the
records, projection geometry, RootNet depths, and errors naming the file and the record."""

from __future__ import annotations

import json
import os
from typing import Optional

import cv2
import numpy as np
import pytest
import torch

from pyposefast.datasets.errors import AnnotationError
from tests.conftest import requires_cuda
from pyposefast.datasets.interhand import (InterHandTrainData, encode_handtype, flip_hand_labels,
                                           interhand_topdown_batch, load_interhand3d)

HAND_TYPES = ("right", "left", "interacting")


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def write_interhand_files(folder: str, num_images: int = 6, seed: int = 0, image_size: tuple = (256, 256),
                          invalid_wrist: Optional[int] = None, write_images: bool = False) -> dict:
    """Write a tiny InterHand2.6M split (``*_data.json``, ``*_camera.json``, ``*_joint_3d.json``) and
    blank images; returns the paths and the cameras' ground truth.

    Hands are random 21-joint chains around a wrist about 600 mm in front of one of two cameras
    (random rotations, focal about 700 px, principal point at the image centre) so that they project
    inside the image. ``invalid_wrist`` (an image index) marks that image's left wrist invalid;
    ``write_images`` also writes the (patterned) JPEG images.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(os.path.join(folder, "images"), exist_ok=True)
    w, h = image_size
    cameras = {"0": {"campos": {}, "camrot": {}, "focal": {}, "princpt": {}}}
    cams = {}
    for name in ("400262", "400263"):
        R, pos = _rotation(rng), rng.normal(scale=300, size=3)
        f = rng.uniform(650, 750, size=2)
        c = np.array([w / 2, h / 2]) + rng.normal(scale=3, size=2)
        cams[name] = (R, pos, f, c)
        cameras["0"]["campos"][name] = pos.tolist()
        cameras["0"]["camrot"][name] = R.tolist()
        cameras["0"]["focal"][name] = f.tolist()
        cameras["0"]["princpt"][name] = c.tolist()
    joints: dict = {"0": {}}
    images, annotations = [], []
    for i in range(num_images):
        cam = ("400262", "400263")[i % 2]
        R, pos, f, c = cams[cam]
        centre = np.array([rng.uniform(-30, 30), rng.uniform(-30, 30), rng.uniform(550, 650)])
        cam_xyz = np.zeros((42, 3))
        for hand, offset in ((0, -45.0), (1, 45.0)):
            wrist = centre + np.array([offset, rng.uniform(-10, 10), rng.uniform(-40, 40)])
            pts = wrist + rng.normal(scale=25, size=(21, 3))
            pts[20] = wrist
            cam_xyz[hand * 21:(hand + 1) * 21] = pts
        world = (R.T @ cam_xyz.T).T + pos
        frame = str(1000 + i)
        joints["0"][frame] = {"world_coord": world.tolist(), "joint_valid": [1] * 42, "hand_type": "interacting",
                              "hand_type_valid": True}
        uv = cam_xyz[:, :2] / cam_xyz[:, 2:] * f + c
        x0, y0 = uv.min(0) - 5
        x1, y1 = uv.max(0) + 5
        valid = (rng.uniform(size=42) > 0.1).astype(float)
        valid[20] = valid[41] = 1
        if invalid_wrist == i:
            valid[41] = 0
        file_name = f"Capture0/{cam}/image{frame}.jpg"
        if write_images:
            path = os.path.join(folder, "images", file_name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            yy, xx = np.mgrid[0:h, 0:w]
            img = np.stack([xx * 255 // w, yy * 255 // h, (xx + yy) % 256], -1) ^ rng.integers(0, 40, (h, w, 3))
            cv2.imwrite(path, img.astype(np.uint8))
        images.append({"id": i + 10, "file_name": file_name, "width": w, "height": h, "capture": 0,
                       "subject": 0, "seq_name": "ROM", "camera": cam, "frame_idx": int(frame)})
        annotations.append({"id": 100 + i, "image_id": i + 10, "category_id": 1,
                            "bbox": [float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
                            "joint_valid": [[v] for v in valid], "hand_type": HAND_TYPES[i % 3],
                            "hand_type_valid": int(i % 4 != 3)})
    paths = {k: os.path.join(folder, f"InterHand2.6M_test_{k}.json") for k in ("data", "camera", "joint_3d")}
    with open(paths["data"], "w") as fh:
        json.dump({"images": images, "annotations": annotations,
                   "categories": [{"id": 1, "name": "hand", "supercategory": "hand"}]}, fh)
    with open(paths["camera"], "w") as fh:
        json.dump(cameras, fh)
    with open(paths["joint_3d"], "w") as fh:
        json.dump(joints, fh)
    rootnet = [{"annot_id": 100 + i, "bbox": annotations[i]["bbox"], "abs_depth": [600.0 + i, 610.0 + i]}
               for i in range(num_images)]
    paths["rootnet"] = os.path.join(folder, "rootnet.json")
    with open(paths["rootnet"], "w") as fh:
        json.dump(rootnet, fh)
    paths["img_prefix"] = os.path.join(folder, "images")
    paths["cameras"] = cams
    return paths


def _load(p: dict, **kw):
    return load_interhand3d(p["data"], p["camera"], p["joint_3d"], p["img_prefix"], **kw)


def test_records_geometry(tmp_path):
    p = write_interhand_files(str(tmp_path), invalid_wrist=4)
    data = _load(p)
    assert len(data) == 6 and not data.skipped
    for i, rec in enumerate(data.records):
        cam = ("400262", "400263")[i % 2]
        R, pos, f, c = p["cameras"][cam]
        assert rec["keypoints"].shape == (1, 42, 3) and rec["keypoints"].dtype == np.float32
        assert rec["img_path"].endswith(f"Capture0/{cam}/image{1000 + i}.jpg")
        # the camera-space keypoints project to the record's pixels
        xyz = rec["keypoints_cam"][0].astype(np.float64)
        np.testing.assert_allclose(rec["keypoints"][0, :, :2], xyz[:, :2] / xyz[:, 2:] * f + c, atol=1e-2)
        # depth relative to each hand's wrist
        np.testing.assert_allclose(rec["keypoints"][0, :21, 2], xyz[:21, 2] - xyz[20, 2], atol=1e-2)
        np.testing.assert_allclose(rec["keypoints"][0, 21:, 2], xyz[21:, 2] - xyz[41, 2], atol=1e-2)
        np.testing.assert_allclose(rec["rel_root_depth"], xyz[41, 2] - xyz[20, 2], atol=1e-2)
        np.testing.assert_allclose(rec["abs_depth"], [xyz[20, 2], xyz[41, 2]], rtol=1e-6)
        np.testing.assert_array_equal(rec["hand_type"], encode_handtype(HAND_TYPES[i % 3]))
        assert rec["bbox"].shape == (1, 4) and rec["img_shape"] == (256, 256)
    # an invalid left wrist invalidates the left hand and the relative root depth
    rec = data.records[4]
    assert rec["rel_root_valid"] == 0 and not rec["keypoints_visible"][0, 21:].any()
    assert data.records[0]["rel_root_valid"] == 1


def test_rootnet_depths(tmp_path):
    p = write_interhand_files(str(tmp_path), num_images=3)
    data = _load(p, use_gt_root_depth=False, rootnet_result_file=p["rootnet"])
    assert [r["abs_depth"] for r in data.records] == [[600.0 + i, 610.0 + i] for i in range(3)]
    with pytest.raises(ValueError, match="rootnet_result_file is required"):
        _load(p, use_gt_root_depth=False)


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore:The metainfo config file")
def test_matches_mmpose(tmp_path):
    pytest.importorskip("mmpose")
    pytest.importorskip("xtcocotools")
    from mmpose.datasets.datasets.hand3d import InterHand3DDataset

    p = write_interhand_files(str(tmp_path), num_images=7, seed=3, invalid_wrist=2)
    ref = InterHand3DDataset(ann_file=p["data"], camera_param_file=p["camera"], joint_file=p["joint_3d"],
                             data_root=str(tmp_path), data_prefix=dict(img=p["img_prefix"] + "/"), test_mode=True)
    ours = _load(p)
    assert len(ref) == len(ours)
    keys = ("keypoints", "keypoints_cam", "keypoints_visible", "hand_type", "hand_type_valid", "rel_root_depth",
            "rel_root_valid", "abs_depth", "focal", "principal_pt", "bbox", "bbox_score", "id", "img_id")
    for i in range(len(ref)):
        r, o = ref.get_data_info(i), ours.records[i]
        assert os.path.normpath(r["img_path"]) == os.path.normpath(o["img_path"])
        for k in keys:
            a, b = np.asarray(r[k]), np.asarray(o[k])
            assert a.shape == b.shape and a.dtype == b.dtype, k
            np.testing.assert_array_equal(a, b, err_msg=k)


def _edit(path: str, fn) -> None:
    with open(path) as fh:
        obj = json.load(fh)
    fn(obj)
    with open(path, "w") as fh:
        json.dump(obj, fh)


@pytest.mark.parametrize("what,which,edit,match", [
    ("unknown camera", "data", lambda d: d["images"][1].update(camera="999"), r"\['0'\]\['campos'\]\['999'\]"),
    ("unknown frame", "joint_3d", lambda j: j["0"].pop("1002"), r"\['0'\]\['1002'\] is not in"),
    ("bad hand type", "data", lambda d: d["annotations"][3].update(hand_type="both"), "hand_type must be"),
    ("joint count", "data", lambda d: d["annotations"][0].update(joint_valid=[1] * 21), "joint_valid must have 42"),
    ("world coords", "joint_3d", lambda j: j["0"]["1005"].update(world_coord=[[0, 0, 1]] * 40),
     r"world_coord'\] must be finite numbers of shape \[42, 3\]"),
])
def test_bad_records_name_file_and_record(tmp_path, what, which, edit, match):
    p = write_interhand_files(str(tmp_path))
    _edit(p[which], edit)
    with pytest.raises(AnnotationError, match=match) as e:
        _load(p)
    assert e.value.file == p["data"] and e.value.record.startswith("annotations[")
    data = _load(p, skip_bad=True)
    assert len(data) == 5 and len(data.skipped) == 1


def test_file_errors(tmp_path):
    p = write_interhand_files(str(tmp_path), num_images=2)
    _edit(p["data"], lambda d: d["annotations"].pop())
    with pytest.raises(AnnotationError, match=r"images\[1\] \(id=11\): has no annotation"):
        _load(p)
    with pytest.raises(AnnotationError, match="does not exist"):
        load_interhand3d(p["data"], str(tmp_path / "nope.json"), p["joint_3d"])
    with open(p["camera"], "w") as fh:
        fh.write("[1, 2")
    with pytest.raises(AnnotationError, match="not valid JSON"):
        _load(p)
    with open(p["camera"], "w") as fh:
        json.dump([1, 2], fh)
    with pytest.raises(AnnotationError, match="keyed by capture id"):
        _load(p)
    with pytest.raises(ValueError, match="'right', 'left' or 'interacting'"):
        encode_handtype("both")


@pytest.mark.parity
def test_topdown_batch_matches_mmpose_val_pipeline(tmp_path):
    pytest.importorskip("mmpose")
    from mmpose.datasets.transforms import GetBBoxCenterScale, TopdownAffine

    p = write_interhand_files(str(tmp_path), num_images=3, seed=6, write_images=True)
    records = _load(p).records
    out = interhand_topdown_batch(records, input_size=(128, 96))
    assert out["inputs"].shape == (3, 3, 96, 128) and out["keypoints"].shape == (3, 42, 3)
    mean, std = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])
    for b, rec in enumerate(records):
        res = dict(img=cv2.imread(rec["img_path"]), bbox=rec["bbox"].copy(), keypoints=rec["keypoints"].copy(),
                   keypoints_visible=rec["keypoints_visible"].copy(), img_shape=(256, 256))
        res = TopdownAffine(input_size=(128, 96))(GetBBoxCenterScale()(res))
        np.testing.assert_allclose(out["keypoints"][b].numpy(), res["transformed_keypoints"][0], atol=1e-3)
        np.testing.assert_allclose(out["input_center"][b].numpy(), np.reshape(res["input_center"], -1), rtol=1e-6)
        np.testing.assert_allclose(out["input_scale"][b].numpy(), np.reshape(res["input_scale"], -1), rtol=1e-6)
        expected = (res["img"][..., ::-1] - mean) / std
        diff = np.abs(out["inputs"][b].permute(1, 2, 0).numpy() - expected) * std
        assert diff.max() <= 1.01, f"max grey-level difference {diff.max()}"
    # the same batch from decoded images, and its targets
    again = interhand_topdown_batch(records, [cv2.imread(r["img_path"]) for r in records], (128, 96))
    assert torch.equal(again["inputs"], out["inputs"])
    np.testing.assert_array_equal(out["hand_type"].numpy(), np.concatenate([r["hand_type"] for r in records]))
    with pytest.raises(ValueError, match="one length"):
        interhand_topdown_batch(records, again["inputs"][:2], (128, 96))


def test_flip_hand_labels():
    from pyposefast.datasets.interhand import INTERHAND_FLIP_INDICES
    from pyposefast.datasets.metainfo import dataset_meta

    assert INTERHAND_FLIP_INDICES == list(dataset_meta("interhand3d")["flip_indices"])
    hand_type = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    root = torch.tensor([10.0, -5.0, 3.0])
    ht, r = flip_hand_labels(hand_type, root, torch.tensor([True, True, False]))
    assert ht.tolist() == [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]] and r.tolist() == [-10.0, 5.0, 3.0]
    with pytest.raises(ValueError, match="hand_type must be"):
        flip_hand_labels(hand_type[:, :1], root, torch.ones(3, dtype=torch.bool))


@pytest.mark.parity
@pytest.mark.filterwarnings("ignore:The metainfo config file")
def test_flipped_batch_matches_mmpose_hand_random_flip(tmp_path):
    pytest.importorskip("mmpose")
    from mmpose.datasets.transforms import GetBBoxCenterScale, HandRandomFlip, TopdownAffine

    p = write_interhand_files(str(tmp_path), num_images=3, seed=8, write_images=True)
    records = _load(p).records
    flipped = torch.tensor([True, False, True])
    out = interhand_topdown_batch(records, input_size=(96, 96), flipped=flipped)
    mean, std = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])
    for b, rec in enumerate(records):
        res = dict(img=cv2.imread(rec["img_path"]), bbox=rec["bbox"].copy(), keypoints=rec["keypoints"].copy(),
                   keypoints_visible=rec["keypoints_visible"].copy(), img_shape=(256, 256),
                   hand_type=rec["hand_type"].copy(), rel_root_depth=rec["rel_root_depth"],
                   flip_indices=list(range(21, 42)) + list(range(21)))
        res = GetBBoxCenterScale()(res)
        res = HandRandomFlip(prob=float(flipped[b]))(res)
        res = TopdownAffine(input_size=(96, 96))(res)
        assert res["flip"] == bool(flipped[b])
        np.testing.assert_allclose(out["keypoints"][b].numpy(), res["transformed_keypoints"][0], atol=1e-3)
        np.testing.assert_array_equal(out["keypoints_visible"][b].numpy(), res["keypoints_visible"][0])
        np.testing.assert_array_equal(out["hand_type"][b].numpy(), res["hand_type"][0])
        assert out["rel_root_depth"][b].item() == pytest.approx(float(res["rel_root_depth"]), rel=1e-6)
        np.testing.assert_allclose(out["input_center"][b].numpy(), np.reshape(res["input_center"], -1), rtol=1e-6)
        diff = np.abs(out["inputs"][b].permute(1, 2, 0).numpy() - (res["img"][..., ::-1] - mean) / std) * std
        assert diff.max() <= 1.01, f"max grey-level difference {diff.max()}"


@pytest.fixture
def one_thread():
    """One intra-op thread: small convolutions on a shared 2-core machine run faster single-threaded."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_train_data_batches_and_trainer(tmp_path, one_thread):
    from pyposefast.codecs.hand_3d_heatmap import Hand3DHeatmap
    from pyposefast.engine.trainer import Trainer
    from pyposefast.models.backbones.resnet import ResNet
    from pyposefast.models.heads.internet_head import build_internet

    p = write_interhand_files(str(tmp_path), num_images=6, seed=9, write_images=True)
    records = _load(p)
    codec = Hand3DHeatmap(image_size=[64, 64], root_heatmap_size=16, heatmap_size=[16, 16, 8], sigma=1.5,
                          depth_size=8)
    data = InterHandTrainData(records, codec, (64, 64), batch_size=2, seed=3)
    assert len(data) == 3 and sorted(i for b in data.epoch_indices(0) for i in b) == list(range(6))
    batches = list(data)
    assert set(batches[0]) == {"inputs", "heatmaps", "keypoint_weights", "root_depth", "root_depth_weight", "type",
                               "type_weight"}
    assert batches[0]["inputs"].shape == (2, 3, 64, 64) and batches[0]["heatmaps"].shape == (2, 42, 8, 16, 16)
    again = data.batch(data.epoch_indices(0)[1], 0, 1)  # a function of (seed, epoch, batch): resumable
    assert all(torch.equal(again[k], batches[1][k]) for k in again)
    data.set_epoch(0, skip=2)
    assert torch.equal(next(iter(data))["inputs"], batches[2]["inputs"])
    with pytest.raises(ValueError, match="flip_prob"):
        InterHandTrainData(records, codec, flip_prob=2)

    torch.manual_seed(0)
    model = build_internet(ResNet(18, stem_channels=16, base_channels=16), 128, codec, deconv_out_channels=(16, 16, 16),
                           hidden_dims=(16,))
    trainer = Trainer(model, data, work_dir=str(tmp_path / "work"), max_epochs=2, progress=False, tensorboard=False,
                      device="cpu", save_best=None, log_interval=1, optimizer={"type": "adam", "lr": 1e-3},
                      scheduler={"type": "constant"})
    result = trainer.fit()
    assert result["checkpoint"] and os.path.isfile(result["checkpoint"])
    assert [h["epoch"] for h in result["history"]] == [1, 2] and all(np.isfinite(h["loss"]) for h in result["history"])


@requires_cuda
@pytest.mark.cuda
def test_batches_on_cuda_match_cpu(tmp_path):
    from pyposefast.codecs.hand_3d_heatmap import Hand3DHeatmap

    p = write_interhand_files(str(tmp_path), num_images=4, seed=10, write_images=True)
    records = _load(p).records
    codec = Hand3DHeatmap(image_size=[128, 128], heatmap_size=[32, 32, 64], sigma=2.5, max_bound=255)
    cpu = InterHandTrainData(records, codec, (128, 128), batch_size=4, device="cpu")
    gpu = InterHandTrainData(records, codec, (128, 128), batch_size=4, device="cuda")
    a, b = cpu.batch([0, 1, 2, 3], 0, 0), gpu.batch([0, 1, 2, 3], 0, 0)
    assert b["inputs"].is_cuda and b["heatmaps"].is_cuda
    torch.testing.assert_close(b["inputs"].cpu(), a["inputs"], rtol=0, atol=2e-2)
    torch.testing.assert_close(b["keypoint_weights"].cpu(), a["keypoint_weights"], rtol=0, atol=0)
    # keypoints through float64 warps on two devices may round a window edge differently, rarely
    assert ((b["heatmaps"].cpu() - a["heatmaps"]).abs() > 1e-3).float().mean() < 1e-4
