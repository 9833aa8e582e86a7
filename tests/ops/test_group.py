"""ae_decode: CPU kernel vs CUDA kernel vs NumPy baseline, the solver, edge cases, errors, opcheck."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast import baseline, ops
from pyposefast.baseline.group import hungarian
from tests.ae_synth import synth_batch
from tests.conftest import DEVICES, requires_cuda

ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]


def run_both(hm, tg, device, **kw):
    got = [t.cpu().numpy() for t in ops.ae_decode(hm.to(device), tg.to(device), ORDER, **kw)]
    ref = baseline.ae_decode(hm.numpy(), tg.numpy(), ORDER, **kw)
    return got, ref


def assert_same(got, ref, udp=False):
    kp, sc, inst, n = got
    ekp, esc, einst, en = ref
    np.testing.assert_array_equal(n, en)
    np.testing.assert_array_equal(inst, einst)
    if udp:  # the modulated planes' float32 log: an ulp apart from NumPy's now and then
        np.testing.assert_allclose(kp, ekp, rtol=0, atol=1e-4)
        np.testing.assert_allclose(sc, esc, rtol=0, atol=1e-5)
    else:
        np.testing.assert_array_equal(kp, ekp)
        np.testing.assert_array_equal(sc, esc)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "people,L,scene,refine",
    [
        ([1, 5], 1, "plain", "quarter"),
        ([20, 0], 2, "crowded", "quarter"),
        ([30], 1, "border", "quarter"),
        ([5, 20], 2, "border", "dark_udp"),
        ([30], 1, "crowded", "dark_udp"),
    ],
)
def test_matches_baseline(device, people, L, scene, refine):
    rng = np.random.default_rng(sum(people) * 10 + L)
    hm, tg = synth_batch(rng, people, K=17, W=48, H=40, L=L, crowded=scene == "crowded", border=scene == "border")
    kw = dict(max_instances=30, refine=refine, center_shift=0.5)
    got, ref = run_both(hm, tg, device, **kw)
    assert got[0].shape == (len(people), 30, 17, 2)
    assert_same(got, ref, udp=refine == "dark_udp")


@pytest.mark.parametrize("device", DEVICES)
def test_ties_and_close_tags(device):
    """Exact ties everywhere: noise-free peaks (all 1.0) and tags 1 apart (many equal-cost
    assignments): the kernels and the baseline agree exactly."""
    rng = np.random.default_rng(3)
    hm, tg = synth_batch(rng, [12, 20], K=17, W=40, H=40, L=1, noise=0.0, tag_gap=1.0, crowded=True)
    hm = torch.where(hm > 0.3, torch.ones_like(hm), hm)  # plateaus: several equal NMS peaks
    tg = torch.round(tg * 2) / 2  # tags on a 0.5 grid: many equal distances
    for kw in (dict(), dict(max_instances=5), dict(keypoint_thr=0.5, tag_thr=1.5)):
        got, ref = run_both(hm, tg, device, **kw)
        assert_same(got, ref)


@pytest.mark.parametrize("device", DEVICES)
def test_empty_and_degenerate(device):
    hm = torch.zeros(2, 17, 16, 16)
    tg = torch.randn(2, 17, 16, 16)
    kp, sc, inst, n = ops.ae_decode(hm.to(device), tg.to(device), ORDER, max_instances=30)
    assert n.tolist() == [0, 0] and kp.abs().sum() == 0 and sc.shape == (2, 30, 17) and inst.shape == (2, 30)
    # B = 0
    out = ops.ae_decode(torch.zeros(0, 17, 8, 8, device=device), torch.zeros(0, 34, 8, 8, device=device), ORDER)
    assert out[0].shape == (0, 17 * 30, 17, 2) and out[3].shape == (0,)
    # max_instances = 0, and more candidates than max_instances
    rng = np.random.default_rng(5)
    hm, tg = synth_batch(rng, [30], K=17, W=32, H=32)
    for m in (0, 1, 7):
        got, ref = run_both(hm, tg, device, max_instances=m)
        assert_same(got, ref)
        assert int(got[3][0]) == min(m, int(baseline.ae_decode(hm.numpy(), tg.numpy(), ORDER)[3][0]))
    # tiny maps, topk larger than the map, K = 1, a negative threshold
    hm1 = torch.rand(1, 1, 2, 3)
    tg1 = torch.randn(1, 2, 2, 3)
    for kw in (dict(topk=50), dict(keypoint_thr=-1.0, topk=4), dict(nms_kernel=1)):
        got = [t.cpu().numpy() for t in ops.ae_decode(hm1.to(device), tg1.to(device), [0], **kw)]
        assert_same(got, baseline.ae_decode(hm1.numpy(), tg1.numpy(), [0], **kw))


def test_hungarian_optimal_and_munkres_rule():
    scipy_opt = pytest.importorskip("scipy.optimize")
    rng = np.random.default_rng(0)
    for _ in range(200):
        n = int(rng.integers(1, 9))
        m = int(rng.integers(n, 12))
        cost = (rng.integers(0, 3, (n, m)) * 100 - rng.choice([0.25, 0.5, 0.75], (n, m))).astype(np.float64)
        col = hungarian(cost)
        assert sorted(set(col.tolist())) == sorted(col.tolist())
        r, c = scipy_opt.linear_sum_assignment(cost)
        assert cost[np.arange(n), col].sum() == pytest.approx(cost[r, c].sum())
    # the pure-Python munkres rule, exactly, on tie-heavy matrices
    munkres_core = pytest.importorskip("munkres._core")
    if not hasattr(munkres_core, "_solve"):
        pytest.skip("munkres without the 3.x pure-Python solver")
    for _ in range(200):
        n = int(rng.integers(1, 8))
        m = int(rng.integers(n, 10))
        cost = (rng.integers(0, 3, (n, m)) * 100 - rng.choice([0.25, 0.5], (n, m))).astype(np.float64)
        _, _, edges = munkres_core._validated_edges(cost)
        pairs = munkres_core._solve(n, m, edges)
        assert [c for _, c in sorted(pairs)] == hungarian(cost).tolist()


def test_errors():
    hm = torch.rand(1, 17, 8, 8)
    tg = torch.rand(1, 34, 8, 8)
    with pytest.raises(TypeError, match="heatmaps"):
        ops.ae_decode(hm.numpy(), tg)
    with pytest.raises(ValueError, match="tags must be"):
        ops.ae_decode(hm, torch.rand(1, 20, 8, 8))
    with pytest.raises(ValueError, match="keypoint_order"):
        ops.ae_decode(hm, tg, [0, 1])
    with pytest.raises(ValueError, match="nms_kernel"):
        ops.ae_decode(hm, tg, nms_kernel=4)
    with pytest.raises(ValueError, match="refine"):
        ops.ae_decode(hm, tg, refine="dark")
    with pytest.raises(ValueError, match="topk"):
        ops.ae_decode(hm, tg, topk=0)
    with pytest.raises(RuntimeError, match="permutation"):
        torch.ops.pyposefast.ae_decode(hm, tg, [0] * 17, 5, 30, 0.1, 1.0, 30, "quarter", 3, 0.0)


@pytest.mark.parametrize("device", DEVICES)
def test_opcheck(device):
    rng = np.random.default_rng(7)
    hm, tg = synth_batch(rng, [3, 0], K=17, W=24, H=20, L=2)
    args = (hm.to(device), tg.to(device), ORDER, 5, 30, 0.1, 1.0, 10, "quarter", 3, 0.5)
    torch.library.opcheck(torch.ops.pyposefast.ae_decode.default, args)
    args_udp = args[:8] + ("dark_udp", 3, 0.0)
    torch.library.opcheck(torch.ops.pyposefast.ae_decode.default, args_udp)


@requires_cuda
def test_cuda_matches_cpu_large():
    rng = np.random.default_rng(11)
    hm, tg = synth_batch(rng, [20, 30, 1, 5], K=17, W=128, H=128, L=2, crowded=True)
    for refine in ("quarter", "dark_udp"):
        kw = dict(max_instances=30, refine=refine, center_shift=0.5)
        cpu = [t.numpy() for t in ops.ae_decode(hm, tg, ORDER, **kw)]
        gpu = [t.cpu().numpy() for t in ops.ae_decode(hm.cuda(), tg.cuda(), ORDER, **kw)]
        assert_same(gpu, cpu, udp=refine == "dark_udp")


@requires_cuda
def test_cuda_compile():
    rng = np.random.default_rng(12)
    hm, tg = synth_batch(rng, [4], K=17, W=32, H=32)
    hm, tg = hm.cuda(), tg.cuda()
    f = torch.compile(lambda a, b: ops.ae_decode(a, b, ORDER, max_instances=10), fullgraph=True)
    for x, y in zip(f(hm, tg), ops.ae_decode(hm, tg, ORDER, max_instances=10)):
        torch.testing.assert_close(x, y)
