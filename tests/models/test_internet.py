"""InterNet: the head against MMPose's InternetHead (state-dict names, forward, loss, predict with and
without flip test), the ResNet-50 entry point against MMPose's config, BCELoss, and a tiny end-to-end
run (InterHand fixture -> codec -> small InterNet forward/backward -> decode -> InterHandMetric)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pyposefast.codecs.hand_3d_heatmap import Hand3DHeatmap
from pyposefast.losses.hand3d import BCELoss
from pyposefast.models.backbones.resnet import ResNet
from pyposefast.models.heads.internet_head import (InternetHead, build_internet, internet_res50_interhand3d_256x256,
                                                   multilabel_classification_accuracy)
from tests.conftest import requires_cuda

CODEC = dict(image_size=[64, 64], root_heatmap_size=16, heatmap_size=[16, 16, 8], sigma=2.5, max_bound=255,
             depth_size=8)
HEAD = dict(keypoint_head_cfg=dict(in_channels=32, out_channels=21 * 8, depth_size=8, deconv_out_channels=(16, 16),
                                   deconv_kernel_sizes=(4, 4)),
            root_head_cfg=dict(in_channels=32, heatmap_size=16, hidden_dims=(24,)),
            hand_type_head_cfg=dict(in_channels=32, num_labels=2, hidden_dims=(24,)))
FLIP = [21 + i for i in range(21)] + list(range(21))


def _pair(seed: int = 0):
    """MMPose's InternetHead and ours with the same random weights (BN statistics too), eval mode."""
    from tests.models.mmpose_ref import mmpose_models

    ref = mmpose_models().build(dict(type="InternetHead", decoder=dict(type="Hand3DHeatmap", **CODEC), **HEAD))
    ours = InternetHead(decoder=Hand3DHeatmap(**CODEC), **HEAD)
    assert list(ref.state_dict()) == list(ours.state_dict())
    g = torch.Generator().manual_seed(seed)
    sd = {k: (torch.randn(v.shape, generator=g) * 0.2 if v.is_floating_point() else v)
          for k, v in ref.state_dict().items()}
    sd.update({k: v.abs() + 0.5 for k, v in sd.items() if k.endswith("running_var")})
    ref.load_state_dict(sd)
    ours.load_state_dict(sd)
    return ref.eval(), ours.eval()


def _targets(B: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    codec = Hand3DHeatmap(**CODEC)
    kp = np.stack([rng.uniform(0, 64, (B, 42)), rng.uniform(0, 64, (B, 42)), rng.uniform(-150, 150, (B, 42))], -1)
    return codec.batch_encode(torch.from_numpy(kp.astype(np.float32)),
                              torch.from_numpy((rng.uniform(size=(B, 42)) > 0.2).astype(np.float32)),
                              torch.from_numpy(rng.uniform(-300, 300, B).astype(np.float32)),
                              torch.ones(B), torch.from_numpy(np.array([[1, 0], [0, 1], [1, 1]] * B)[:B]).float(),
                              torch.from_numpy((np.arange(B) % 3 != 2).astype(np.float32)))


@pytest.mark.parity
def test_forward_and_loss_match_mmpose():
    ref, ours = _pair()
    from mmengine.structures import InstanceData, PixelData
    from mmpose.structures import PoseDataSample

    x = (torch.randn(3, 32, 4, 4, generator=torch.Generator().manual_seed(1)),)
    for a, b in zip(ref(x), ours(x)):
        torch.testing.assert_close(b, a, rtol=0, atol=0)
    t = _targets(3, 0)
    samples = []
    for b in range(3):
        s = PoseDataSample()
        s.gt_fields = PixelData(heatmaps=t["heatmaps"][b].reshape(-1, 16, 16))
        s.gt_instance_labels = InstanceData(keypoint_weights=t["keypoint_weights"][b:b + 1],
                                            root_depth=t["root_depth"][b], root_depth_weight=t["root_depth_weight"][b],
                                            type=t["type"][b:b + 1], type_weight=t["type_weight"][b])
        samples.append(s)
    ref.train(), ours.train()
    expected = ref.loss(x, samples)
    got = ours.loss(x, **t)
    assert set(got) == set(expected) == {"loss_kpt", "loss_rel_root", "loss_hand_type", "acc_pose"}
    for k in expected:
        torch.testing.assert_close(got[k].double(), torch.as_tensor(expected[k]).double(), rtol=1e-5, atol=1e-7)
    sum(v for k, v in got.items() if k.startswith("loss")).backward()
    assert ours.right_hand_head.final_layer.weight.grad.abs().sum() > 0
    assert ours.root_head.fc[0].weight.grad.abs().sum() > 0


@pytest.mark.parity
@pytest.mark.parametrize("flip", [False, True])
def test_predict_matches_mmpose(flip):
    ref, ours = _pair(seed=2)
    from mmpose.structures import PoseDataSample

    g = torch.Generator().manual_seed(3)
    x, xf = (torch.randn(4, 32, 4, 4, generator=g),), (torch.randn(4, 32, 4, 4, generator=g),)
    s = PoseDataSample(metainfo=dict(flip_indices=FLIP))
    expected = ref.predict([x, xf] if flip else x, [s] * 4, dict(flip_test=flip, shift_heatmap=False))
    center, scale = torch.tensor([[120.0, 80.0]]).repeat(4, 1), torch.tensor([[90.0, 90.0]]).repeat(4, 1)
    kp, scores, root, hand_type = ours.predict(x, xf if flip else None, input_center=center, input_scale=scale,
                                               flip_indices=FLIP)
    for b, inst in enumerate(expected):
        mm_kp = inst.keypoints.copy()  # MMPose's TopdownPoseEstimator.add_pred_to_datasample
        mm_kp[..., :2] = mm_kp[..., :2] / np.array([64, 64]) * scale[b].numpy() + center[b].numpy() \
            - 0.5 * scale[b].numpy()
        np.testing.assert_array_equal(kp[b:b + 1].numpy(), mm_kp)
        np.testing.assert_array_equal(scores[b:b + 1].numpy(), inst.keypoint_scores)
        np.testing.assert_allclose(root[b:b + 1].numpy(), inst.rel_root_depth, rtol=1e-6)
        np.testing.assert_array_equal(hand_type[b:b + 1].numpy(), inst.hand_type)


@pytest.mark.parity
def test_resnet50_entry_point_loads_mmpose_state_dict():
    import os

    from pyposefast.models import load_checkpoint
    from tests.models.mmpose_ref import mmpose_models

    models = mmpose_models()  # skips without MMPose
    import mmpose
    from mmengine.config import Config

    cfg = Config.fromfile(os.path.join(os.path.dirname(mmpose.__file__), ".mim", "configs", "hand_3d_keypoint",
                                       "internet", "interhand3d", "internet_res50_4xb16-20e_interhand3d-256x256.py"))
    cfg.model.backbone.init_cfg = None
    ref = models.build(cfg.model)
    ours = internet_res50_interhand3d_256x256()
    report = load_checkpoint(ours, {"state_dict": ref.state_dict()}, strict=True)
    assert not any(report.values())
    assert ours.flip_test is False and ours.flip_indices == FLIP
    assert ours.head.decoder.heatmap_size.tolist() == [64, 64, 64] and ours.head.decoder.max_bound == 255


def test_bce_loss_and_accuracy():
    g = torch.Generator().manual_seed(0)
    out, tgt, w = torch.randn(5, 2, generator=g), torch.randint(0, 2, (5, 2), generator=g).float(), torch.rand(5, 1)
    manual = -(tgt * torch.log(torch.sigmoid(out)) + (1 - tgt) * torch.log(1 - torch.sigmoid(out))) * w
    torch.testing.assert_close(BCELoss(use_target_weight=True)(out, tgt, w), manual.mean())
    torch.testing.assert_close(BCELoss(use_target_weight=True, reduction="sum")(out, tgt, w[:, 0]), manual.sum())
    with pytest.raises(ValueError, match="needs target_weight"):
        BCELoss(use_target_weight=True)(out, tgt)
    with pytest.raises(ValueError, match="reduction must be"):
        BCELoss(reduction="avg")
    acc = multilabel_classification_accuracy(torch.tensor([[2.0, -1.0], [0.7, 3.0], [1.0, 1.0]]),
                                             torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]),
                                             torch.tensor([[1.0], [1.0], [0.0]]))
    assert acc.item() == pytest.approx(0.5)  # thr 0.5 on logits: 0.7 is label 1 (wrong); sample 3 masked
    assert multilabel_classification_accuracy(torch.ones(2, 2), torch.ones(2, 2), torch.zeros(2)).item() == 0


@pytest.mark.parity
def test_bce_matches_mmpose():
    from tests.models.mmpose_ref import mmpose_models

    ref = mmpose_models().build(dict(type="BCELoss", use_target_weight=True))
    g = torch.Generator().manual_seed(1)
    out, tgt, w = torch.randn(6, 2, generator=g), torch.randint(0, 2, (6, 2), generator=g).float(), torch.rand(6, 1)
    torch.testing.assert_close(BCELoss(use_target_weight=True)(out, tgt, w), ref(out, tgt, w), rtol=0, atol=0)
    from mmpose.evaluation.functional import multilabel_classification_accuracy as mm_acc

    for mask in (w > 0.3, (torch.rand(6, 2, generator=g) > 0.3).float(), torch.rand(6, generator=g) > 0.3):
        expected = mm_acc(out.numpy(), tgt.numpy(), mask.float().numpy())
        assert multilabel_classification_accuracy(out, tgt, mask.float()).item() == pytest.approx(expected)


def test_end_to_end_tiny(tmp_path):
    """InterHand fixture (JSON + images) -> crops and Hand3DHeatmap targets -> small InterNet trains a
    few steps (loss falls) -> predict (flip test) -> InterHandMetric."""
    from pyposefast.datasets.interhand import interhand_topdown_batch, load_interhand3d
    from pyposefast.evaluation.metrics.hand_metric import (InterHandMetric, evaluate_interhand,
                                                           interhand_data_samples)
    from tests.datasets.test_interhand import write_interhand_files

    torch.manual_seed(0)
    p = write_interhand_files(str(tmp_path), num_images=6, seed=4, write_images=True)
    records = load_interhand3d(p["data"], p["camera"], p["joint_3d"], p["img_prefix"]).records
    batch = interhand_topdown_batch(records, input_size=(64, 64))
    codec = Hand3DHeatmap(**dict(CODEC, sigma=1.5, max_bound=10))
    targets = codec.batch_encode(*(batch[k] for k in ("keypoints", "keypoints_visible", "rel_root_depth",
                                                      "rel_root_valid", "hand_type", "hand_type_valid")))
    assert targets["keypoint_weights"].sum() > 0.8 * 6 * 42 and targets["heatmaps"].amax() > 9
    model = build_internet(ResNet(18), 512, codec, deconv_out_channels=(32, 32, 32), hidden_dims=(32,),
                           flip_test=True, flip_indices=FLIP)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    losses = []
    for _ in range(6):
        out = model.loss(batch["inputs"], **targets)
        loss = sum(v for k, v in out.items() if k.startswith("loss"))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    model.eval()
    with torch.no_grad():
        keypoints, scores, root, hand_type = model.predict(batch["inputs"], batch["input_center"],
                                                           batch["input_scale"])
    assert keypoints.shape == (6, 42, 3) and hand_type.shape == (6, 2)
    metric = InterHandMetric()
    metric.process(None, interhand_data_samples(records, keypoints, root, hand_type))
    result = metric.evaluate()
    assert set(result) == {"MPJPE_all", "MPJPE_single", "MPJPE_interacting", "HandednessAcc", "MRRPE"}
    assert all(np.isfinite(v) for v in result.values()) and result["MPJPE_all"] > 0
    # the same through evaluate_interhand (images read again, batches of 4)
    again = evaluate_interhand(model, records, batch_size=4)
    assert again == pytest.approx(result, rel=1e-4)
    # the ground truth itself, through the same decode path's geometry, scores (near) zero error
    gt = torch.from_numpy(np.concatenate([r["keypoints"] for r in records]))
    metric.process(None, interhand_data_samples(records, gt, torch.tensor([float(r["rel_root_depth"])
                                                                             for r in records]),
                                                torch.from_numpy(np.concatenate([r["hand_type"] for r in records]))))
    perfect = metric.evaluate()
    assert perfect["MPJPE_all"] < 1e-2 and perfect["MRRPE"] < 1e-2 and perfect["HandednessAcc"] == 1.0


@requires_cuda
@pytest.mark.cuda
def test_cuda_forward_loss_predict():
    codec = Hand3DHeatmap(**CODEC)
    model = build_internet(ResNet(18), 512, codec, deconv_out_channels=(32, 32, 32), hidden_dims=(32,),
                           flip_test=True, flip_indices=FLIP).cuda()
    t = {k: v.cuda() for k, v in _targets(4, 1).items()}
    x = torch.randn(4, 3, 64, 64, device="cuda")
    out = model.loss(x, **t)
    sum(v for k, v in out.items() if k.startswith("loss")).backward()
    model.eval()
    with torch.no_grad():
        kp, scores, root, hand_type = model.predict(x, torch.full((4, 2), 32.0, device="cuda"),
                                                    torch.full((4, 2), 64.0, device="cuda"))
    assert kp.is_cuda and kp.shape == (4, 42, 3) and torch.isfinite(kp).all()
