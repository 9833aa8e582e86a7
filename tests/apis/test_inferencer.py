"""PoseInferencer: inputs (array, file, folder, video, list), box sources (given, detection file,
whole image), top-down and bottom-up geometry against hand-made crops and known answers, outputs."""

from __future__ import annotations

import contextlib
import io
import json
import os

import cv2
import numpy as np
import pytest
import torch

from pyposefast import ops
from pyposefast.apis import PoseInferencer, bottomup_geometry, topdown_geometry, write_coco_results
from pyposefast.datasets.pipeline import IMAGENET_MEAN, IMAGENET_STD
from pyposefast.structures import get_udp_warp_matrix, get_warp_matrix

from .conftest import TD_INPUT, spot_bottomup, spot_image, spot_topdown, tiny_topdown
from tests.video_utils import read_video


def _image(rng, w=160, h=120):
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def _manual_topdown(model, image, boxes, udp=False):
    """MMPose's val geometry written out in NumPy (ALGORITHMS.md (d)), crops by warp_affine, predict."""
    w, h = TD_INPUT
    boxes = np.asarray(boxes, np.float64)
    center = (boxes[:, :2] + boxes[:, 2:]) / 2
    scale = (boxes[:, 2:] - boxes[:, :2]) * 1.25
    aspect = w / h
    grow_w = scale[:, 0] > aspect * scale[:, 1]
    scale = np.where(grow_w[:, None], np.stack([scale[:, 0], scale[:, 0] / aspect], 1),
                     np.stack([scale[:, 1] * aspect, scale[:, 1]], 1))
    make = get_udp_warp_matrix if udp else get_warp_matrix
    mats = np.stack([make(c, s, 0.0, (w, h)) for c, s in zip(center, scale)]).astype(np.float64)
    img = torch.from_numpy(image)[None]
    crops = ops.warp_affine(img, torch.from_numpy(mats), (w, h), image_index=torch.zeros(len(boxes), dtype=torch.long),
                            mean=IMAGENET_MEAN, std=IMAGENET_STD, bgr_to_rgb=True)
    with torch.no_grad():
        kp, sc = model.predict(crops, torch.from_numpy(center).float(), torch.from_numpy(scale).float())
    return kp.numpy(), sc.numpy(), scale


@pytest.mark.parametrize("udp", [False, True])
def test_topdown_given_boxes_match_manual_crops(rng, udp):
    model = tiny_topdown(udp=udp)
    image = _image(rng)
    boxes = np.array([[10, 10, 60, 100], [50, 20, 150, 110], [0, 0, 30, 30]], np.float32)
    inf = PoseInferencer(model, device="cpu", batch_size=2)  # two network calls for three crops
    (res,) = inf(image, boxes)
    kp, sc, _ = _manual_topdown(model, image, boxes, udp)
    assert res["keypoints"].shape == (3, 17, 2) and res["keypoints"].dtype == np.float32
    if udp:
        # NumPy's UDP matrices are float32 (MMPose's arithmetic), ours float64: DARK-UDP refinement
        # on random heatmaps (ill-conditioned Hessians) turns that rounding into a few hundredths of
        # a pixel, and a tenth at a rare flat peak (seen on another CPU's float rounding)
        err = np.abs(res["keypoints"] - kp)
        assert (err <= 0.05).mean() >= 0.95 and err.max() <= 0.25, err.max()
    else:
        np.testing.assert_allclose(res["keypoints"], kp, atol=1e-3)
    np.testing.assert_allclose(res["keypoint_scores"], sc, atol=1e-3 if udp else 1e-5)
    np.testing.assert_array_equal(res["bboxes"], boxes)
    np.testing.assert_array_equal(res["bbox_scores"], np.ones(3, np.float32))
    assert res["img_path"] is None and res["frame_id"] is None and res["input_index"] == 0


@pytest.mark.parametrize("udp", [False, True])
def test_topdown_keypoints_land_on_the_spots(udp):
    """A stub model that finds the red / green spot of each crop: the keypoints must come back onto
    the spots in image pixels (crop geometry, BGR->RGB, and the map back)."""
    image = spot_image(200, 150, red_xy=(70, 40), green_xy=(120, 110), radius=2)
    boxes = np.array([[40, 20, 140, 130, 0.9], [60, 30, 135, 125, 0.8]], np.float32)
    (res,) = PoseInferencer(spot_topdown(udp), device="cpu")(image, boxes)
    for n, box in enumerate(boxes):
        crop_px = max((box[2] - box[0]) * 1.25 / TD_INPUT[0], (box[3] - box[1]) * 1.25 / TD_INPUT[1])
        tol = crop_px + 1.0
        np.testing.assert_allclose(res["keypoints"][n, 0], (70, 40), atol=tol)
        np.testing.assert_allclose(res["keypoints"][n, 1], (120, 110), atol=tol)
    np.testing.assert_allclose(res["bbox_scores"], [0.9, 0.8])


def test_topdown_whole_image_and_keypoints_in_bounds(rng, td_model):
    image = _image(rng, 90, 70)
    (res,) = PoseInferencer(td_model, device="cpu")(image)
    np.testing.assert_array_equal(res["bboxes"], [[0, 0, 90, 70]])
    kp, sc, scale = _manual_topdown(td_model, image, [[0, 0, 90, 70]])
    np.testing.assert_allclose(res["keypoints"], kp, atol=1e-3)
    # keypoints with a positive heatmap maximum lie inside the (padded) crop box around the image
    # (a non-positive maximum decodes to heatmap pixel -1, as in MMPose)
    c = np.array([45, 35])
    found = res["keypoint_scores"][0] > 0
    assert found.sum() >= 5
    assert (np.abs(res["keypoints"][0][found] - c) <= scale[0] / 2 + 1e-3).all()
    # the spot model on the whole image: keypoints inside the image, on the spots
    spots = spot_image(90, 70, (20, 15), (70, 60))
    (res,) = PoseInferencer(spot_topdown(), device="cpu")(spots)
    assert ((res["keypoints"] >= 0) & (res["keypoints"] < [90, 70])).all()
    np.testing.assert_allclose(res["keypoints"][0], [[20, 15], [70, 60]], atol=3.0)


def test_topdown_geometry_matches_mmpose_formulas():
    boxes = torch.tensor([[10.0, 20.0, 50.0, 120.0], [0.0, 0.0, 200.0, 50.0]], dtype=torch.float64)
    center, scale, warp = topdown_geometry(boxes, (48, 64))
    np.testing.assert_allclose(center.numpy(), [[30, 70], [100, 25]])
    # 40x100 * 1.25 = 50x125: taller than 3:4 -> width grows to 93.75; 250x62.5 -> height grows to 333.3
    np.testing.assert_allclose(scale.numpy(), [[93.75, 125.0], [250.0, 1000.0 / 3]], rtol=1e-12)
    # the crop's left edge centre (x = c - s/2) maps to (0, h/2), the centre to (w/2, h/2)
    pts = np.array([[30 - 93.75 / 2, 70.0, 1.0], [30.0, 70.0, 1.0]])
    np.testing.assert_allclose(pts @ warp[0].numpy().T, [[0, 32], [24, 32]], atol=1e-9)


def test_bottomup_geometry_by_hand():
    # 160x120 image, 64x64 input, size factor 32, 'expand': actual (85.33, 64), padded (96, 64)
    padded, center, scale, warp = bottomup_geometry((160, 120), (64, 64), 32, "expand")
    assert padded == (96, 64)
    np.testing.assert_allclose(center, [80, 60])
    np.testing.assert_allclose(scale, [180, 120], rtol=1e-6)
    np.testing.assert_allclose(np.array([0.0, 0.0, 1.0]) @ warp.T, [(180 - 160) / 2 * 96 / 180, 0], atol=1e-4)
    # 'fit': the image fits in 64x64 (64 x 48), padded to 64x64
    padded, center, scale, _ = bottomup_geometry((160, 120), (64, 64), 32, "fit")
    assert padded == (64, 64)
    np.testing.assert_allclose(scale, [160 * 64 / 64, 120 * 64 / 48], rtol=1e-6)  # the padded square
    with pytest.raises(ValueError, match="multiple of size_factor"):
        bottomup_geometry((160, 120), (60, 64), 32, "fit")
    with pytest.raises(ValueError, match="resize_mode"):
        bottomup_geometry((160, 120), (64, 64), 32, "crop")


def test_bottomup_matches_manual_resize(rng, bu_model):
    images = [_image(rng, 160, 120), _image(rng, 100, 130), _image(rng, 160, 120)]
    inf = PoseInferencer(bu_model, device="cpu", bottomup_size_factor=32, bbox_thr=0.0, batch_size=4)
    results = inf(images)
    assert [r["input_index"] for r in results] == [0, 1, 2]
    assert sum(len(r["keypoints"]) for r in results) > 0  # the biased heatmaps give people
    for img, res in zip(images, results):
        padded, center, scale, warp = bottomup_geometry((img.shape[1], img.shape[0]), (64, 64), 32, "expand")
        x = ops.warp_affine(torch.from_numpy(img)[None], torch.from_numpy(warp)[None], padded, mean=IMAGENET_MEAN,
                            std=IMAGENET_STD, bgr_to_rgb=True)
        with torch.no_grad():
            kps, scs, inst = bu_model.predict(x)
        expected = kps[0] / np.array(padded, np.float32) * scale + center - 0.5 * scale
        np.testing.assert_allclose(res["keypoints"], expected, atol=1e-3)
        np.testing.assert_allclose(res["keypoint_scores"], scs[0], atol=1e-6)
        np.testing.assert_allclose(res["bbox_scores"], inst[0], atol=1e-6)
        if len(expected):
            np.testing.assert_allclose(res["bboxes"][:, :2], expected.min(1), atol=1e-3)
            np.testing.assert_allclose(res["bboxes"][:, 2:], expected.max(1), atol=1e-3)


def test_bottomup_keypoints_land_on_the_spots():
    images = [spot_image(160, 120, (30, 100), (140, 10)), spot_image(90, 130, (45, 65), (10, 120), radius=3)]
    results = PoseInferencer(spot_bottomup(), device="cpu", bottomup_size_factor=32)(images)
    for res, (red, green) in zip(results, [((30, 100), (140, 10)), ((45, 65), (10, 120))]):
        assert res["keypoints"].shape == (1, 2, 2)
        np.testing.assert_allclose(res["keypoints"][0], [red, green], atol=0.5)


def test_bottomup_bbox_thr_filters_instances(rng, bu_model):
    img = _image(rng)
    everything = PoseInferencer(bu_model, device="cpu", bottomup_size_factor=32, bbox_thr=0.0)(img)[0]
    thr = float(np.median(everything["bbox_scores"])) if len(everything["bbox_scores"]) else 0.0
    kept = PoseInferencer(bu_model, device="cpu", bottomup_size_factor=32, bbox_thr=thr)(img)[0]
    np.testing.assert_array_equal(kept["bbox_scores"], everything["bbox_scores"][everything["bbox_scores"] > thr])


def test_folder_outputs(tmp_path, rng, td_model):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for name in ("b.png", "a.jpg"):
        cv2.imwrite(str(folder / name), _image(rng, 80, 60))
    (folder / "notes.txt").write_text("not an image")
    inf = PoseInferencer(td_model, device="cpu", kpt_thr=0.0)
    results = inf(str(folder), vis_out_dir=str(tmp_path / "vis"), pred_out_dir=str(tmp_path / "pred"),
                  draw_bbox=True, return_vis=True)
    assert [os.path.basename(r["img_path"]) for r in results] == ["a.jpg", "b.png"]
    for r in results:
        stem = os.path.splitext(os.path.basename(r["img_path"]))[0]
        drawn = cv2.imread(str(tmp_path / "vis" / f"{stem}.png"))
        assert drawn is not None and drawn.shape == (60, 80, 3)
        np.testing.assert_array_equal(drawn, r["visualization"])
        assert not np.array_equal(drawn, cv2.imread(r["img_path"]))
        pred = json.loads((tmp_path / "pred" / f"{stem}.json").read_text())
        assert len(pred) == 1 and set(pred[0]) == {"keypoints", "keypoint_scores", "bbox", "bbox_score"}
        np.testing.assert_allclose(pred[0]["keypoints"], r["keypoints"][0], atol=1e-4)
        assert pred[0]["bbox"] == [[0.0, 0.0, 80.0, 60.0]]  # MMPose's nesting
    assert inf.last_stats["frames"] == 2 and inf.last_stats["instances"] == 2


def _write_video(path, frames, fps=10.0):
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (frames[0].shape[1], frames[0].shape[0]))
    assert writer.isOpened()
    for f in frames:
        writer.write(f)
    writer.release()


def test_video_file(tmp_path):
    frames = [spot_image(96, 64, (20 + 10 * i, 20), (60, 40 + 2 * i)) for i in range(5)]
    video = tmp_path / "clip.avi"
    _write_video(video, frames)
    inf = PoseInferencer(spot_topdown(), device="cpu", batch_size=2, kpt_thr=0.0)
    results = inf(str(video), vis_out_dir=str(tmp_path / "vis"), pred_out_dir=str(tmp_path / "pred"))
    assert [r["frame_id"] for r in results] == [0, 1, 2, 3, 4]
    assert all(r["img_path"] == str(video) for r in results)
    for i, r in enumerate(results):  # the spots move frame by frame (MJPG blurs them a little)
        np.testing.assert_allclose(r["keypoints"][0], [[20 + 10 * i, 20], [60, 40 + 2 * i]], atol=3.0)
    drawn = read_video(tmp_path / "vis" / "clip.avi")
    assert len(drawn) == 5 and drawn[0].shape == (64, 96, 3)
    pred = json.loads((tmp_path / "pred" / "clip.json").read_text())
    assert [p["frame_id"] for p in pred] == [0, 1, 2, 3, 4] and len(pred[0]["instances"]) == 1


def test_list_of_inputs_with_boxes(tmp_path, rng, td_model):
    a, b = _image(rng, 64, 48), _image(rng, 50, 70)
    path = tmp_path / "b.png"
    cv2.imwrite(str(path), b)
    boxes_a = np.array([[0, 0, 30, 40], [10, 5, 60, 45]], np.float32)
    inf = PoseInferencer(td_model, device="cpu")
    results = inf([a, str(path)], bboxes=[boxes_a, None], pred_out_dir=str(tmp_path / "pred"))
    assert len(results[0]["keypoints"]) == 2 and len(results[1]["keypoints"]) == 1
    np.testing.assert_array_equal(results[1]["bboxes"], [[0, 0, 50, 70]])
    assert (tmp_path / "pred" / "000000.json").exists() and (tmp_path / "pred" / "b.json").exists()
    # the same crops one image at a time give the same keypoints (batching does not change results)
    alone = inf(a, boxes_a)[0]
    np.testing.assert_allclose(alone["keypoints"], results[0]["keypoints"], atol=1e-4)
    # boxes by file name
    by_name = inf([str(path)], bboxes={"b.png": [[5, 5, 40, 60, 0.7]]})[0]
    np.testing.assert_array_equal(by_name["bboxes"], [[5, 5, 40, 60]])


def _coco_files(tmp_path, rng):
    folder = tmp_path / "images"
    folder.mkdir()
    names = {1: "000000000001.png", 2: "000000000002.png"}
    for name in names.values():
        cv2.imwrite(str(folder / name), _image(rng, 100, 80))
    dets = [
        {"image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 60], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [12, 11, 40, 60], "score": 0.8},  # NMS removes it
        {"image_id": 1, "category_id": 1, "bbox": [60, 5, 30, 70], "score": 0.2},  # below bbox_thr
        {"image_id": 1, "category_id": 2, "bbox": [0, 0, 50, 50], "score": 0.99},  # not a person
        {"image_id": 2, "category_id": 1, "bbox": [50, 10, 40, 60], "score": 0.5},
        {"image_id": 2, "category_id": 1, "bbox": [5, 10, 40, 60], "score": 0.6},
    ]
    det_file = tmp_path / "dets.json"
    det_file.write_text(json.dumps(dets))
    ann = {"images": [{"id": i, "file_name": n, "width": 100, "height": 80} for i, n in names.items()],
           "annotations": [], "categories": [{"id": 1, "name": "person", "keypoints": [], "skeleton": []}]}
    ann_file = tmp_path / "ann.json"
    ann_file.write_text(json.dumps(ann))
    return folder, det_file, ann_file


@pytest.mark.parametrize("with_ann", [False, True])
def test_detection_file_boxes_and_coco_results(tmp_path, rng, td_model, with_ann):
    folder, det_file, ann_file = _coco_files(tmp_path, rng)
    kwargs = dict(det_ann_file=str(ann_file), img_prefix=str(folder)) if with_ann else {}
    inf = PoseInferencer(td_model, device="cpu", det_file=str(det_file), **kwargs)
    results = inf(str(folder))
    np.testing.assert_array_equal(results[0]["bboxes"], [[10, 10, 50, 70]])
    np.testing.assert_allclose(results[0]["bbox_scores"], [0.9])
    np.testing.assert_array_equal(results[1]["bboxes"], [[5, 10, 45, 70], [50, 10, 90, 70]])  # by score
    assert [r["img_id"] for r in results] == [1, 2]
    out = tmp_path / "coco.json"
    entries = write_coco_results(results, str(out))
    written = json.loads(out.read_text())
    assert written == json.loads(json.dumps(entries)) and len(written) == 3
    first = written[0]
    assert first["image_id"] == 1 and first["category_id"] == 1 and len(first["keypoints"]) == 17 * 3
    np.testing.assert_allclose(first["keypoints"][0::3], results[0]["keypoints"][0, :, 0], atol=1e-4)
    np.testing.assert_allclose(first["keypoints"][2::3], results[0]["keypoint_scores"][0], atol=1e-6)
    s = results[0]["keypoint_scores"][0]
    above = s[s > 0.2]
    assert first["score"] == pytest.approx(0.9 * (above.mean() if above.size else 0.0), rel=1e-5)
    assert first["bbox"] == [10, 10, 40, 60]
    from pycocotools.coco import COCO  # the file loads as detections of the annotation file's images

    with contextlib.redirect_stdout(io.StringIO()):
        loaded = COCO(str(ann_file)).loadRes(str(out))
    assert len(loaded.getAnnIds(imgIds=[2])) == 2
    by_bbox = write_coco_results(results, str(out), [7, 8], score_mode="bbox")
    assert [e["image_id"] for e in by_bbox] == [7, 8, 8] and by_bbox[0]["score"] == pytest.approx(0.9)


def test_model_by_name_builds_and_names_dataset():
    inf = PoseInferencer("rtmpose-t_coco_256x192", device="cpu", model_kwargs={"input_size": (64, 96)})
    assert inf.mode == "topdown" and inf.input_size == (64, 96) and inf.dataset == "coco"
    assert inf.meta["num_keypoints"] == 17


def test_checkpoint_is_loaded(tmp_path, rng):
    src, dst = tiny_topdown(seed=1), tiny_topdown(seed=2)
    path = tmp_path / "w.pt"
    torch.save({"state_dict": src.state_dict()}, path)
    img = _image(rng, 64, 64)
    ours = PoseInferencer(dst, checkpoint=str(path), device="cpu")(img)[0]
    theirs = PoseInferencer(src, device="cpu")(img)[0]
    np.testing.assert_allclose(ours["keypoints"], theirs["keypoints"], atol=1e-5)


def test_errors(tmp_path, td_model, bu_model):
    with pytest.raises(TypeError, match="model_or_name"):
        PoseInferencer(torch.nn.Linear(2, 2), device="cpu")
    with pytest.raises(TypeError, match="model_or_name"):
        PoseInferencer(3, device="cpu")
    inf = PoseInferencer(td_model, device="cpu")
    img = np.zeros((20, 20, 3), np.uint8)
    with pytest.raises(ValueError, match="bboxes"):
        inf(img, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="x2 >= x1"):
        inf(img, [[10, 10, 5, 20]])
    with pytest.raises(FileNotFoundError, match="no such file"):
        inf(str(tmp_path / "missing.png"))
    with pytest.raises(TypeError, match="inputs"):
        inf([img, 5])
    with pytest.raises(ValueError, match="uint8"):
        inf(np.zeros((20, 20, 3), np.float32))
    with pytest.raises(ValueError, match="one entry per input"):
        inf([img, img], bboxes=[None])
    with pytest.raises(ValueError, match="batch_size"):
        PoseInferencer(td_model, device="cpu", batch_size=0)
    bu = PoseInferencer(bu_model, device="cpu", bottomup_size_factor=32)
    with pytest.raises(ValueError, match="top-down"):
        bu(img, [[0, 0, 5, 5]])
    with pytest.raises(ValueError, match="top-down"):
        PoseInferencer(bu_model, device="cpu", det_file=str(tmp_path / "dets.json"))
    with pytest.raises(FileNotFoundError, match="det_file"):
        PoseInferencer(td_model, device="cpu", det_file=str(tmp_path / "dets.json"))
    if not __import__("pyposefast").cuda_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            PoseInferencer(td_model, device="cuda")


def test_drawn_png_has_skeleton_pixels_at_the_keypoints(tmp_path):
    """The inferencer's PNG: keypoint colours (COCO's, RGB -> BGR) at the returned keypoints, the
    0-1 link between them, nothing drawn for keypoints below kpt_thr."""
    from pyposefast.datasets import dataset_meta

    meta = dataset_meta("coco")
    image = spot_image(160, 120, red_xy=(40, 60), green_xy=(120, 60), radius=2)
    inf = PoseInferencer(spot_topdown(), device="cpu", dataset="coco", kpt_thr=0.5)
    (res,) = inf(image, [[20, 20, 140, 100]], vis_out_dir=str(tmp_path), radius=3, thickness=3)
    drawn = cv2.imread(str(tmp_path / "000000.png"))
    for k in range(2):
        x, y = (int(round(float(v))) for v in res["keypoints"][0, k])
        assert tuple(int(c) for c in drawn[y, x]) == tuple(int(c) for c in meta["keypoint_colors"][k][::-1])
    link = meta["skeleton_link_colors"][meta["skeleton_links"].index((0, 1))][::-1]
    mid = res["keypoints"][0].mean(0).round().astype(int)
    assert tuple(int(c) for c in drawn[mid[1], mid[0]]) == tuple(int(c) for c in link)
    # a threshold above the scores: the PNG is the input image
    (res,) = inf(image, [[20, 20, 140, 100]], vis_out_dir=str(tmp_path), kpt_thr=1e9)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "000000.png")), image)


def test_draw_heatmap_stacks_the_overlay(rng, td_model, bu_model):
    img = _image(rng, 80, 60)
    (res,) = PoseInferencer(td_model, device="cpu")(img, [[5, 5, 60, 55]], draw_heatmap=True, return_vis=True)
    vis = res["visualization"]
    assert vis.shape == (120, 80, 3)
    assert not np.array_equal(vis[60:], img)  # the overlay differs from the image inside the crop
    np.testing.assert_array_equal(vis[60:][0, 79], (img[0, 79] * 0.5 + np.array([128, 0, 0]) * 0.5).round())
    (res,) = PoseInferencer(bu_model, device="cpu", bottomup_size_factor=32, bbox_thr=0)(
        img, draw_heatmap=True, return_vis=True)
    assert res["visualization"].shape == (120, 80, 3)


@pytest.mark.cuda
@pytest.mark.skipif(not __import__("pyposefast").cuda_available(), reason="needs a CUDA build and a GPU")
def test_cuda_matches_cpu(rng, td_model, bu_model):
    from .conftest import tiny_bottomup

    # known-answer stubs: the same keypoints on both devices
    spots = [spot_image(160, 120, (40, 60), (120, 30)), spot_image(100, 130, (20, 100), (80, 15))]
    boxes = [np.array([[10, 10, 150, 110]], np.float32), np.array([[0, 0, 100, 130], [10, 5, 90, 120]], np.float32)]
    for make, kw in ((spot_topdown, dict(bboxes=boxes)), (spot_bottomup, {})):
        extra = {} if make is spot_topdown else dict(bottomup_size_factor=32)
        cpu = PoseInferencer(make(), device="cpu", **extra)(spots, **kw)
        gpu = PoseInferencer(make(), device="cuda", **extra)(spots, **kw)
        for c, g in zip(cpu, gpu):
            np.testing.assert_allclose(g["keypoints"], c["keypoints"], atol=0.02)
    # random tiny networks: cuDNN rounding can move a near-tie argmax, so most (not all) keypoints agree
    img = _image(rng)
    box = np.array([[10, 10, 60, 100], [50, 20, 150, 110]], np.float32)
    cpu = PoseInferencer(td_model, device="cpu")(img, box)[0]
    gpu = PoseInferencer(tiny_topdown(), device="cuda")(img, box)[0]
    assert (np.abs(gpu["keypoints"] - cpu["keypoints"]).max(-1) < 0.1).mean() >= 0.9
    cpu = PoseInferencer(bu_model, device="cpu", bottomup_size_factor=32, bbox_thr=0)([img, img[:90]])
    gpu = PoseInferencer(tiny_bottomup(), device="cuda", bottomup_size_factor=32, bbox_thr=0)([img, img[:90]])
    assert len(gpu) == 2 and all(g["keypoints"].shape[1:] == (17, 2) for g in gpu)
    assert sum(len(g["keypoints"]) for g in gpu) > 0


def test_bottomup_padded_tensor_predictions():
    """``predict`` returning padded tensors with counts (``batch_decode_tensors``' layout) gives the
    same results as the per-image lists."""
    from .conftest import SpotBottomup

    class Padded(SpotBottomup):
        def predict(self, x, flip_indices=None, flip_test=None, **_):
            kps, scs, insts = super().predict(x)
            B = len(kps)
            kp = torch.zeros(B, 3, 2, 2)
            kp[:, 0] = torch.from_numpy(np.concatenate(kps))
            sc, inst = torch.zeros(B, 3, 2), torch.zeros(B, 3)
            sc[:, 0], inst[:, 0] = 1.0, 1.0
            return kp, sc, inst, torch.ones(B, dtype=torch.int64)

    images = [spot_image(160, 120, (30, 100), (140, 10)), spot_image(160, 120, (60, 60), (100, 20))]
    lists = PoseInferencer(spot_bottomup(), device="cpu", bottomup_size_factor=32)(images)
    padded = PoseInferencer(Padded().eval(), device="cpu", bottomup_size_factor=32)(images)
    for a, b in zip(lists, padded):
        assert b["keypoints"].shape == (1, 2, 2)
        np.testing.assert_array_equal(a["keypoints"], b["keypoints"])


def test_dataset_for_model_names():
    from pyposefast.apis import dataset_for_model

    assert dataset_for_model("rtmpose-m_coco-wholebody_256x192", None) == "coco_wholebody"
    assert dataset_for_model("hrnetv2-w18_onehand10k_256x256", None) == "onehand10k"
    assert dataset_for_model("rtmpose-m_face-wflw_256x256", None) == "wflw"
    assert dataset_for_model("rtmpose-m_hand_256x256", None) == "onehand10k"
    assert dataset_for_model(None, 133) == "coco_wholebody" and dataset_for_model(None, 5) is None
