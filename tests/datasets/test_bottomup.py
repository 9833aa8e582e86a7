"""The batched bottom-up (AE) pipeline against MMPose's per-sample transforms on fixed draws."""

import numpy as np
import pytest
import torch

from pyposefast.codecs import AssociativeEmbedding
from pyposefast.datasets import dataset_meta
from pyposefast.datasets.bottomup import (BottomupBatchPipeline, BottomupCollate, BottomupDecodeDataset,
                                          BottomupRandomAffine, BottomupResize)
from pyposefast.datasets.pipeline import IMAGENET_MEAN, IMAGENET_STD

cv2 = pytest.importorskip("cv2")
META = dataset_meta("coco")
SIZE = (64, 64)


def _records(tmp_path, rng):
    recs = []
    for b, (h, w) in enumerate(((72, 96), (80, 80), (60, 90))):
        img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        img = cv2.GaussianBlur(img, (5, 5), 2.0)  # smooth: bilinear rounding differences stay small
        path = str(tmp_path / f"{b}.png")
        cv2.imwrite(path, img)
        n = b + 1
        kp = rng.uniform(0, min(h, w), (n, 17, 2)).astype(np.float32)
        vis = (rng.uniform(size=(n, 17)) > 0.3).astype(np.float32)
        segs = [[[5.0, 5.0, 30.0, 8.0, 25.0, 30.0, 6.0, 28.0]]] if b != 1 else []
        recs.append({"img_path": path, "img_shape": (h, w), "keypoints": kp, "keypoints_visible": vis,
                     "invalid_segs": segs})
    return recs


def _mmpose_sample(rec, params, flip, codec_args, mode):
    from mmpose.codecs import AssociativeEmbedding as MMAE
    from mmpose.datasets.transforms import (BottomupGetHeatmapMask, BottomupRandomAffine as MMAffine,
                                            GenerateTarget, RandomFlip)

    import mmpose.datasets.transforms.bottomup_transforms as mm_bottomup
    from pycocotools import mask as cocomask

    mm_bottomup.cocomask = cocomask  # its xtcocotools build fails under NumPy 2; same API
    img = cv2.imread(rec["img_path"], cv2.IMREAD_COLOR)
    r = {"img": img, "img_shape": img.shape[:2], "keypoints": rec["keypoints"].copy(),
         "keypoints_visible": rec["keypoints_visible"].copy(), "flip_indices": META["flip_indices"],
         "invalid_segs": rec["invalid_segs"]}
    aff = MMAffine(input_size=SIZE, transform_mode=mode)
    aff._get_transform_params = lambda: params
    fl = RandomFlip(prob=1.0 if flip else 0.0, direction="horizontal")
    fl._choose_direction = lambda: "horizontal" if flip else None
    for t in (aff, fl, GenerateTarget(encoder=dict(type="AssociativeEmbedding", **codec_args)),
              BottomupGetHeatmapMask()):
        r = t(r)
    assert MMAE  # the registry entry GenerateTarget builds
    return r


@pytest.mark.parity
@pytest.mark.parametrize("mode", ["affine", "affine_udp"])
def test_train_pipeline_matches_mmpose_on_fixed_draws(tmp_path, mode):
    pytest.importorskip("mmpose")
    recs = _records(tmp_path, np.random.default_rng(0))
    codec_args = dict(input_size=SIZE, heatmap_size=(16, 16), sigma=2.0, use_udp=mode == "affine_udp")
    codec = AssociativeEmbedding(SIZE, (16, 16), 2.0, use_udp=mode == "affine_udp")
    pipe = BottomupBatchPipeline(SIZE, codec, flip_indices=META["flip_indices"],
                                 affine=BottomupRandomAffine(SIZE, transform_mode=mode))
    ds = BottomupDecodeDataset(recs)
    batch = BottomupCollate(recs)([ds[i] for i in range(len(recs))])
    draws = torch.rand(len(recs), 8, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    draws[:, 7] = torch.tensor([0.1, 0.9, 0.2], dtype=torch.float64)  # flip images 0 and 2
    out = pipe(batch, draws)
    offset, scale, rotate = pipe.affine.params_from_draws(draws[:, :7])
    mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
    for b, rec in enumerate(recs):
        params = (offset[b].numpy().astype(np.float32), scale[b:b + 1].numpy().astype(np.float32),
                  float(rotate[b]), np.zeros(2, np.float32))
        ref = _mmpose_sample(rec, params, bool(out["flip"][b]), codec_args, mode)
        np.testing.assert_allclose(out["warp_mat"][b].numpy(), _flip_mat(ref["warp_mat"], bool(out["flip"][b])),
                                   atol=1e-4)
        img = ref["img"][..., ::-1].astype(np.float64)
        np.testing.assert_allclose(out["inputs"][b].numpy(), ((img - mean) / std).transpose(2, 0, 1), atol=0.03)
        n = len(rec["keypoints"])
        np.testing.assert_allclose(out["keypoints"][b, :n].numpy(), ref["keypoints"], atol=1e-3)
        np.testing.assert_array_equal(out["keypoints_visible"][b, :n].numpy(), ref["keypoints_visible"])
        np.testing.assert_allclose(out["heatmaps"][b].numpy(), ref["heatmaps"], atol=1e-3)
        np.testing.assert_array_equal(out["keypoint_indices"][b, :n].numpy(), ref["keypoint_indices"])
        assert not out["keypoint_indices"][b, n:, :, 1].any()  # padding rows invisible
        agree = (out["heatmap_mask"][b].numpy() == ref["heatmap_mask"]).mean()
        assert agree > 0.98, agree
    assert not out["heatmap_mask"][0].all()  # the polygon is masked out


def _flip_mat(mat, flip):
    m = np.asarray(mat, np.float64).copy()
    if flip:
        m[0] = -m[0]
        m[0, 2] += SIZE[0] - 1
    return m


@pytest.mark.parity
@pytest.mark.parametrize("mode,use_udp", [("fit", False), ("expand", False), ("fit", True)])
def test_validation_resize_matches_mmpose(tmp_path, mode, use_udp):
    pytest.importorskip("mmpose")
    from mmpose.datasets.transforms import BottomupResize as MMResize

    recs = _records(tmp_path, np.random.default_rng(1))
    pipe = BottomupBatchPipeline(SIZE, None, train=False, resize=BottomupResize(SIZE, 32, mode, use_udp))
    ds = BottomupDecodeDataset(recs, with_masks=False)
    batch = BottomupCollate(recs)([ds[i] for i in range(len(recs))])
    out = pipe(batch)
    for b, rec in enumerate(recs):
        img = cv2.imread(rec["img_path"], cv2.IMREAD_COLOR)
        ref = MMResize(input_size=SIZE, size_factor=32, resize_mode=mode, use_udp=use_udp)(
            {"img": img, "ori_shape": img.shape[:2]})
        w, h = ref["input_size"]
        assert tuple(out["input_size"][b].tolist()) == (w, h)
        np.testing.assert_allclose(out["input_center"][b].numpy(), ref["input_center"])
        np.testing.assert_allclose(out["input_scale"][b].numpy(), ref["input_scale"])
        mean, std = np.array(IMAGENET_MEAN), np.array(IMAGENET_STD)
        want = ((ref["img"][..., ::-1].astype(np.float64) - mean) / std).transpose(2, 0, 1)
        np.testing.assert_allclose(out["inputs"][b, :, :h, :w].numpy(), want, atol=0.03)


def test_affine_params_and_aspect():
    aff = BottomupRandomAffine((64, 32), shift_prob=0.0, scale_prob=0.0, rotate_prob=0.0)
    u = torch.rand(4, 7, dtype=torch.float64)
    offset, scale, rotate = aff.params_from_draws(u)
    assert not offset.any() and bool((scale == 1).all()) and not rotate.any()
    region = aff.fix_aspect_ratio(torch.tensor([[100.0, 100.0]], dtype=torch.float64))
    assert region.tolist() == [[100.0, 50.0]]  # short: the relatively shorter side (width) stays
    long = BottomupRandomAffine((64, 32), scale_type="long").fix_aspect_ratio(torch.tensor([[100.0, 100.0]]))
    assert long.tolist() == [[200.0, 100.0]]
    with pytest.raises(ValueError, match="transform_mode"):
        BottomupRandomAffine((64, 64), transform_mode="perspective")
    with pytest.raises(ValueError, match="multiples of size_factor"):
        BottomupResize((60, 64))
    with pytest.raises(ValueError, match="flip_indices is required"):
        BottomupBatchPipeline((64, 64))


def test_empty_images_and_no_masks(tmp_path):
    recs = _records(tmp_path, np.random.default_rng(2))
    recs[1] = dict(recs[1], keypoints=np.zeros((0, 17, 2), np.float32), keypoints_visible=np.zeros((0, 17)))
    ds = BottomupDecodeDataset(recs, with_masks=False)
    batch = BottomupCollate(recs)([ds[i] for i in range(3)])
    assert batch.valid_masks is None and batch.keypoints.shape == (3, 3, 17, 2)
    assert batch.instance_valid.sum(1).tolist() == [1, 0, 3]
    pipe = BottomupBatchPipeline(SIZE, AssociativeEmbedding(SIZE, (16, 16), 2.0), flip_indices=META["flip_indices"])
    out = pipe(batch, generator=torch.Generator().manual_seed(0))
    assert out["heatmaps"].shape == (3, 17, 16, 16) and out["heatmap_mask"].shape == (3, 16, 16)
    assert not out["keypoint_indices"][1, :, :, 1].any() and float(out["heatmaps"][1].max()) == 0.0


def test_loader_on_synthetic_bottomup_records(tmp_path):
    from pyposefast.datasets import DevicePrefetcher, generate_synthetic_coco, load_coco_keypoints
    from pyposefast.datasets.bottomup import build_bottomup_loader

    p = generate_synthetic_coco(str(tmp_path), num_train=3, num_val=1, image_size=(96, 72), seed=4, max_people=3)
    recs = load_coco_keypoints(p["train_ann"], p["train_img_prefix"], mode="bottomup").records
    pipe = BottomupBatchPipeline(SIZE, AssociativeEmbedding(SIZE, (16, 16), 2.0), flip_indices=META["flip_indices"])
    seen = 0
    for batch in DevicePrefetcher(build_bottomup_loader(recs, 2, 1, shuffle=False), "cpu"):
        assert batch.images.data.is_shared() and batch.valid_masks is not None
        out = pipe(batch, generator=torch.Generator().manual_seed(1))
        assert out["inputs"].shape == (len(batch), 3, 64, 64)
        assert int(out["keypoint_indices"][..., 1].sum()) > 0  # some visible keypoints land on the map
        seen += len(batch)
    assert seen == len(recs)


@pytest.mark.cuda
def test_cuda_matches_cpu(tmp_path):
    from tests.conftest import CUDA

    if not CUDA:
        pytest.skip("needs a CUDA build of pyposefast and a visible GPU")
    recs = _records(tmp_path, np.random.default_rng(5))
    ds = BottomupDecodeDataset(recs)
    batch = BottomupCollate(recs)([ds[i] for i in range(len(recs))])
    pipe = BottomupBatchPipeline(SIZE, AssociativeEmbedding(SIZE, (16, 16), 2.0), flip_indices=META["flip_indices"])
    draws = BottomupBatchPipeline.draw(len(recs), generator=torch.Generator().manual_seed(9))
    cpu = pipe(batch, draws)
    gpu = pipe(batch.to("cuda"), draws.cuda())
    for key in ("inputs", "keypoints", "heatmaps", "warp_mat"):
        np.testing.assert_allclose(gpu[key].cpu().numpy(), cpu[key].numpy(), atol=1e-3, err_msg=key)
    assert torch.equal(gpu["keypoint_indices"].cpu(), cpu["keypoint_indices"])
    assert (gpu["heatmap_mask"].cpu() == cpu["heatmap_mask"]).float().mean() > 0.99
