"""OKS-NMS ops: CPU kernel vs CUDA kernel vs NumPy baseline, empty inputs, errors, opcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast import baseline, ops
from tests.conftest import DEVICES, requires_cuda

SIGMAS = np.array([0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107,
                   0.087, 0.087, 0.089, 0.089])


def make_inputs(rng, B, N, K, ties=True):
    """Clusters of near-duplicate poses per image, some equal scores, random valid counts."""
    centers = rng.uniform(0, 300, (B, 3, 1, 2))
    kp = (centers[:, rng.integers(0, 3, N)] + rng.normal(0, 4, (B, N, K, 2))).astype(np.float32)
    scores = rng.uniform(size=(B, N))
    if ties and N > 3:
        scores[:, 1:4] = scores[:, :1]
    areas = rng.uniform(300, 5000, (B, N))
    vis = rng.uniform(size=(B, N, K)).astype(np.float32)
    counts = rng.integers(0, N + 1, B)
    sigmas = SIGMAS[:K] if K <= 17 else rng.uniform(0.02, 0.1, K)
    return kp, scores, areas, vis, counts, sigmas


def _t(x, device):
    return torch.from_numpy(np.ascontiguousarray(x)).to(device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("B,N,K", [(7, 12, 17), (3, 40, 5), (2, 1, 17), (4, 9, 133)])
@pytest.mark.parametrize("thr", [0.3, 0.9])
@pytest.mark.parametrize("vis_thr", [None, 0.4])
def test_oks_nms_matches_baseline(device, B, N, K, thr, vis_thr):
    rng = np.random.default_rng(B * 100 + N + K)
    kp, s, a, v, c, sg = make_inputs(rng, B, N, K)
    keep = ops.oks_nms(_t(kp, device), _t(s, device), _t(a, device), sg, thr, counts=_t(c, device),
                       visibility=_t(v, device), vis_thr=vis_thr)
    want = baseline.oks_nms(kp, s, a, sg, thr, counts=c, visibility=v, vis_thr=vis_thr)
    assert keep.device.type == device and keep.dtype == torch.int64
    np.testing.assert_array_equal(keep.cpu().numpy(), want)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("method", ["gaussian", "linear"])
@pytest.mark.parametrize("B,N,K,max_dets", [(6, 15, 17, 20), (3, 40, 5, 7), (2, 3, 17, 0)])
def test_soft_oks_nms_matches_baseline(device, method, B, N, K, max_dets):
    rng = np.random.default_rng(N * 7 + K)
    kp, s, a, v, c, sg = make_inputs(rng, B, N, K)
    keep, kept = ops.soft_oks_nms(_t(kp, device), _t(s, device), _t(a, device), sg, 0.5, max_dets, method=method,
                                  counts=_t(c, device))
    want_keep, want_kept = baseline.soft_oks_nms(kp, s, a, sg, 0.5, max_dets, method=method, counts=c)
    np.testing.assert_array_equal(keep.cpu().numpy(), want_keep)
    np.testing.assert_allclose(kept.cpu().numpy(), want_kept, rtol=1e-12, atol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_tie_and_nan_order(device):
    kp = torch.zeros(1, 4, 3, 2, device=device)
    kp[0, :, :, 0] = torch.arange(4, device=device).view(4, 1) * 1000.0  # far apart: all kept, in score order
    scores = torch.tensor([[0.5, float("nan"), 0.5, 0.7]], dtype=torch.float64, device=device)
    keep = ops.oks_nms(kp, scores, torch.ones(1, 4, device=device), [0.05] * 3, 0.9)
    assert keep.cpu().tolist() == [[1, 3, 0, 2]]  # NaN first, then by score, ties by lower index


@pytest.mark.parametrize("device", DEVICES)
def test_unbatched_and_identical_poses(device):
    kp = torch.ones(5, 17, 2, device=device) * 100
    scores = torch.tensor([0.1, 0.9, 0.3, 0.9, 0.2], device=device)
    keep = ops.oks_nms(kp, scores, torch.full((5,), 1000.0, device=device), SIGMAS, 0.9)
    assert keep.cpu().tolist() == [1, -1, -1, -1, -1]
    keep, kept = ops.soft_oks_nms(kp, scores, torch.full((5,), 1000.0, device=device), SIGMAS, 0.9, 3)
    assert keep.cpu().tolist() == [1, 3, 2] and kept.shape == (3,)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("shape", [(0, 5, 17), (3, 0, 17), (2, 4, 0)])
def test_empty(device, shape):
    B, N, K = shape
    kp = torch.zeros(B, N, K, 2, device=device)
    s, a = torch.zeros(B, N, device=device), torch.ones(B, N, device=device)
    keep = ops.oks_nms(kp, s, a, np.full(K, 0.05), 0.9)
    assert keep.shape == (B, N)
    if K == 0 and B * N:  # no keypoints: OKS 0 (as MMPose), nothing is suppressed
        assert keep.cpu().tolist() == [list(range(N))] * B
    keep, kept = ops.soft_oks_nms(kp, s, a, np.full(K, 0.05), 0.9, 20)
    assert keep.shape == (B, min(N, 20)) and kept.shape == keep.shape


def test_errors():
    kp = torch.zeros(2, 3, 17, 2)
    s, a = torch.zeros(2, 3), torch.ones(2, 3)
    with pytest.raises(ValueError, match="keypoints must be"):
        ops.oks_nms(torch.zeros(2, 3, 17), s, a, SIGMAS, 0.9)
    with pytest.raises(ValueError, match="scores must have shape"):
        ops.oks_nms(kp, torch.zeros(2, 4), a, SIGMAS, 0.9)
    with pytest.raises(ValueError, match="areas must have shape"):
        ops.oks_nms(kp, s, torch.ones(3), SIGMAS, 0.9)
    with pytest.raises(ValueError, match=r"sigmas must have shape \(17,\)"):
        ops.oks_nms(kp, s, a, SIGMAS[:5], 0.9)
    with pytest.raises(ValueError, match="counts must lie in"):
        ops.oks_nms(kp, s, a, SIGMAS, 0.9, counts=torch.tensor([1, 4]))
    with pytest.raises(TypeError, match="counts must be an integer"):
        ops.oks_nms(kp, s, a, SIGMAS, 0.9, counts=torch.tensor([1.0, 2.0]))
    with pytest.raises(ValueError, match="thr must be a finite"):
        ops.oks_nms(kp, s, a, SIGMAS, float("nan"))
    with pytest.raises(ValueError, match="vis_thr needs visibility"):
        ops.oks_nms(kp, s, a, SIGMAS, 0.9, vis_thr=0.2)
    with pytest.raises(ValueError, match="method must be one of"):
        ops.soft_oks_nms(kp, s, a, SIGMAS, 0.9, method="box")
    with pytest.raises(ValueError, match="max_dets must be"):
        ops.soft_oks_nms(kp, s, a, SIGMAS, 0.9, -1)
    with pytest.raises(TypeError, match="keypoints must be a torch.Tensor"):
        ops.oks_nms(np.zeros((2, 3, 17, 2)), s, a, SIGMAS, 0.9)
    with pytest.raises(RuntimeError, match="scores must be float64"):
        torch.ops.pyposefast.oks_nms(kp, s.float(), a.double(), torch.tensor(SIGMAS), torch.tensor([3, 3]), None,
                                     None, 0.9)


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device):
    rng = np.random.default_rng(3)
    kp, s, a, v, c, sg = make_inputs(rng, 3, 6, 17)
    args = [_t(kp, device), _t(s, device), _t(a, device), _t(sg, device), _t(c, device)]
    torch.library.opcheck(torch.ops.pyposefast.oks_nms, (*args, _t(v, device), 0.3, 0.5))
    torch.library.opcheck(torch.ops.pyposefast.oks_nms, (*args, None, None, 0.5))
    torch.library.opcheck(torch.ops.pyposefast.soft_oks_nms, (*args, None, None, 0.5, 4, "gaussian"))


@pytest.mark.parametrize("device", DEVICES)
def test_oks_iou_matrix_matches_pairs(device):
    rng = np.random.default_rng(5)
    kp, s, a, v, c, sg = make_inputs(rng, 2, 5, 17)
    m = ops.oks_iou_matrix(_t(kp, device), _t(kp, device), _t(a, device), _t(a, device), sg).cpu().numpy()
    for b in range(2):
        for i in range(5):
            for j in range(5):
                want = baseline.nms.pair_oks(kp[b, i], kp[b, j], a[b, i], a[b, j], sg)
                np.testing.assert_allclose(m[b, i, j], want, rtol=1e-6)


@requires_cuda
@pytest.mark.cuda
def test_cuda_large_batch_matches_cpu():
    rng = np.random.default_rng(9)
    kp, s, a, v, c, sg = make_inputs(rng, 1000, 30, 17)
    want = ops.oks_nms(_t(kp, "cpu"), _t(s, "cpu"), _t(a, "cpu"), sg, 0.9, counts=_t(c, "cpu"))
    got = ops.oks_nms(_t(kp, "cuda"), _t(s, "cuda"), _t(a, "cuda"), sg, 0.9, counts=_t(c, "cuda"))
    torch.testing.assert_close(got.cpu(), want)
    want = ops.soft_oks_nms(_t(kp, "cpu"), _t(s, "cpu"), _t(a, "cpu"), sg, 0.9, counts=_t(c, "cpu"))
    got = ops.soft_oks_nms(_t(kp, "cuda"), _t(s, "cuda"), _t(a, "cuda"), sg, 0.9, counts=_t(c, "cuda"))
    torch.testing.assert_close(got[0].cpu(), want[0])
    torch.testing.assert_close(got[1].cpu(), want[1], rtol=1e-12, atol=0)
