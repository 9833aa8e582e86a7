"""COCO-style keypoint reader and detection-box reader on tiny fixture files."""

import json

import numpy as np
import pytest

from pyposefast.datasets import AnnotationError, invalid_region_mask, load_coco_keypoints, load_detection_boxes


def _kps(k=3, v=2, x0=10.0):
    return [float(v_) for i in range(k) for v_ in (x0 + i, 20.0 + i, v)]


def _fixture(tmp_path, anns=None, images=None, name="ann.json"):
    images = images if images is not None else [
        dict(id=1, file_name="a.jpg", width=100, height=80),
        dict(id=2, file_name="b.jpg", width=50, height=40),
        dict(id=3, file_name="c.jpg", width=50, height=40),
    ]
    if anns is None:
        anns = [
            dict(id=10, image_id=1, category_id=1, bbox=[-5, 5, 200, 30], keypoints=_kps(), num_keypoints=3,
                 iscrowd=0, area=100.0, segmentation=[[0, 0, 10, 0, 10, 10, 0, 10]]),
            dict(id=11, image_id=1, category_id=1, bbox=[20, 20, 10, 10], keypoints=[0.0] * 9, num_keypoints=0,
                 iscrowd=0, segmentation=[[20, 20, 30, 20, 30, 30, 20, 30]]),
            dict(id=12, image_id=1, category_id=1, bbox=[40, 40, 10, 10], keypoints=[0.0] * 9, num_keypoints=0,
                 iscrowd=1, segmentation={"size": [80, 100], "counts": [4040, 5, 3955]}),
            dict(id=13, image_id=2, category_id=1, bbox=[1, 2, 3, 4], keypoints=_kps(v=1, x0=1.0)),
        ]
    p = tmp_path / name
    p.write_text(json.dumps(dict(images=images, annotations=anns, categories=[dict(id=1, name="person")])))
    return str(p)


def test_topdown_records_match_mmpose_rules(tmp_path):
    ann = _fixture(tmp_path)
    data = load_coco_keypoints(ann, "imgs", num_keypoints=3)
    assert [r["id"] for r in data.records] == [10, 13]  # no-keypoint and crowd instances dropped
    r = data[0]
    np.testing.assert_array_equal(r["bbox"], np.array([[0, 5, 99, 35]], np.float32))  # clipped to W-1
    assert r["keypoints"].shape == (1, 3, 2) and r["keypoints_visible"].tolist() == [[1, 1, 1]]
    assert r["img_path"].endswith("imgs/a.jpg") and r["img_shape"] == (80, 100)
    r2 = data[1]
    assert r2["num_keypoints"] == 3  # counted when absent
    np.testing.assert_allclose(r2["area"], max(3 * 4 * 0.53, 1.0), rtol=1e-6)
    unfiltered = load_coco_keypoints(ann, filter_invalid=False)
    assert len(unfiltered) == 4


def test_bottomup_groups_instances_and_masks_crowds(tmp_path):
    ann = _fixture(tmp_path)
    data = load_coco_keypoints(ann, mode="bottomup")
    assert [r["img_id"] for r in data.records] == [1, 2]
    r = data[0]
    assert r["keypoints"].shape == (3, 3, 2) and r["bbox"].shape == (3, 4) and r["id"] == [10, 11, 12]
    assert len(r["invalid_segs"]) == 2  # the keypoint-less person and the crowd
    mask = invalid_region_mask(r["invalid_segs"], r["img_shape"])
    assert mask.shape == (80, 100) and mask[25, 25] == 1 and mask[2, 2] == 0
    assert mask.sum() > 100  # polygon + crowd RLE
    assert len(load_coco_keypoints(ann, mode="bottomup", include_empty_images=True)) == 3


@pytest.mark.parametrize(
    "mutate, match",
    [
        (lambda a: a.__setitem__(0, dict(a[0], image_id=99)), r"annotations\[0\] \(id=10\): image_id 99 is not in"),
        (lambda a: a.__setitem__(1, dict(a[1], bbox=[1, 2])), r"annotations\[1\] \(id=11\): bbox must be 4"),
        (lambda a: a.__setitem__(3, dict(a[3], keypoints=[1.0, 2.0])), r"annotations\[3\] \(id=13\): keypoints must"),
        (lambda a: a.__setitem__(0, dict(a[0], keypoints=[0.0] * 12)), r"annotations\[0\] \(id=10\): has 4 keypoints"),
        (lambda a: a.__setitem__(2, "junk"), r"annotations\[2\]: not an object"),
    ],
)
def test_bad_records_name_file_and_record(tmp_path, mutate, match):
    ann = _fixture(tmp_path)
    d = json.loads(open(ann).read())
    mutate(d["annotations"])
    open(ann, "w").write(json.dumps(d))
    with pytest.raises(AnnotationError, match="ann.json: " + match):
        load_coco_keypoints(ann, num_keypoints=3)
    data = load_coco_keypoints(ann, num_keypoints=3, skip_bad=True, filter_invalid=False)
    assert len(data.skipped) == 1 and len(data) == 3


def test_malformed_files(tmp_path):
    p = tmp_path / "broken.json"
    p.write_text("{not json")
    with pytest.raises(AnnotationError, match="broken.json: not valid JSON"):
        load_coco_keypoints(str(p))
    p.write_text(json.dumps({"images": []}))
    with pytest.raises(AnnotationError, match="broken.json: 'annotations' is missing"):
        load_coco_keypoints(str(p))
    with pytest.raises(AnnotationError, match="missing.json: file does not exist"):
        load_coco_keypoints(str(tmp_path / "missing.json"))
    bad_img = _fixture(tmp_path, images=[dict(id=1, file_name="a.jpg", width=0, height=5)], anns=[], name="i.json")
    with pytest.raises(AnnotationError, match=r"i.json: images\[0\] \(id=1\): width/height"):
        load_coco_keypoints(bad_img)


def test_missing_image_file(tmp_path):
    ann = _fixture(tmp_path)
    (tmp_path / "a.jpg").write_bytes(b"x")
    with pytest.raises(AnnotationError, match=r"ann.json: images\[1\] \(id=2\): image file .*b.jpg does not exist"):
        load_coco_keypoints(ann, str(tmp_path), check_images=True)
    data = load_coco_keypoints(ann, str(tmp_path), check_images=True, skip_bad=True)
    # images 2 and 3 skipped; the annotation of image 2 then names a missing image: skipped too
    assert len(data.skipped) == 3 and [r["id"] for r in data.records] == [10]


def test_detection_boxes(tmp_path):
    ann = _fixture(tmp_path)
    dets = [dict(image_id=1, category_id=1, bbox=[1, 2, 10, 20], score=0.9),
            dict(image_id=2, category_id=2, bbox=[1, 2, 10, 20], score=0.9),
            dict(image_id=2, category_id=1, bbox=[0, 0, 5, 5], score=0.1)]
    p = tmp_path / "dets.json"
    p.write_text(json.dumps(dets))
    data = load_detection_boxes(str(p), ann, num_keypoints=3)
    assert len(data) == 2
    np.testing.assert_array_equal(data[0]["bbox"], [[1, 2, 11, 22]])
    assert data[0]["keypoints"].shape == (1, 3, 2) and data[1]["id"] == 1
    assert len(load_detection_boxes(str(p), ann, 3, score_thr=0.5)) == 1
    p.write_text(json.dumps(dets + [dict(image_id=7, category_id=1, bbox=[0, 0, 1, 1], score=1.0)]))
    with pytest.raises(AnnotationError, match=r"dets.json: \[3\]: image_id 7 is not in"):
        load_detection_boxes(str(p), ann, 3)
    p.write_text(json.dumps({"x": 1}))
    with pytest.raises(AnnotationError, match="dets.json: expected a list"):
        load_detection_boxes(str(p), ann, 3)
