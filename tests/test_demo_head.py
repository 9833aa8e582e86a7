"""MultiscaleHeatmapHead: the demo's 'multiscale' head computed without the concatenation equals
FeatureMapProcessor(concat=True) + HeatmapHead (outputs, gradients, state dict), in both memory
formats and in train and eval mode."""

from __future__ import annotations

import pytest
import torch

from pyposefast.demo import demo_model
from pyposefast.models import TopdownPoseEstimator
from pyposefast.models.backbones.resnet import ResNet
from pyposefast.models.demo_head import MultiscaleHeatmapHead
from pyposefast.models.heads import HeatmapHead
from pyposefast.models.necks import FeatureMapProcessor
from tests.conftest import DEVICES


def _reference(width: int, num_keypoints: int = 17) -> TopdownPoseEstimator:
    """The concatenating model the demo used before (MMPose's way)."""
    c = width
    backbone = ResNet(18, stem_channels=c, base_channels=c, out_indices=(0, 1, 2, 3))
    head = HeatmapHead(15 * c, num_keypoints, deconv_out_channels=None, conv_out_channels=(2 * c, 2 * c),
                       conv_kernel_sizes=(1, 3))
    return TopdownPoseEstimator(backbone, head, FeatureMapProcessor(concat=True), flip_test=False)


def _randomise_batch_norms(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Non-trivial BatchNorm statistics and affine parameters (eval mode uses them)."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            with torch.no_grad():
                m.weight.copy_(torch.rand(n, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(n, generator=gen) * 0.1)


@pytest.fixture
def full_precision_convolutions():
    """cuDNN convolutions without TF32 (which differs from float32 by about 1e-4, per formulation)."""
    before = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cudnn.allow_tf32 = before


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("train", [False, True])
def test_multiscale_head_equals_the_concatenating_head(device, channels_last, train, full_precision_convolutions):
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    fused = demo_model((64, 96), width=8, flip_test=False)
    assert isinstance(fused.head, MultiscaleHeatmapHead) and not hasattr(fused, "neck")
    ref = _reference(8)
    _randomise_batch_norms(fused, gen)
    with torch.no_grad():  # a non-zero bias of the split conv (it must be added once, not per map)
        fused.head.conv_layers[0].bias.copy_(torch.randn(16, generator=gen))
    # same parameter names and shapes: the state dict moves over as it is
    assert fused.state_dict().keys() == ref.state_dict().keys()
    ref.load_state_dict(fused.state_dict())
    # float64: in train mode BatchNorm's backward cancels large terms, and float32 rounding of the two
    # summation orders reached 0.3% of the largest first-conv gradient on a 16-thread CPU
    models = [m.to(device, torch.float64) for m in (fused, ref)]
    x = torch.randn(3, 3, 96, 64, generator=gen, dtype=torch.float64).to(device)
    if channels_last:
        models = [m.to(memory_format=torch.channels_last) for m in models]
        x = x.contiguous(memory_format=torch.channels_last)
    targets = torch.rand(3, 17, 24, 16, generator=gen, dtype=torch.float64).to(device)
    weights = torch.rand(3, 17, generator=gen, dtype=torch.float64).to(device)
    outs, grads = [], []
    for m in models:
        m.train(train)
        out = m(x)
        m.zero_grad(set_to_none=True)
        m.loss(x, heatmaps=targets, keypoint_weights=weights)["loss_kpt"].backward()
        outs.append(out.detach())
        grads.append({k: p.grad.clone() for k, p in m.named_parameters()})
    assert outs[0].shape == (3, 17, 24, 16)
    scale = outs[1].abs().max()
    assert scale > 0.1
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=1e-5 * float(scale))
    assert grads[0].keys() == grads[1].keys()
    # (in train mode the split conv's bias has a zero gradient, BatchNorm follows: rounding noise only)
    floor = 1e-6 * max(float(g.abs().max()) for g in grads[1].values())
    for k in grads[1]:
        g_scale = float(grads[1][k].abs().max())
        torch.testing.assert_close(grads[0][k], grads[1][k], rtol=0, atol=1e-4 * g_scale + floor,
                                   msg=lambda m: f"{k}: {m}")
    if train:  # BatchNorm running statistics updated alike (same batch statistics)
        for (k, a), b in zip(fused.named_buffers(), ref.buffers()):
            if a.is_floating_point():
                torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=lambda m: f"{k}: {m}")


def test_multiscale_head_checks_its_arguments():
    with pytest.raises(ValueError, match="in_channels"):
        MultiscaleHeatmapHead([], 17, (16, 16), (1, 3))
    with pytest.raises(ValueError, match="kernel 1"):
        MultiscaleHeatmapHead((8, 16), 17, (16, 16), (3, 3))
    head = MultiscaleHeatmapHead((8, 16), 17, (16,), (1,))
    with pytest.raises(ValueError, match="2 maps"):
        head([torch.zeros(1, 8, 8, 8)])
    with pytest.raises(ValueError, match=r"feats\[1\] must be \[B, 16, h, w\]"):
        head([torch.zeros(1, 8, 8, 8), torch.zeros(1, 12, 4, 4)])
    assert head([torch.zeros(1, 8, 8, 8), torch.zeros(1, 16, 4, 4)]).shape == (1, 17, 8, 8)
