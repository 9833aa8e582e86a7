"""warp_affine: CPU kernel vs CUDA kernel vs NumPy baseline vs cv2.warpAffine; ragged batches,
borders, degenerate matrices, errors, opcheck, gradcheck, torch.compile."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from pyposefast import baseline, ops
from pyposefast.datasets.ragged import RaggedImages, collate_images
from tests.conftest import DEVICES, requires_cuda

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


def random_matrices(rng, n, out_w, out_h, sizes, inside=True):
    """Forward matrices of boxes over images of the given (H, W): random centre, scale, rotation."""
    mats = []
    for i in range(n):
        H, W = sizes[i % len(sizes)]
        cx = rng.uniform(-0.2 * W, 1.2 * W) if not inside else rng.uniform(0, W)
        cy = rng.uniform(-0.2 * H, 1.2 * H) if not inside else rng.uniform(0, H)
        s = out_w / max(1.0, rng.uniform(0.2, 1.5) * W)
        t = np.deg2rad(rng.uniform(-80, 80))
        R = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) * s
        mats.append(np.hstack([R, (np.array([out_w / 2, out_h / 2]) - R @ np.array([cx, cy]))[:, None]]))
    return np.stack(mats)


def make_batch(rng, sizes, C=3, dtype=np.uint8):
    if dtype == np.uint8:
        return [rng.integers(0, 256, (h, w, C), dtype=np.uint8) for h, w in sizes]
    return [rng.uniform(0, 255, (h, w, C)).astype(dtype) for h, w in sizes]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("options", [
    dict(),
    dict(mean=MEAN, std=STD),
    dict(mean=MEAN, std=STD, bgr_to_rgb=True),
    dict(flip=True, border_value=17.0),
    dict(bgr_to_rgb=True, flip=True, mean=MEAN, std=STD, border_value=-3.0),
])
@pytest.mark.parametrize("in_dtype", [np.uint8, np.float32])
def test_matches_baseline_ragged(device, options, in_dtype):
    rng = np.random.default_rng(len(str(options)) + (0 if in_dtype == np.uint8 else 100))
    sizes = [(48, 64), (1, 1), (33, 17), (120, 90), (2, 3)]
    imgs = make_batch(rng, sizes, dtype=in_dtype)
    mats = random_matrices(rng, 11, 24, 32, sizes, inside=False)
    index = np.arange(11) % len(sizes)
    ragged = RaggedImages.from_images(imgs).to(device)
    out = ops.warp_affine(ragged, torch.from_numpy(mats).to(device), (24, 32),
                          image_index=torch.from_numpy(index).to(device), **options)
    ref = baseline.warp_affine(imgs, mats, (24, 32), image_index=index, **options)
    assert out.shape == (11, 3, 32, 24) and out.dtype == torch.float32 and out.device.type == device
    assert torch.isfinite(out).all()
    np.testing.assert_allclose(out.cpu().numpy(), ref, rtol=1e-5, atol=2e-3 if "mean" not in options else 4e-5)


@pytest.mark.parametrize("device", DEVICES)
def test_matches_cv2_within_one_grey_level(device):
    rng = np.random.default_rng(1)
    sizes = [(480, 640), (50, 40), (1, 1)]
    imgs = make_batch(rng, sizes)
    mats = random_matrices(rng, 9, 192, 256, sizes, inside=False)
    index = np.arange(9) % 3
    out = ops.warp_affine(RaggedImages.from_images(imgs).to(device), torch.from_numpy(mats).to(device), (192, 256),
                          image_index=torch.from_numpy(index).to(device))
    for n in range(9):
        ref = cv2.warpAffine(imgs[index[n]], mats[n], (192, 256), flags=cv2.INTER_LINEAR).astype(np.float32)
        ours = out[n].permute(1, 2, 0).cpu().numpy()
        assert np.abs(np.floor(ours + 0.5) - ref).max() <= 1.0


@pytest.mark.parametrize("device", DEVICES)
def test_dense_batch_and_dtypes(device):
    rng = np.random.default_rng(2)
    imgs = rng.integers(0, 256, (4, 40, 30, 3), dtype=np.uint8)
    mats = random_matrices(rng, 4, 16, 20, [(40, 30)])
    dense = torch.from_numpy(imgs).to(device)
    ref = ops.warp_affine(RaggedImages.from_images(list(imgs)).to(device), torch.from_numpy(mats).to(device), (16, 20))
    out = ops.warp_affine(dense, torch.from_numpy(mats).to(device), (16, 20))
    torch.testing.assert_close(out, ref)
    # float32 matrices are accepted (computed in float64 after rounding: positions move by ~1e-6 px)
    out32 = ops.warp_affine(dense, torch.from_numpy(mats).float().to(device), (16, 20))
    torch.testing.assert_close(out32, ref, rtol=0, atol=1e-2)
    for dt in (torch.float16, torch.bfloat16):
        low = ops.warp_affine(dense, torch.from_numpy(mats).to(device), (16, 20), out_dtype=dt)
        assert low.dtype == dt
        torch.testing.assert_close(low.float(), ref, rtol=1e-2, atol=1.0)


@pytest.mark.parametrize("device", DEVICES)
def test_degenerate_and_outside_boxes_give_border(device):
    img = torch.full((1, 10, 10, 3), 200, dtype=torch.uint8, device=device)
    zero_width = torch.tensor([[[np.inf, 0, 0], [0, 1.0, 0]]], dtype=torch.float64, device=device)
    singular = torch.tensor([[[1.0, 2.0, 0], [2.0, 4.0, 0]]], dtype=torch.float64, device=device)
    nan = torch.full((1, 2, 3), float("nan"), dtype=torch.float64, device=device)
    far = torch.tensor([[[1.0, 0, 1e6], [0, 1.0, 0]]], dtype=torch.float64, device=device)
    for m in (zero_width, singular, nan, far):
        out = ops.warp_affine(img, m, (8, 6), mean=[1, 2, 3], std=[2, 2, 2], border_value=5.0)
        assert torch.isfinite(out).all()
        expected = (torch.tensor([5.0, 5.0, 5.0], device=device) - torch.tensor([1.0, 2.0, 3.0], device=device)) / 2
        torch.testing.assert_close(out, expected.view(1, 3, 1, 1).expand(1, 3, 6, 8))


@pytest.mark.parametrize("device", DEVICES)
def test_empty_batches(device):
    img = torch.zeros(2, 5, 5, 3, dtype=torch.uint8, device=device)
    out = ops.warp_affine(img, torch.zeros(0, 2, 3, device=device), (8, 6), image_index=torch.zeros(0, dtype=torch.long, device=device))
    assert out.shape == (0, 3, 6, 8)
    empty = RaggedImages.from_images([])
    out = ops.warp_affine(empty.to(device), torch.zeros(0, 2, 3, device=device), (4, 4),
                          image_index=torch.zeros(0, dtype=torch.long, device=device))
    assert out.shape == (0, 3, 4, 4)


@pytest.mark.parametrize("device", DEVICES)
def test_large_image_in_ragged_batch(device):
    rng = np.random.default_rng(3)
    big = rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
    small = rng.integers(0, 256, (1, 1, 3), dtype=np.uint8)
    mats = np.stack([random_matrices(rng, 1, 64, 64, [(3000, 4000)])[0], random_matrices(rng, 1, 64, 64, [(1, 1)])[0]])
    out = ops.warp_affine(RaggedImages.from_images([big, small]).to(device), torch.from_numpy(mats).to(device),
                          (64, 64), image_index=torch.tensor([0, 1], device=device))
    for n, img in enumerate([big, small]):
        ref = cv2.warpAffine(img, mats[n], (64, 64), flags=cv2.INTER_LINEAR).astype(np.float32)
        assert np.abs(np.floor(out[n].permute(1, 2, 0).cpu().numpy() + 0.5) - ref).max() <= 1.0


def test_errors_name_the_argument():
    img = torch.zeros(2, 5, 5, 3, dtype=torch.uint8)
    m = torch.eye(2, 3).expand(2, 2, 3).contiguous()
    with pytest.raises(TypeError, match="images must be a Tensor"):
        ops.warp_affine(np.zeros((2, 5, 5, 3)), m, (4, 4))
    with pytest.raises(ValueError, match=r"images must be \[B, H, W, C\]"):
        ops.warp_affine(img[0], m, (4, 4))
    with pytest.raises(TypeError, match="images must be uint8, float32 or float64"):
        ops.warp_affine(img.to(torch.int32), m, (4, 4))
    with pytest.raises(ValueError, match=r"matrices must be \[N, 2, 3\]"):
        ops.warp_affine(img, m[:, :, :2], (4, 4))
    with pytest.raises(ValueError, match="one row per image"):
        ops.warp_affine(img, m[:1], (4, 4))
    with pytest.raises(IndexError, match=r"image_index values must be in \[0, 2\)"):
        ops.warp_affine(img, m, (4, 4), image_index=torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="image_index must be an integer tensor"):
        ops.warp_affine(img, m, (4, 4), image_index=torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="output_size must be a pair"):
        ops.warp_affine(img, m, (4, 0))
    with pytest.raises(ValueError, match="mean and std must be given together"):
        ops.warp_affine(img, m, (4, 4), mean=MEAN)
    with pytest.raises(ValueError, match=r"mean must have one value per channel \(3\)"):
        ops.warp_affine(img, m, (4, 4), mean=[1, 2], std=[1, 2])
    with pytest.raises(ValueError, match="std must be non-zero"):
        ops.warp_affine(img, m, (4, 4), mean=MEAN, std=[1, 0, 1])
    with pytest.raises(TypeError, match="out_dtype must be one of"):
        ops.warp_affine(img, m, (4, 4), out_dtype=torch.int32)
    bad = RaggedImages(torch.zeros(10, dtype=torch.uint8), torch.tensor([0, 5]), torch.tensor([[2, 2], [2, 2]]), 3)
    with pytest.raises(ValueError, match="point outside images.data"):
        ops.warp_affine(bad, m, (4, 4))
    with pytest.raises(ValueError, match="one channel count and dtype per batch"):
        RaggedImages.from_images([np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2, 1), np.uint8)])


def test_kernel_guards_bad_metadata_without_crashing():
    """Direct torch.ops calls with inconsistent metadata read nothing out of bounds (border crops)."""
    data = torch.arange(12, dtype=torch.uint8)
    out = torch.ops.pyposefast.warp_affine(
        data, torch.tensor([0, 100]), torch.tensor([[2, 2], [2, 2]]), torch.tensor([1, 5, -1]),
        torch.eye(2, 3, dtype=torch.float64).expand(3, 2, 3).contiguous(), 3, 4, 4,
        torch.empty(0), torch.empty(0), False, False, 0.0, torch.float32)
    assert torch.all(out == 0)


@pytest.mark.parametrize("device", DEVICES)
def test_gradcheck(device):
    rng = np.random.default_rng(4)
    imgs = [torch.tensor(rng.uniform(0, 1, (6, 7, 2)), dtype=torch.float64, device=device) for _ in range(2)]
    ragged = RaggedImages.from_images(imgs)
    data = ragged.data.clone().requires_grad_(True)
    mats = torch.from_numpy(random_matrices(rng, 3, 5, 4, [(6, 7)], inside=False)).to(device)
    index = torch.tensor([0, 1, 0], device=device)

    def fn(d):
        r = RaggedImages(d, ragged.offsets.to(device), ragged.sizes.to(device), 2)
        return ops.warp_affine(r, mats, (5, 4), image_index=index, mean=[0.1, 0.2], std=[0.5, 2.0],
                               bgr_to_rgb=True, flip=True, out_dtype=torch.float64)

    assert torch.autograd.gradcheck(fn, (data,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device):
    rng = np.random.default_rng(5)
    imgs = make_batch(rng, [(9, 8), (5, 6)], C=3, dtype=np.float32)
    ragged = RaggedImages.from_images(imgs).to(device)
    mats = torch.from_numpy(random_matrices(rng, 3, 4, 5, [(9, 8), (5, 6)], inside=False)).to(device)
    idx = torch.tensor([0, 1, 1], device=device)
    mean = torch.tensor(MEAN, device=device)
    std = torch.tensor(STD, device=device)
    for data in (ragged.data, ragged.data.to(torch.uint8), ragged.data.double().requires_grad_(True)):
        for m_, s_ in ((mean, std), (torch.empty(0, device=device), torch.empty(0, device=device))):
            out_dtype = torch.float64 if data.dtype == torch.float64 else torch.float32
            torch.library.opcheck(torch.ops.pyposefast.warp_affine,
                                  (data, ragged.offsets, ragged.sizes, idx, mats, 3, 4, 5, m_, s_, True, False, 0.0, out_dtype))


@pytest.mark.parametrize("device", DEVICES)
def test_torch_compile_fullgraph(device):
    rng = np.random.default_rng(6)
    imgs = torch.from_numpy(rng.integers(0, 256, (3, 20, 30, 3), dtype=np.uint8)).to(device)
    mats = torch.from_numpy(random_matrices(rng, 3, 8, 8, [(20, 30)])).float().to(device)

    def crops(images, matrices):
        return ops.warp_affine(images, matrices, (8, 8), mean=MEAN, std=STD, bgr_to_rgb=True) * 2.0

    compiled = torch.compile(crops, fullgraph=True, backend="inductor" if device == "cuda" else "aot_eager")
    torch.testing.assert_close(compiled(imgs, mats), crops(imgs, mats))


def test_collate_and_pinning_roundtrip():
    rng = np.random.default_rng(7)
    imgs = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for h, w in [(4, 5), (7, 2)]]
    batch = collate_images(imgs)
    assert len(batch) == 2 and batch.channels == 3
    for b, im in enumerate(imgs):
        assert np.array_equal(batch.image(b).numpy(), im)


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("in_dtype", [np.uint8, np.float32])
def test_cuda_matches_cpu_kernel(in_dtype):
    rng = np.random.default_rng(8)
    sizes = [(480, 640), (1, 1), (100, 37)]
    imgs = make_batch(rng, sizes, dtype=in_dtype)
    mats = torch.from_numpy(random_matrices(rng, 20, 48, 64, sizes, inside=False))
    idx = torch.arange(20) % 3
    ragged = RaggedImages.from_images(imgs)
    for kw in (dict(), dict(mean=MEAN, std=STD, bgr_to_rgb=True, flip=True)):
        cpu = ops.warp_affine(ragged, mats, (48, 64), image_index=idx, **kw)
        gpu = ops.warp_affine(ragged.to("cuda"), mats.cuda(), (48, 64), image_index=idx.cuda(), **kw)
        torch.testing.assert_close(gpu.cpu(), cpu, rtol=1e-5, atol=1e-4)


@requires_cuda
@pytest.mark.cuda
def test_cuda_backward_matches_cpu():
    rng = np.random.default_rng(9)
    imgs = make_batch(rng, [(30, 40), (10, 12)], dtype=np.float32)
    ragged = RaggedImages.from_images(imgs)
    mats = torch.from_numpy(random_matrices(rng, 5, 16, 16, [(30, 40), (10, 12)], inside=False))
    idx = torch.tensor([0, 1, 0, 1, 0])
    grads = []
    for dev in ("cpu", "cuda"):
        data = ragged.data.detach().clone().to(dev).requires_grad_(True)
        r = RaggedImages(data, ragged.offsets.to(dev), ragged.sizes.to(dev), 3)
        out = ops.warp_affine(r, mats.to(dev), (16, 16), image_index=idx.to(dev), mean=MEAN, std=STD)
        (out * torch.linspace(-1, 1, out.numel(), device=dev).view_as(out)).sum().backward()
        grads.append(data.grad.cpu())
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-5)
