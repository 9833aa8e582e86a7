"""Lifting training and validation data, evaluate_lifting, and the acceptance run: a small VideoPose3D
trained by the Trainer on the synthetic Human3.6M beats the mean-pose baseline by more than half."""

from __future__ import annotations

import importlib
import inspect
import json
import time

import numpy as np
import pytest
import torch

from pyposefast.codecs.video_pose_lifting import VideoPoseLifting
from pyposefast.config.lifting import videopose3d
from pyposefast.datasets.h36m import load_h36m
from pyposefast.datasets.synthetic3d import write_synthetic3d
from pyposefast.engine import Trainer
from pyposefast.engine.lifting import (LiftingMetrics, LiftingTrainData, LiftingValData, evaluate_lifting,
                                       flip_lifting_batch, mean_pose_baseline)
from pyposefast.evaluation.metrics.keypoint_3d_metrics import MPJPE
from tests.conftest import DEVICES

K = 17
WINDOW = dict(seq_len=27, causal=False, pad_video_seq=True)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """Two train subjects, one val subject, 2 actions, 2 cameras, 30 frames: train/val records."""
    root = tmp_path_factory.mktemp("h36m_small")
    paths = write_synthetic3d(str(root), train_subjects=("S1", "S5"), val_subjects=("S9",),
                              actions=["Walking", "Greeting"], num_frames=30, num_cameras=2, seed=2)
    train = load_h36m(paths["train_ann"], camera_param_file=paths["cameras"], **WINDOW)
    val = load_h36m(paths["val_ann"], camera_param_file=paths["cameras"], **WINDOW)
    return train, val


def test_train_batches_are_the_codec_encoding_of_the_records(small):
    train, _ = small
    codec = VideoPoseLifting(K)
    data = LiftingTrainData(train, codec, 8, device="cpu", seed=1)
    assert len(data) == len(train.records) // 8
    data.set_epoch(0)
    batches = list(data)
    order = data.epoch_indices(0)
    assert len(batches) == len(data)
    for b in (0, len(batches) - 1):
        batch = batches[b]
        assert batch["inputs"].shape == (8, K * 2, 27)
        assert batch["lifting_target_label"].shape == (8, K, 3) and batch["lifting_target_weight"].shape == (8, K)
        for j in (0, 7):
            rec = train.records[order[b][j]]
            ref = codec.encode(rec["keypoints"], rec["keypoints_visible"], rec["lifting_target"],
                               rec["lifting_target_visible"], rec["camera_param"])
            np.testing.assert_allclose(batch["inputs"][j].numpy(), ref["keypoint_labels"], rtol=1e-6, atol=1e-7)
            np.testing.assert_allclose(batch["lifting_target_label"][j].numpy(), ref["lifting_target_label"][0],
                                       rtol=1e-6, atol=1e-7)
    # order: a function of (seed, epoch) only; a resumed epoch (skip) continues with the same batches
    data.set_epoch(0, skip=3)
    resumed = list(data)
    torch.testing.assert_close(resumed[0]["inputs"], batches[3]["inputs"])
    data.set_epoch(1)
    assert not torch.equal(next(iter(data))["inputs"], batches[0]["inputs"])


def test_compact_records_give_the_same_batches(small, tmp_path):
    """load_h36m(..., compact=True) (frames once, a window table) feeds the same batches and scores."""
    train, val = small
    codec = VideoPoseLifting(K)
    compact = load_h36m(train.ann_file, camera_param_file=None, compact=True, **WINDOW)
    cams = [r["camera_param"] for r in train.records]
    for rec, cam in zip(compact.records, cams):
        rec["camera_param"] = cam
    a = LiftingTrainData(train, codec, 16, device="cpu", flip_prob=0.5, seed=1)
    b = LiftingTrainData(compact, codec, 16, device="cpu", flip_prob=0.5, seed=1)
    for x, y in zip(a, b):
        for key in x:
            torch.testing.assert_close(y[key], x[key], rtol=0, atol=0)
    model = _ConstantPose(np.random.default_rng(1).normal(0, 0.3, (K, 3)))
    val_compact = load_h36m(val.ann_file, compact=True, **WINDOW)
    for rec, full in zip(val_compact.records, val.records):
        rec["camera_param"] = full["camera_param"]
    scores = evaluate_lifting(model, LiftingValData(val_compact, codec, 64), LiftingMetrics())
    assert scores == pytest.approx(evaluate_lifting(model, LiftingValData(val, codec, 64), LiftingMetrics()))


@pytest.mark.parametrize("device", DEVICES)
def test_train_batches_on_the_device_equal_the_cpu_ones(small, device):
    train, _ = small
    codec = VideoPoseLifting(K)
    ref = LiftingTrainData(train, codec, 16, device="cpu", flip_prob=0.5, seed=3)
    dev = LiftingTrainData(train, codec, 16, device=device, flip_prob=0.5, seed=3)
    ref.set_epoch(2)
    dev.set_epoch(2)
    for a, b in zip(ref, dev):
        for key in a:
            assert b[key].device.type == device
            torch.testing.assert_close(b[key].cpu(), a[key], rtol=1e-6, atol=1e-6)


def test_flip_mirrors_2d_and_3d_consistently(small):
    """Mirrored 3D targets project onto the mirrored 2D keypoints through the sample's camera."""
    train, _ = small
    data = LiftingTrainData(train, VideoPoseLifting(K), 4, device="cpu")
    index = torch.tensor([0, 5, 40, 77])
    kp, vis, target, target_vis, cam = data.tensors.gather(index)
    flip = torch.tensor([True, False, True, True])
    kp_f, vis_f, tg_f, tvis_f = flip_lifting_batch(kp, vis, target, target_vis, cam, flip, data.flip_indices)
    centre = kp_f[:, 13]  # the target frame of a centred 27-frame window
    proj = tg_f[:, 0, :, :2] / tg_f[:, 0, :, 2:] * cam["f"][:, :, 0][:, None] + cam["c"][:, :, 0][:, None]
    torch.testing.assert_close(proj, centre, rtol=1e-5, atol=2e-3)
    torch.testing.assert_close(kp_f[1], kp[1])
    torch.testing.assert_close(tg_f[0, 0, 4], target[0, 0, 1] * torch.tensor([-1.0, 1, 1]))  # left hip <- right hip
    # mirrored twice: the original
    back = flip_lifting_batch(kp_f, vis_f, tg_f, tvis_f, cam, flip, data.flip_indices)
    torch.testing.assert_close(back[0], kp, rtol=0, atol=1e-3)
    torch.testing.assert_close(back[2], target)


class _ConstantPose(torch.nn.Module):
    """A 'lifter' predicting one fixed root-relative pose for every input."""

    def __init__(self, pose):
        super().__init__()
        self.pose = torch.nn.Parameter(torch.as_tensor(pose, dtype=torch.float32))

    def forward(self, x):
        return self.pose.expand(x.shape[0], K, 3)


@pytest.mark.parametrize("device", DEVICES)
def test_evaluate_lifting_scores_decoded_predictions(small, device):
    """A constant pose placed at each sample's root (the decode): MPJPE computed by hand."""
    train, val = small
    pose = np.random.default_rng(0).normal(0, 0.3, (K, 3))
    pose[0] = 0
    model = _ConstantPose(pose).to(device)
    data = LiftingValData(val, VideoPoseLifting(K), 32, device=device)
    result = evaluate_lifting(model, data, LiftingMetrics())
    target = np.stack([r["lifting_target"][0] for r in val.records]).astype(np.float64)
    expected = np.linalg.norm(pose + target[:, :1] - target, axis=-1).mean()
    assert result["MPJPE"] == pytest.approx(expected, rel=1e-5)
    assert {"P-MPJPE", "N-MPJPE", "MPJPE_Walking", "MPJPE_Greeting"} <= set(result)
    one = evaluate_lifting(model, data, MPJPE(mode="mpjpe"))
    assert one["MPJPE"] == pytest.approx(result["MPJPE"])


def test_errors(small):
    train, _ = small
    with pytest.raises(TypeError, match="codec"):
        LiftingTrainData(train, None, 8)
    with pytest.raises(ValueError, match="no \\['keypoints', 'lifting_target'\\]|lifting records"):
        LiftingTrainData([{"img_path": "x"}], VideoPoseLifting(K), 8)
    records = [dict(r) for r in train.records[:4]]
    for r in records:
        r.pop("camera_param")
    with pytest.raises(ValueError, match="image_size"):
        LiftingValData(records, VideoPoseLifting(K), 2)
    assert len(LiftingValData(records, VideoPoseLifting(K), 3, image_size=(1000, 1000))) == 2
    with pytest.raises(ValueError, match="flip_prob"):
        LiftingTrainData(train, VideoPoseLifting(K), 8, flip_prob=2)


# ---------------------------------------------------------------- acceptance: training beats the mean pose


@pytest.fixture(scope="module")
def acceptance_data(tmp_path_factory):
    """20 train subjects and two held-out subjects (their own bone lengths and cameras), every action,
    4 cameras, 27 frames per sequence: 20 x 6 x 4 x 27 = 12960 training windows of 27 frames."""
    root = tmp_path_factory.mktemp("h36m_acceptance")
    paths = write_synthetic3d(str(root), train_subjects=tuple(f"T{i}" for i in range(1, 21)),
                              val_subjects=("S9", "S11"), num_frames=27, num_cameras=4, seed=0)
    train = load_h36m(paths["train_ann"], camera_param_file=paths["cameras"], **WINDOW)
    val = load_h36m(paths["val_ann"], camera_param_file=paths["cameras"], **WINDOW)
    return train, val


def test_videopose3d_trains_and_beats_the_mean_pose(acceptance_data, tmp_path):
    """About 1000 iterations of a 27-frame VideoPose3D of width 128 (CPU: about 12 s on 2 idle cores)."""
    train, val = acceptance_data
    torch.manual_seed(0)
    codec = VideoPoseLifting(K)
    model = videopose3d(K, num_frames=27, channels=128, dropout=0.0)
    train_data = LiftingTrainData(train, codec, 64, device="cpu", flip_prob=0.5, seed=0)
    val_data = LiftingValData(val, codec, 512, device="cpu")
    baseline = mean_pose_baseline(train, val, LiftingMetrics())
    start = time.time()
    trainer = Trainer(model, train_data, work_dir=str(tmp_path / "work"), max_epochs=5, device="cpu",
                      optimizer=dict(type="adam", lr=2e-3),
                      scheduler=dict(type="cosine", warmup_iters=20, warmup_ratio=0.1, min_lr_ratio=0.0),
                      save_best=None, progress=False, tensorboard=False, log_interval=10)
    result = trainer.fit()
    elapsed = time.time() - start
    losses = [h["loss"] for h in result["history"]]
    metrics = evaluate_lifting(model, val_data, LiftingMetrics())
    print(json.dumps({"train_s": round(elapsed, 1), "losses": [round(v, 4) for v in losses],
                      "lifter": {k: round(v * 1000, 1) for k, v in metrics.items() if "_" not in k},
                      "mean_pose": {k: round(v * 1000, 1) for k, v in baseline.items() if "_" not in k}}))
    assert losses[-1] < 0.5 * losses[0]
    assert metrics["MPJPE"] < 0.5 * baseline["MPJPE"]
    assert metrics["P-MPJPE"] < 0.5 * baseline["P-MPJPE"]


def _evaluate_dispatches_lifting() -> bool:
    """Whether the Trainer's validation (``engine.evaluate`` or the trainer) knows LiftingValData."""
    modules = [importlib.import_module(f"pyposefast.engine.{m}") for m in ("evaluate", "trainer")]
    return any("LiftingValData" in inspect.getsource(m) for m in modules)


@pytest.mark.skipif(not _evaluate_dispatches_lifting(),
                    reason="pyposefast.engine.evaluate does not hand LiftingValData to evaluate_lifting yet")
def test_trainer_validates_a_lifter(small, tmp_path):
    train, val = small
    codec = VideoPoseLifting(K)
    model = videopose3d(K, num_frames=27, channels=32, dropout=0.0)
    trainer = Trainer(model, LiftingTrainData(train, codec, 32, device="cpu"), LiftingValData(val, codec, 64),
                      LiftingMetrics(), work_dir=str(tmp_path / "work"), max_epochs=1, device="cpu",
                      save_best="MPJPE", progress=False, tensorboard=False)
    result = trainer.fit()
    assert result["best"]["metric"] == "MPJPE" and np.isfinite(result["final"]["P-MPJPE"])
