"""PoseLifterInferencer: COCO -> H36M conversion, windows and tracks as MMPose's 3D inferencer builds
them, the lifted numbers against a by-hand MMPose-codec computation, IoU tracking, and a video end
to end (tiny 2D model -> tiny lifter -> 3D plot PNGs)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from pyposefast.apis.lifting import (PoseLifterInferencer, convert_keypoint_definition, lifting_windows,
                                     receptive_field, track_by_iou)
from pyposefast.datasets import dataset_meta
from pyposefast.models import PoseLifter
from pyposefast.models.backbones.tcn import TCN
from pyposefast.models.heads import TemporalRegressionHead
from tests.conftest import requires_cuda

H36M = dataset_meta("h36m")


def tiny_lifter(seed: int = 0, causal: bool = False, blocks: int = 1) -> PoseLifter:
    """VideoPose3D layout at 32 channels, receptive field 3 ** (blocks + 1) frames (9 by default)."""
    torch.manual_seed(seed)
    return PoseLifter(TCN(34, 32, blocks, (3,) * (blocks + 1), dropout=0.0, causal=causal, use_stride_conv=True),
                      TemporalRegressionHead(32, 17)).eval()


def _coco_results(T: int, n: int = 1, seed: int = 0, present=None):
    """Random COCO-17 2D results of T frames with n people (people spaced apart horizontally)."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(T):
        people = [i for i in range(n) if present is None or present[i][t]]
        kp = np.stack([rng.uniform(40, 120, (17, 2)) + [250 * i, 0] for i in people]).astype(np.float32) \
            if people else np.zeros((0, 17, 2), np.float32)
        boxes = np.concatenate([kp.min(1), kp.max(1)], -1) if len(kp) else np.zeros((0, 4), np.float32)
        out.append(dict(keypoints=kp, keypoint_scores=rng.uniform(0.5, 1, kp.shape[:2]).astype(np.float32),
                        bboxes=boxes))
    return out


def _mmpose_inference_3d():
    """MMPose's ``apis/inference_3d.py`` loaded by path (``mmpose.apis`` itself needs mmdet)."""
    pytest.importorskip("mmpose", reason="MMPose 1.3.2 (test extra) not installed")
    import importlib.util
    import pathlib

    import mmpose

    path = pathlib.Path(mmpose.__file__).parent / "apis" / "inference_3d.py"
    spec = importlib.util.spec_from_file_location("_mmpose_inference_3d", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_coco_to_h36m_conversion():
    rng = np.random.default_rng(0)
    kp = rng.uniform(0, 100, (3, 17, 2)).astype(np.float32)
    h = convert_keypoint_definition(kp, "coco")
    np.testing.assert_allclose(h[:, 0], (kp[:, 11] + kp[:, 12]) / 2)  # pelvis = mid hips
    np.testing.assert_allclose(h[:, 8], (kp[:, 5] + kp[:, 6]) / 2)  # thorax = mid shoulders
    np.testing.assert_allclose(h[:, 1], kp[:, 12])  # right hip
    np.testing.assert_allclose(h[:, 16], kp[:, 10])  # right wrist
    with pytest.raises(ValueError, match="pose_det_dataset"):
        convert_keypoint_definition(kp, "mpii")
    with pytest.raises(ValueError, match=r"\[N, 14, C\]"):
        convert_keypoint_definition(kp, "aic")


@pytest.mark.parity
def test_conversion_matches_mmpose():
    mm = _mmpose_inference_3d()
    rng = np.random.default_rng(1)
    for det in ("coco", "aic", "crowdpose"):
        k = 17 if det == "coco" else 14
        src = rng.uniform(0, 100, (2, k, 3)).astype(np.float32)
        np.testing.assert_array_equal(convert_keypoint_definition(src, det),
                                      mm.convert_keypoint_definition(src, det, "h36m"))


@pytest.mark.parity
@pytest.mark.parametrize("causal,seq_len", [(False, 5), (False, 9), (True, 4)])
def test_windows_match_mmpose_extract_and_collate(causal, seq_len):
    mm = _mmpose_inference_3d()
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample

    T = 13
    rng = np.random.default_rng(seq_len)
    present = rng.uniform(size=(3, T)) > 0.3
    present[0] = True
    frames_results = []
    for t in range(T):
        samples = []
        for n in rng.permutation(3):
            if present[n, t]:
                s = PoseDataSample()
                s.pred_instances = InstanceData(keypoints=np.full((1, 1, 2), float(t + 1), np.float32))
                s.gt_instances = InstanceData()
                s.track_id = int(n)
                samples.append(s)
        frames_results.append(samples)
    track, target, frames = lifting_windows([np.flatnonzero(p) for p in present], T, seq_len, causal)
    assert len(track) == present.sum()
    assert np.all(np.diff(target) >= 0)
    gaps = 0
    for w in range(len(track)):
        seq = mm.extract_pose_sequence(frames_results, int(target[w]), causal, seq_len)
        target_idx = -1 if causal else len(seq) // 2
        collated = mm.collate_pose_sequence(seq, True, target_idx)
        ids = [s.track_id for s in frames_results[target[w]]]
        want = collated[ids.index(int(track[w]))].pred_instances.keypoints[0, :, 0, 0].astype(np.int64) - 1
        # MMPose leaves the positions right of a gap at zero keypoints (its right-hand scan copies the
        # missing frame); we repeat the last frame before the gap there, as its left-hand scan does
        gap = want < 0
        np.testing.assert_array_equal(frames[w][~gap], want[~gap], err_msg=f"window {w}")
        if gap.any():
            first = int(np.argmax(gap))
            assert first > (len(want) - 1 if causal else len(want) // 2)
            assert np.all(frames[w][first:] == frames[w][first - 1]) and not present[track[w], frames[w][first - 1] + 1]
            gaps += 1
    assert (gaps > 0 or causal) and len(np.unique(frames[:, 0])) > 1  # the cases that matter occurred


def test_receptive_field_of_the_zoo_and_causal_tcns():
    from pyposefast.models import build_model

    assert receptive_field(build_model("videopose3d-27f_h36m")) == (27, False)
    assert receptive_field(tiny_lifter(causal=True)) == (9, True)


@pytest.mark.parity
def test_lifted_keypoints_equal_a_by_hand_mmpose_pipeline():
    mm_convert = _mmpose_inference_3d().convert_keypoint_definition
    from mmpose import codecs

    model = tiny_lifter()
    T, w, h = 7, 640, 480
    results = _coco_results(T)
    inf = PoseLifterInferencer(model, device="cpu", tracking="index")
    out = inf(results, image_size=(w, h))
    stats = H36M["stats_info"]
    # per frame: COCO -> H36M, the box moved and scaled to the H36M mean box (MMPose's inferencer)
    seq = []
    for r in results:
        kp = mm_convert(r["keypoints"], "coco", "h36m")[0]
        b = r["bboxes"][0]
        c = np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2])
        s = max(b[2] - b[0], b[3] - b[1])
        seq.append((kp - c) / s * stats["bbox_scale"] + stats["bbox_center"])
    seq = np.stack(seq).astype(np.float32)
    codec = codecs.VideoPoseLifting(num_keypoints=17, zero_center=True, root_index=0)
    for t in range(T):
        window = seq[np.clip(np.arange(t - 4, t + 5), 0, T - 1)]  # centred, ends repeated
        with np.errstate(divide="ignore"):  # MMPose's trajectory weights 1 / z of the zero target
            labels = codec.encode(window, lifting_target=np.zeros((1, 17, 3), np.float32),
                                  camera_param=dict(w=w, h=h))["keypoint_labels"]  # [K*2, 9]
        with torch.no_grad():
            pred = model(torch.from_numpy(labels[None]).float())[0].numpy()
        np.testing.assert_allclose(out[t]["keypoints_root_relative"][0], pred, rtol=1e-4, atol=1e-5)
        shown = pred[:, [0, 2, 1]] * [-1, 1, -1]
        shown[:, 2] -= shown[:, 2].min()
        np.testing.assert_allclose(out[t]["keypoints"][0], shown, rtol=1e-4, atol=1e-5)
        assert out[t]["keypoint_scores"].shape == (1, 17) and out[t]["track_ids"].tolist() == [0]
    # without the box normalisation the input (and the output) changes
    raw = PoseLifterInferencer(model, device="cpu", tracking="index", disable_norm_pose_2d=True)(
        results, image_size=(w, h))
    assert not np.allclose(raw[3]["keypoints_root_relative"], out[3]["keypoints_root_relative"])


@pytest.mark.parametrize("causal", [False, True])
def test_whole_sequence_dilated_run_equals_window_by_window(causal):
    model = tiny_lifter(seed=2, causal=causal, blocks=2)  # 27 frames: dilations 3 and 9
    with torch.no_grad():  # non-trivial batch-norm statistics
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    present = [[True] * 16, [t not in (4, 5, 11) for t in range(16)]]
    results = _coco_results(16, n=2, seed=4, present=present)
    fast = PoseLifterInferencer(model, device="cpu", tracking="index")
    slow = PoseLifterInferencer(model, device="cpu", tracking="index", whole_sequence=False, batch_size=5)
    assert fast.whole_sequence and not slow.whole_sequence
    a, b = fast(results, image_size=(640, 480)), slow(results, image_size=(640, 480))
    for fa, fb in zip(a, b):
        np.testing.assert_allclose(fa["keypoints_root_relative"], fb["keypoints_root_relative"], rtol=1e-4, atol=1e-5)
    assert not np.allclose(a[0]["keypoints_root_relative"][0], a[8]["keypoints_root_relative"][0])
    with pytest.raises(ValueError, match="whole_sequence"):
        PoseLifterInferencer(model, device="cpu", seq_step=2, whole_sequence=True)


def test_iou_tracking_follows_people_across_list_order():
    a, b = np.array([0, 0, 50, 100.0]), np.array([200, 0, 250, 100.0])
    frames = [np.stack([a, b]), np.stack([b + 5, a + 5]), np.stack([a + 10]), np.stack([a + 10, b + 400])]
    ids = track_by_iou(frames, 0.3)
    assert [i.tolist() for i in ids] == [[0, 1], [1, 0], [0], [0, 2]]
    # the lifter's results are sorted by track id, each track lifted from its own sequence
    present = [[True] * 6, [True, True, False, True, True, True]]
    results = _coco_results(6, n=2, present=present)
    out = PoseLifterInferencer(tiny_lifter(), device="cpu")(results, image_size=(640, 480))
    assert [o["track_ids"].tolist() for o in out] == [[0, 1], [0, 1], [0], [0, 2], [0, 2], [0, 2]]
    assert all(o["keypoints"].shape == (len(o["track_ids"]), 17, 3) for o in out)


def test_video_end_to_end_writes_3d_plots(tmp_path):
    from pyposefast.apis import PoseInferencer
    from tests.apis.conftest import tiny_topdown

    video = str(tmp_path / "clip.avi")
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    rng = np.random.default_rng(0)
    for t in range(8):
        frame = np.full((48, 64, 3), 30, np.uint8)
        cv2.circle(frame, (20 + 3 * t, 24), 8, (0, 0, 255), -1)
        frame[rng.uniform(size=(48, 64)) > 0.97] = 255
        writer.write(frame)
    writer.release()
    pose2d = PoseInferencer(tiny_topdown(), device="cpu", decode_threads=0, dataset="coco")
    lifter = PoseLifterInferencer(tiny_lifter(), device="cpu", pose2d=pose2d)
    out = lifter(video, vis_out_dir=str(tmp_path / "vis"), pred_out_dir=str(tmp_path / "pred"), panel_size=96,
                 kpt_thr=0.0)
    assert len(out) == 8 and all(o["keypoints"].shape == (1, 17, 3) for o in out)
    saved = json.loads((tmp_path / "pred" / "clip.json").read_text())
    assert [f["frame_id"] for f in saved] == list(range(8))
    np.testing.assert_allclose(saved[5]["instances"][0]["keypoints"], out[5]["keypoints"][0], rtol=1e-6)
    assert saved[5]["instances"][0]["track_id"] == 0 and len(saved[5]["instances"][0]["bbox"][0]) == 4
    assert all(np.isfinite(o["keypoints"]).all() and o["keypoints"][0, :, 2].min() == 0 for o in out)
    pngs = sorted((tmp_path / "vis").glob("*.png"))
    assert len(pngs) == 8
    img = cv2.imread(str(pngs[0]))
    assert img.shape == (96, 128 + 96, 3)  # 64x48 frame at height 96, then one 96x96 3D panel
    panel = img[:, 128:].astype(np.int32)
    link_colors = np.unique(np.asarray(H36M["skeleton_link_colors"]), axis=0)[:, ::-1]
    near = np.zeros(panel.shape[:2], bool)
    for c in link_colors:
        near |= np.abs(panel - c).max(-1) < 60
    assert near.sum() > 10  # the skeleton is drawn in the 3D panel


def test_bad_inputs_raise():
    inf = PoseLifterInferencer(tiny_lifter(), device="cpu")
    with pytest.raises(ValueError, match="image_size"):
        inf(_coco_results(3))
    with pytest.raises(ValueError, match="pose2d"):
        inf("video.mp4")
    with pytest.raises(ValueError, match="keypoints"):
        inf([dict(keypoints=np.zeros((1, 5, 2)), bboxes=np.zeros((1, 4)))], image_size=(10, 10))
    with pytest.raises(TypeError, match="PoseLifter"):
        PoseLifterInferencer(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="tracking"):
        PoseLifterInferencer(tiny_lifter(), tracking="oks")


@requires_cuda
@pytest.mark.cuda
def test_cuda_matches_cpu(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)  # TF32 convolutions differ by ~1e-4
    results = _coco_results(20, n=2)
    cpu = PoseLifterInferencer(tiny_lifter(), device="cpu", batch_size=7)(results, image_size=(640, 480))
    gpu = PoseLifterInferencer(tiny_lifter(), device="cuda", batch_size=7)(results, image_size=(640, 480))
    for a, b in zip(cpu, gpu):
        np.testing.assert_allclose(a["keypoints"], b["keypoints"], rtol=1e-3, atol=1e-4)
