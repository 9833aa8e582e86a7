"""MultiTaskPoseEstimator: one backbone, body heatmaps + hand regression + visibility heads:
forward/backward, per-head decode (equal to a single-head TopdownPoseEstimator's, flip test
included), loss weights, a tiny training run where every head's loss falls, argument errors."""

from __future__ import annotations

import json

import pytest
import torch

from pyposefast.codecs import MSRAHeatmap, RegressionLabel
from pyposefast.datasets import dataset_meta
from pyposefast.models import TopdownPoseEstimator
from pyposefast.models.backbones.resnet import ResNet
from pyposefast.models.estimators.multitask import MultiTaskPoseEstimator
from pyposefast.models.heads import HeatmapHead, RegressionHead
from pyposefast.models.heads.multitask import BCEWithLogitsLoss, VisibilityHead
from pyposefast.models.necks import GlobalAveragePooling
from tests.conftest import requires_cuda

INPUT = (48, 64)  # (w, h)
COCO_FLIP = dataset_meta("coco")["flip_indices"]
HAND_FLIP = list(range(21))


def _backbone() -> ResNet:
    return ResNet(18, stem_channels=8, base_channels=8, num_stages=2, out_indices=(1,))  # 16 ch, stride 8


def _heads() -> dict:
    w, h = INPUT
    return {
        "body": HeatmapHead(16, 17, deconv_out_channels=(16,), deconv_kernel_sizes=(4,),
                            decoder=MSRAHeatmap(input_size=INPUT, heatmap_size=(w // 4, h // 4), sigma=2.0)),
        "hand": RegressionHead(16, 21, decoder=RegressionLabel(input_size=INPUT)),
        "visibility": VisibilityHead(16, 17),
    }


def _model(seed: int = 0, **kw) -> MultiTaskPoseEstimator:
    torch.manual_seed(seed)
    kw.setdefault("flip_indices", {"body": COCO_FLIP, "hand": HAND_FLIP, "visibility": COCO_FLIP})
    return MultiTaskPoseEstimator(_backbone(), _heads(), head_necks={"hand": GlobalAveragePooling()}, **kw)


def _batch(B: int = 4, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, 3, INPUT[1], INPUT[0], generator=g)
    size = torch.tensor(INPUT, dtype=torch.float32)
    body_kp = torch.rand(B, 17, 2, generator=g) * size
    hand_kp = torch.rand(B, 21, 2, generator=g) * size
    w, h = INPUT
    body_codec = MSRAHeatmap(input_size=INPUT, heatmap_size=(w // 4, h // 4), sigma=2.0)
    body = body_codec.batch_encode(body_kp, torch.ones(B, 17))
    hand = RegressionLabel(input_size=INPUT).batch_encode(hand_kp, torch.ones(B, 21))
    vis = (torch.rand(B, 17, generator=g) > 0.4).float()
    targets = dict(body=dict(heatmaps=body["heatmaps"], keypoint_weights=body["keypoint_weights"]),
                   hand=dict(keypoint_labels=hand["keypoint_labels"], keypoint_weights=hand["keypoint_weights"]),
                   visibility=dict(keypoints_visible=vis))
    return x, targets


def test_forward_backward_reaches_every_head_and_the_backbone():
    model = _model().train()
    x, targets = _batch()
    out = model(x)
    assert set(out) == {"body", "hand", "visibility"}
    assert out["body"].shape == (4, 17, 16, 12) and out["hand"].shape == (4, 21, 2)
    assert out["visibility"].shape == (4, 17)
    losses = model.loss(x, **targets)
    assert {"loss_body_kpt", "loss_hand_kpt", "loss_visibility_vis", "visibility_acc_vis"} <= set(losses)
    assert not losses["visibility_acc_vis"].requires_grad
    sum(v for k, v in losses.items() if k.startswith("loss")).backward()
    for name, p in model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert all(float(model.heads[n].parameters().__next__().grad.abs().sum()) > 0 for n in model.head_names)
    assert float(model.backbone.conv1.weight.grad.abs().sum()) > 0


@pytest.mark.parametrize("flip_test", [False, True])
def test_predict_decodes_each_head_as_its_own_estimator(flip_test):
    model = _model().eval()
    x, _ = _batch(3)
    center = torch.tensor([[100.0, 80.0], [50.0, 60.0], [200.0, 150.0]])
    scale = torch.tensor([[60.0, 80.0], [30.0, 40.0], [120.0, 160.0]])
    with torch.no_grad():
        preds = model.predict(x, center, scale, flip_test=flip_test)
        body_kp, body_sc = preds["body"]
        hand_kp, hand_sc = preds["hand"]
        vis = preds["visibility"]
        assert body_kp.shape == (3, 17, 2) and body_sc.shape == (3, 17)
        assert hand_kp.shape == (3, 21, 2) and hand_sc.shape == (3, 21)
        assert vis.shape == (3, 17) and float(vis.min()) >= 0 and float(vis.max()) <= 1
        # the same backbone and head in a single-task estimator decode to the same keypoints
        single = TopdownPoseEstimator(model.backbone, model.heads["body"], flip_test=flip_test,
                                      flip_indices=COCO_FLIP).eval()
        ref_kp, ref_sc = single.predict(x, center, scale)
        torch.testing.assert_close(body_kp, ref_kp)
        torch.testing.assert_close(body_sc, ref_sc)
        only_hand = model.predict(x, center, scale, flip_test=flip_test, heads=["hand"])
        assert set(only_hand) == {"hand"}
        torch.testing.assert_close(only_hand["hand"][0], hand_kp)
        # visibility flip test: mean of the prediction and the mirrored prediction of the flipped crops
        logits = model.heads["visibility"](model.extract_feat(x))
        want = logits.sigmoid()
        if flip_test:
            flipped = model.heads["visibility"](model.extract_feat(x.flip(-1))).sigmoid()[:, COCO_FLIP]
            want = (want + flipped) / 2
        torch.testing.assert_close(vis, want)
        no_flip = model.predict(x, center, scale, flip_test=False)
    changed = not torch.allclose(no_flip["body"][0], body_kp) or not torch.allclose(no_flip["visibility"], vis)
    assert changed == flip_test


def test_loss_weights_scale_each_head():
    x, targets = _batch()
    plain = _model(loss_weights=None).train()
    weighted = _model(loss_weights={"body": 2.0, "hand": 0.5, "visibility": 0.0}).train()
    weighted.load_state_dict(plain.state_dict())
    torch.manual_seed(1)
    a = plain.loss(x, **targets)
    torch.manual_seed(1)
    b = weighted.loss(x, **targets)
    torch.testing.assert_close(b["loss_body_kpt"], 2.0 * a["loss_body_kpt"])
    torch.testing.assert_close(b["loss_hand_kpt"], 0.5 * a["loss_hand_kpt"])
    assert b["loss_visibility_vis"].item() == 0.0 and a["loss_visibility_vis"].item() > 0
    torch.testing.assert_close(b["visibility_acc_vis"], a["visibility_acc_vis"])  # accuracies are not weighted
    # the weight scales the head's gradient
    a["loss_hand_kpt"].backward()
    b["loss_hand_kpt"].backward()
    torch.testing.assert_close(weighted.heads["hand"].fc.weight.grad, 0.5 * plain.heads["hand"].fc.weight.grad)
    # a head without targets gives no loss
    only_body = plain.loss(x, body=targets["body"])
    assert set(only_body) == {"loss_body_kpt"}


class _FixedBatches:
    """Training data for the Trainer: the same batch ``n`` times per epoch."""

    def __init__(self, batch: dict, n: int) -> None:
        self.batch, self.n, self.skip = batch, n, 0

    def __len__(self) -> int:
        return self.n

    def set_epoch(self, epoch: int, skip: int = 0) -> None:
        self.skip = skip

    def __iter__(self):
        for _ in range(self.n - self.skip):
            yield self.batch


def test_tiny_training_run_every_head_learns(tmp_path):
    """The Trainer as it is trains the multi-task model (batch = inputs + one target dict per head)
    and logs each head's loss; every head's loss falls."""
    from pyposefast.engine.trainer import Trainer

    x, targets = _batch(8, seed=3)
    trainer = Trainer(_model(), _FixedBatches(dict(inputs=x, **targets), 20), work_dir=str(tmp_path), max_epochs=3,
                      optimizer=dict(type="adam", lr=3e-3), scheduler=dict(type="constant"), device="cpu",
                      progress=False, tensorboard=False, save_best=None, log_interval=5)
    trainer.fit()
    records = [json.loads(line) for line in open(tmp_path / "log.jsonl") if '"train"' in line]
    assert len(records) == 12
    for key in ("loss_body_kpt", "loss_hand_kpt", "loss_visibility_vis"):
        first, last = records[0][key], records[-1][key]
        assert last < 0.7 * first, (key, first, last)
    assert records[-1]["loss"] < 0.7 * records[0]["loss"]


def test_visibility_head_loss_matches_bce_and_weights():
    head = VisibilityHead(16, 17, loss=BCEWithLogitsLoss(use_target_weight=True))
    feats = (torch.randn(4, 16, 8, 6),)
    labels = (torch.rand(4, 17) > 0.5).float()
    weights = torch.rand(4, 17)
    got = head.loss(feats, labels, weights)["loss_vis"]
    logits = head(feats)
    p = logits.sigmoid()
    want = (-(labels * p.log() + (1 - labels) * (1 - p).log()) * weights).mean()
    torch.testing.assert_close(got, want)
    with pytest.raises(ValueError, match="keypoints_visible"):
        head.loss(feats, labels[:, :5])


@pytest.mark.parity
def test_visibility_head_matches_mmpose_vis_predict_head():
    from tests.models.mmpose_ref import mmpose_models

    registry = mmpose_models()
    from mmpose.models.utils.tta import flip_visibility

    ref = registry.build(dict(type="VisPredictHead", pose_cfg=dict(
        type="HeatmapHead", in_channels=16, out_channels=17, deconv_out_channels=None)))
    ours = VisibilityHead(16, 17)
    with torch.no_grad():
        ours.fc.weight.copy_(torch.randn(17, 16))
        ours.fc.bias.copy_(torch.randn(17))
        ref.vis_head[2].weight.copy_(ours.fc.weight)
        ref.vis_head[2].bias.copy_(ours.fc.bias)
        feats, flipped = (torch.randn(4, 16, 8, 6),), (torch.randn(4, 16, 8, 6),)
        labels = (torch.rand(4, 17) > 0.5).float()
        probs = ref.vis_forward(feats)
        torch.testing.assert_close(ours.predict(feats), probs)
        want_flip = (probs + flip_visibility(ref.vis_forward(flipped), flip_indices=COCO_FLIP)) * 0.5
        torch.testing.assert_close(ours.predict(feats, flipped, flip_indices=COCO_FLIP), want_flip)
        got = ours.loss(feats, labels)
        torch.testing.assert_close(got["loss_vis"], ref.loss_module(probs, labels, None), rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(got["acc_vis"], ref.vis_accuracy(probs, labels, None))


@requires_cuda
@pytest.mark.cuda
def test_cuda_predict_and_loss_match_cpu():
    model = _model().eval()
    x, targets = _batch(3)
    center, scale = torch.tensor([[100.0, 80.0]] * 3), torch.tensor([[60.0, 80.0]] * 3)
    with torch.no_grad():
        cpu = model.predict(x, center, scale)
        cpu_loss = model.loss(x, **targets)
        model.cuda()
        gpu = model.predict(x.cuda(), center.cuda(), scale.cuda())
        gpu_targets = {k: {n: v.cuda() for n, v in t.items()} for k, t in targets.items()}
        gpu_loss = model.loss(x.cuda(), **gpu_targets)
    for name in ("body", "hand"):
        torch.testing.assert_close(gpu[name][0].cpu(), cpu[name][0], rtol=1e-3, atol=1e-2)
    torch.testing.assert_close(gpu["visibility"].cpu(), cpu["visibility"], rtol=1e-3, atol=1e-4)
    for k in cpu_loss:
        torch.testing.assert_close(gpu_loss[k].cpu(), cpu_loss[k], rtol=1e-3, atol=1e-5)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="non-empty"):
        MultiTaskPoseEstimator(_backbone(), {})
    with pytest.raises(ValueError, match="identifiers"):
        MultiTaskPoseEstimator(_backbone(), {"a.b": VisibilityHead(16, 17)})
    with pytest.raises(ValueError, match="loss_weights names unknown heads"):
        MultiTaskPoseEstimator(_backbone(), _heads(), loss_weights={"face": 1.0})
    with pytest.raises(ValueError, match="loss_weights"):
        MultiTaskPoseEstimator(_backbone(), _heads(), loss_weights={"body": -1.0})
    model = _model()
    x, targets = _batch(2)
    with pytest.raises(ValueError, match="unknown heads"):
        model.loss(x, face=dict())
    with pytest.raises(ValueError, match="at least one head"):
        model.loss(x)
    with pytest.raises(ValueError, match="input_center"):
        model.eval().predict(x)
