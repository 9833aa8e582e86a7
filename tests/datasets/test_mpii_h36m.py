"""MPII JSON (+ head boxes) and Human3.6M npz readers: values, MMPose parity, malformed files."""

import json
import pickle

import numpy as np
import pytest

from pyposefast.datasets.errors import AnnotationError
from pyposefast.datasets.h36m import h36m_sequence_indices, h36m_window_table, load_h36m, parse_h36m_imgname
from pyposefast.datasets.mpii import load_mpii

scipy_io = pytest.importorskip("scipy.io")


def _mpii_entries(rng):
    out = []
    for i, (cx, cy, s) in enumerate([(300.0, 200.0, 2.5), (-1.0, -1.0, 1.0), (120.5, 80.0, 0.75), (50.0, 40.0, 3.1)]):
        out.append({"image": f"{1000 + i // 2:09d}.jpg", "center": [cx, cy], "scale": s,
                    "joints": rng.uniform(0, 300, (16, 2)).round(1).tolist(),
                    "joints_vis": rng.integers(0, 2, 16).tolist()})
    return out


@pytest.fixture()
def mpii_files(tmp_path):
    rng = np.random.default_rng(0)
    entries = _mpii_entries(rng)
    ann = tmp_path / "mpii_val.json"
    ann.write_text(json.dumps(entries))
    tl = rng.uniform(0, 100, (2, len(entries)))
    boxes = np.stack([tl, tl + rng.uniform(10, 40, (2, len(entries)))], 0)  # [2 corners, 2 coords, N]
    mat = tmp_path / "mpii_gt_val.mat"
    scipy_io.savemat(str(mat), {"headboxes_src": boxes})  # as mpii_gt_val.mat: [corner, (x, y), N]
    return str(ann), str(mat), entries, boxes


def test_mpii_center_scale_box_and_head_size(mpii_files):
    ann, mat, entries, _ = mpii_files
    data = load_mpii(ann, "imgs", headbox_file=mat)
    assert len(data) == 4 and [im["img_id"] for im in data.images] == [1000, 1001]
    r = data.records[0]
    s = 2.5 * 200
    np.testing.assert_allclose(r["bbox_center"], [[299.0, 200.0 + 15.0 / 200 * s - 1]], rtol=1e-6)
    np.testing.assert_allclose(r["bbox_scale"], [[s, s]])
    np.testing.assert_allclose(r["bbox"], np.concatenate([r["bbox_center"] - s / 2, r["bbox_center"] + s / 2], 1))
    assert r["img_path"] == "imgs/000001000.jpg" and r["keypoints"].shape == (1, 16, 2)
    assert data.records[1]["bbox_center"][0, 1] == -2.0  # centre x == -1: no downward shift
    raw = scipy_io.loadmat(mat)["headboxes_src"].transpose(2, 0, 1)
    for i, rec in enumerate(data.records):
        assert rec["head_size"].shape == (1, 1)
        np.testing.assert_allclose(rec["head_size"][0, 0], 0.6 * np.linalg.norm(raw[i][1] - raw[i][0]))


@pytest.mark.parity
def test_mpii_matches_mmpose(mpii_files):
    pytest.importorskip("mmpose")
    from mmpose.datasets.datasets.body.mpii_dataset import MpiiDataset

    ann, mat, _, _ = mpii_files
    ref = MpiiDataset(ann_file=ann, headbox_file=mat, data_prefix=dict(img="imgs/"), test_mode=True)
    ours = load_mpii(ann, "imgs/", headbox_file=mat).records
    assert len(ref) == len(ours)
    for i, r in enumerate(ours):
        m = ref.get_data_info(i)
        for key in ("bbox", "bbox_center", "bbox_scale", "keypoints", "keypoints_visible", "head_size", "area"):
            np.testing.assert_allclose(r[key], m[key], rtol=1e-6, err_msg=key)
        assert (r["img_id"], r["img_path"], r["id"]) == (m["img_id"], m["img_path"], m["id"])


def test_mpii_malformed(tmp_path, mpii_files):
    ann, mat, entries, _ = mpii_files
    bad = [dict(entries[0]), dict(entries[1], joints=[[1, 2]] * 15), {"image": "x.jpg"}]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    with pytest.raises(AnnotationError, match=r"bad.json: \[1\] \(image=000001000.jpg\): joints must be \[16, 2\]"):
        load_mpii(str(path))
    skipped = load_mpii(str(path), skip_bad=True)
    assert len(skipped) == 1 and len(skipped.skipped) == 2 and "missing 'center'" in str(skipped.skipped[1])
    with pytest.raises(AnnotationError, match=r"mpii_gt_val.mat: has 4 head boxes but .*bad.json has 3"):
        load_mpii(str(path), headbox_file=mat)
    (tmp_path / "notlist.json").write_text("{}")
    with pytest.raises(AnnotationError, match="notlist.json: expected a JSON list"):
        load_mpii(str(tmp_path / "notlist.json"))
    with pytest.raises(AnnotationError, match="image file .* does not exist"):
        load_mpii(ann, str(tmp_path), check_images=True)


# ------------------------------------------------------------------ Human3.6M

def _h36m_npz(path, rng):
    names = []
    for subj, action, cam, n in (("S9", "Walking_1", "60457274", 7), ("S1", "Directions", "54138969", 5)):
        names += [f"{subj}/{subj}_{action}.{cam}/{subj}_{action}.{cam}_{f + 1:06d}.jpg" for f in range(n)]
    order = rng.permutation(len(names))  # frames of a video need not be contiguous in the file
    names = [names[i] for i in np.sort(order)]
    f = len(names)
    s = rng.normal(0, 1, (f, 17, 4)).astype(np.float32)
    s[..., 3] = 1
    part = np.concatenate([rng.uniform(1, 900, (f, 17, 2)), np.ones((f, 17, 1))], -1).astype(np.float32)
    np.savez(path, imgname=np.array(names), S=s, part=part, center=rng.uniform(100, 900, (f, 2)),
             scale=rng.uniform(1, 5, f))
    return names


def test_h36m_name_parsing_and_windows():
    assert parse_h36m_imgname("S1/x/S1_Directions_1.54138969_000001.jpg") == ("S1", "Directions_1", "54138969")
    with pytest.raises(ValueError, match="is not"):
        parse_h36m_imgname("frame001.jpg")
    names = [f"S1_A.1_{i:06d}.jpg" for i in range(5)]
    assert h36m_sequence_indices(names, 3) == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    assert h36m_sequence_indices(names, 3, pad_video_seq=True)[:2] == [[0, 0, 0], [0, 0, 1]]
    assert h36m_sequence_indices(names, 3, pad_video_seq=True, causal=False)[-1] == [3, 4, 4]
    assert h36m_sequence_indices(names, 1, multiple_target=2) == [[0, 1], [2, 3]]


CONFIGS = [dict(), dict(seq_len=3), dict(seq_len=3, seq_step=2, pad_video_seq=True, causal=False),
           dict(seq_len=4, pad_video_seq=True), dict(multiple_target=3), dict(multiple_target=3, multiple_target_step=2)]


@pytest.mark.parity
@pytest.mark.parametrize("cfg", CONFIGS)
def test_h36m_matches_mmpose(tmp_path, cfg):
    pytest.importorskip("mmpose")
    from mmpose.datasets.datasets.body3d.h36m_dataset import Human36mDataset

    path = str(tmp_path / "h36m.npz")
    names = _h36m_npz(path, np.random.default_rng(1))
    cams = {("S9", "60457274"): {"f": 1.0}, ("S1", "54138969"): {"f": 2.0}}
    cam_file = tmp_path / "cameras.pkl"
    cam_file.write_bytes(pickle.dumps(cams))
    ref = Human36mDataset(ann_file=path, camera_param_file=str(cam_file), **cfg)
    ours = load_h36m(path, camera_param_file=str(cam_file), **cfg).records
    assert len(ours) == len(ref) > 0
    for i, r in enumerate(ours):
        m = ref.get_data_info(i)
        assert r["img_ids"] == list(m["img_ids"]) and r["img_paths"] == list(m["img_paths"])
        assert list(r["target_img_path"]) == list(m["target_img_path"]) and r["camera_param"] == m["camera_param"]
        for key in ("keypoints", "keypoints_visible", "keypoints_3d", "lifting_target", "lifting_target_visible",
                    "center", "scale", "factor"):
            np.testing.assert_allclose(r[key], m[key], rtol=1e-6, err_msg=key)
    assert len(names) == 12


@pytest.mark.parity
@pytest.mark.parametrize("cfg", [dict(seq_len=3, subset_frac=0.5), dict(seq_len=3, seq_step=2, pad_video_seq=True),
                                 dict(seq_len=5, seq_step=2, pad_video_seq=True, causal=False)])
def test_h36m_subset_detections_factors_match_mmpose(tmp_path, cfg):
    """subset_frac (MMPose draws the start from NumPy's global generator: seeded alike here), 2D
    keypoints from a detection file, projection factors from a factor file."""
    pytest.importorskip("mmpose")
    from mmpose.datasets.datasets.body3d.h36m_dataset import Human36mDataset

    rng = np.random.default_rng(3)
    path = str(tmp_path / "h36m.npz")
    names = _h36m_npz(path, rng)
    det = str(tmp_path / "det.npy")
    np.save(det, rng.uniform(0, 900, (len(names), 17, 3)).astype(np.float32))
    factors = str(tmp_path / "factors.npy")
    np.save(factors, rng.uniform(1, 2, len(names)))
    kw = dict(keypoint_2d_src="detection", keypoint_2d_det_file=det, factor_file=factors, **cfg)
    np.random.seed(7)
    ref = Human36mDataset(ann_file=path, **kw)
    np.random.seed(7)
    ours = load_h36m(path, **kw).records
    assert len(ours) == len(ref) > 0
    for i, r in enumerate(ours):
        m = ref.get_data_info(i)
        assert r["img_ids"] == list(m["img_ids"])
        for key in ("keypoints", "keypoints_visible", "lifting_target", "factor", "center", "scale"):
            np.testing.assert_allclose(r[key], m[key], rtol=1e-6, err_msg=key)
    # the same subset from an explicit seed, whatever the global generator's state
    a = load_h36m(path, seq_len=3, subset_frac=0.5, seed=1).records
    np.random.seed(123)
    b = load_h36m(path, seq_len=3, subset_frac=0.5, seed=1).records
    assert [r["img_ids"] for r in a] == [r["img_ids"] for r in b]


@pytest.mark.parametrize("cfg", CONFIGS + [dict(seq_len=3, subset_frac=0.5, seed=2),
                                           dict(seq_len=5, seq_step=2, pad_video_seq=True, causal=False)])
def test_h36m_compact_holds_the_same_samples(tmp_path, cfg):
    """compact=True: the same samples in the same order (ids, frames, targets, cameras), the 2D
    keypoints once per frame, and the window table equal to h36m_sequence_indices."""
    rng = np.random.default_rng(4)
    path = str(tmp_path / "h36m.npz")
    names = _h36m_npz(path, rng)
    d = dict(np.load(path))
    d["part"][0, :, :2] = 0  # frame 0 without 2D keypoints: one-frame windows of it are filtered out
    np.savez(path, **d)
    cams = {("S9", "60457274"): {"w": 1000}, ("S1", "54138969"): {"w": 1002}}
    cam_file = tmp_path / "cameras.pkl"
    cam_file.write_bytes(pickle.dumps(cams))
    full = load_h36m(path, camera_param_file=str(cam_file), **cfg).records
    comp = load_h36m(path, camera_param_file=str(cam_file), compact=True, **cfg)
    assert len(comp) == len(full) > 0
    for r, c in zip(full, comp.records):
        assert c["id"] == r["id"] and list(comp.windows[c["window"]]) == r["img_ids"]
        np.testing.assert_array_equal(comp.keypoints[comp.windows[c["window"]]], r["keypoints"])
        np.testing.assert_array_equal(comp.keypoints_visible[comp.windows[c["window"]]], r["keypoints_visible"])
        np.testing.assert_array_equal(c["lifting_target"], r["lifting_target"])
        np.testing.assert_array_equal(c["lifting_target_visible"], r["lifting_target_visible"])
        assert list(c["target_img_path"]) == list(r["target_img_path"]) and c["camera_param"] == r["camera_param"]
    window_args = {k: v for k, v in cfg.items() if k not in ("subset_frac", "seed")}
    table = h36m_window_table(names, **window_args)
    assert table.tolist() == h36m_sequence_indices(names, **window_args)


def test_h36m_windows_are_clamped_frame_indices():
    """With padding, a window is the video's frames i + o * seq_step clamped to the video (what the
    lifting data's window table relies on), for causal and centred windows."""
    n = 11
    names = [f"S1_A.1_{i:06d}.jpg" for i in range(n)]
    for seq_len, step, causal in ((5, 1, False), (5, 2, False), (4, 3, True), (9, 2, True)):
        seqs = h36m_sequence_indices(names, seq_len, step, pad_video_seq=True, causal=causal)
        left = seq_len - 1 if causal else (seq_len - 1) // 2
        for i, seq in enumerate(seqs):
            expected = [min(max(i + (o - left) * step, 0), n - 1) for o in range(seq_len)]
            assert seq == expected, (seq_len, step, causal, i)


def test_h36m_malformed(tmp_path):
    rng = np.random.default_rng(2)
    good = str(tmp_path / "good.npz")
    _h36m_npz(good, rng)
    d = dict(np.load(good))
    np.savez(tmp_path / "nos.npz", imgname=d["imgname"])
    with pytest.raises(AnnotationError, match=r"nos.npz: missing the 'S' array"):
        load_h36m(str(tmp_path / "nos.npz"))
    names = d["imgname"].copy()
    names[3] = "junk.jpg"
    np.savez(tmp_path / "name.npz", **dict(d, imgname=names))
    with pytest.raises(AnnotationError, match=r"name.npz: imgname\[3\]: image name 'junk.jpg'"):
        load_h36m(str(tmp_path / "name.npz"))
    np.savez(tmp_path / "shape.npz", **dict(d, part=d["part"][:, :16]))
    with pytest.raises(AnnotationError, match=r"shape.npz: 'part' must be \[F, 17, 3\]"):
        load_h36m(str(tmp_path / "shape.npz"))
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(AnnotationError, match="junk.npz: not a readable .npz"):
        load_h36m(str(tmp_path / "junk.npz"))
    cam_file = tmp_path / "cams.pkl"
    cam_file.write_bytes(pickle.dumps({("S9", "60457274"): {}}))
    with pytest.raises(AnnotationError, match=r"cams.pkl: imgname\[\d+\]: no camera \('S1', '54138969'\)"):
        load_h36m(good, camera_param_file=str(cam_file))
