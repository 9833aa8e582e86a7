"""AssociativeEmbedding vs MMPose 1.3.2's: encode, and batch_decode on synthetic network outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast.codecs import AssociativeEmbedding
from tests.ae_synth import random_people, synth_batch
from tests.conftest import DEVICES

mmpose_codecs = pytest.importorskip("mmpose.codecs")

ORDER = [0, 1, 2, 3, 4, 5, 6, 11, 12, 7, 8, 9, 10, 13, 14, 15, 16]


def match_instances(mm, ours, udp=False, b=0):
    """Same instances (matched by position), keypoints within 1e-3 px, same scores."""
    kp1, sc1, is1 = mm[0][b], mm[1][b], mm[2][b]
    kp2, sc2, is2 = ours[0][b], ours[1][b], ours[2][b]
    assert kp1.shape == kp2.shape and sc1.shape == sc2.shape and is1.shape == is2.shape
    free = list(range(len(kp2)))
    for i in range(len(kp1)):
        d = [np.abs(kp1[i] - kp2[j]).max() for j in free]
        j = free.pop(int(np.argmin(d)))
        np.testing.assert_allclose(kp2[j], kp1[i], rtol=0, atol=1e-3)
        np.testing.assert_allclose(sc2[j], sc1[i], rtol=0, atol=1e-5 if udp else 0)
        np.testing.assert_allclose(is2[j], is1[i], rtol=0, atol=1e-7)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize(
    "people,L,scene,udp,size",
    [
        ([1, 5], 1, "plain", False, (64, 64)),
        ([20], 2, "crowded", False, (64, 64)),
        ([30, 20], 2, "border", False, (80, 64)),
        ([30], 1, "crowded", False, (128, 128)),
        ([5, 1], 2, "border", True, (64, 48)),
        ([20, 30], 1, "crowded", True, (64, 64)),
    ],
)
def test_batch_decode_matches_mmpose(device, people, L, scene, udp, size):
    rng = np.random.default_rng(len(people) * 100 + sum(people) + L + 7 * udp)
    W, H = size
    hm, tg = synth_batch(rng, people, K=17, W=W, H=H, L=L, crowded=scene == "crowded", border=scene == "border")
    args = dict(input_size=(4 * W, 4 * H), heatmap_size=(W, H), use_udp=udp, decode_keypoint_order=ORDER,
                decode_max_instances=30, decode_center_shift=0.5)
    mm = mmpose_codecs.AssociativeEmbedding(**args).batch_decode(hm.clone(), tg.clone())  # MMPose blurs in place
    ours = AssociativeEmbedding(**args).batch_decode(hm.to(device), tg.to(device))
    for b in range(len(people)):
        match_instances(mm, ours, udp, b)


def test_batch_decode_defaults_and_tensor_variant():
    rng = np.random.default_rng(2)
    hm, tg = synth_batch(rng, [20, 0, 3], K=17, W=48, H=48, L=2, crowded=True)
    args = dict(input_size=(192, 192), heatmap_size=(48, 48), decode_keypoint_order=list(range(17)))
    mm = mmpose_codecs.AssociativeEmbedding(**args).batch_decode(hm.clone(), tg.clone())
    codec = AssociativeEmbedding(**args)
    ours = codec.batch_decode(hm, tg)
    for b in range(3):
        match_instances(mm, ours, b=b)
    kp, sc, inst, counts = codec.batch_decode_tensors(hm, tg)
    assert counts.tolist() == [len(k) for k in ours[0]]
    np.testing.assert_array_equal(kp[0, : counts[0]].numpy(), ours[0][0])


def test_equal_cost_assignments_follow_munkres_pure_python():
    """Tags on a 0.5 grid and 1 apart: many equal-cost assignments. With munkres' compiled kernel
    switched off (its pure-Python solver), MMPose and we pick the same ones."""
    native = pytest.importorskip("munkres._native")
    if not hasattr(native, "forced_off"):
        pytest.skip("munkres without the 3.x native switch")
    rng = np.random.default_rng(4)
    hm, tg = synth_batch(rng, [12, 20], K=17, W=40, H=40, L=1, tag_gap=1.0, crowded=True)
    tg = torch.round(tg * 2) / 2
    args = dict(input_size=(160, 160), heatmap_size=(40, 40), decode_keypoint_order=ORDER)
    with native.forced_off():
        mm = mmpose_codecs.AssociativeEmbedding(**args).batch_decode(hm.clone(), tg.clone())
    ours = AssociativeEmbedding(**args).batch_decode(hm, tg)
    for b in range(2):
        assert len(mm[0][b]) == len(ours[0][b])
        np.testing.assert_allclose(ours[0][b], mm[0][b], rtol=0, atol=1e-3)  # same order too
        np.testing.assert_array_equal(ours[1][b], mm[1][b])


@pytest.mark.parametrize("udp", [False, True])
def test_encode_matches_mmpose(udp):
    rng = np.random.default_rng(5 + udp)
    kp, vis = random_people(rng, 7, 17, 128, 96, border=True)
    kp = kp * 4
    vis[0, :3] = 0.5  # not > 0.5
    vis[1, 0] = 0.0
    args = dict(input_size=(512, 384), heatmap_size=(128, 96), use_udp=udp)
    mm = mmpose_codecs.AssociativeEmbedding(**args).encode(kp, vis)
    ours = AssociativeEmbedding(**args).encode(kp, vis)
    np.testing.assert_allclose(ours["heatmaps"], mm["heatmaps"], rtol=0, atol=1e-6)
    np.testing.assert_array_equal(ours["keypoint_indices"], mm["keypoint_indices"])
    np.testing.assert_array_equal(ours["keypoint_weights"], mm["keypoint_weights"])
    # float64 keypoints and default visibility; sigma from the map size
    kp64 = kp.astype(np.float64) + 0.3
    mm = mmpose_codecs.AssociativeEmbedding(**args).encode(kp64)
    ours = AssociativeEmbedding(**args).encode(kp64)
    np.testing.assert_array_equal(ours["keypoint_indices"], mm["keypoint_indices"])
    # the heatmap op takes float32 keypoints: UDP's sub-pixel centre moves by float32 rounding
    np.testing.assert_allclose(ours["heatmaps"], mm["heatmaps"], rtol=0, atol=1e-5)
    # tensors in, tensors out; a batch with padded instances
    codec = AssociativeEmbedding(**args)
    out = codec.batch_encode(torch.from_numpy(kp).unsqueeze(0).repeat(2, 1, 1, 1),
                             instance_valid=torch.tensor([[1] * 7, [1] * 3 + [0] * 4]))
    assert out["heatmaps"].shape == (2, 17, 96, 128) and out["keypoint_indices"].shape == (2, 7, 17, 2)
    assert out["keypoint_indices"][1, 3:, :, 1].sum() == 0 and out["keypoint_weights"][1, 3:].sum() == 0
