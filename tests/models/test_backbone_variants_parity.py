"""Backbone-only parity with MMPose 1.3.2 for the configurations the zoo entry points do not use:
MobileNetV2 / ShuffleNetV2 at other widths with several outputs, Lite-HRNet with NAIVE modules, no
fusion and no iterative head. Random weights, BN statistics from one batch, outputs at 1e-5."""

from __future__ import annotations

import pytest
import torch

from pyposefast.models.backbones import LiteHRNet, MobileNetV2, ShuffleNetV2
from tests.models.mmpose_ref import mmpose_models, randomize_

pytestmark = pytest.mark.parity

NAIVE = dict(stem=dict(stem_channels=16, out_channels=16, expand_ratio=2), num_stages=2,
             stages_spec=dict(num_modules=(1, 2), num_branches=(2, 3), num_blocks=(2, 1),
                              module_type=("NAIVE", "LITE"), with_fuse=(False, True), reduce_ratios=(4, 4),
                              num_channels=((16, 32), (16, 32, 64))),
             with_head=False)

CASES = {
    "mobilenetv2-0.5": (dict(type="MobileNetV2", widen_factor=0.5, out_indices=(1, 3, 7)),
                        lambda: MobileNetV2(widen_factor=0.5, out_indices=(1, 3, 7))),
    "mobilenetv2-1.4": (dict(type="MobileNetV2", widen_factor=1.4, out_indices=(6,)),
                        lambda: MobileNetV2(widen_factor=1.4, out_indices=(6,))),
    "shufflenetv2-0.5": (dict(type="ShuffleNetV2", widen_factor=0.5, out_indices=(0, 1, 2, 3)),
                         lambda: ShuffleNetV2(widen_factor=0.5, out_indices=(0, 1, 2, 3))),
    "litehrnet-naive": (dict(type="LiteHRNet", in_channels=3, extra=NAIVE), lambda: LiteHRNet(NAIVE)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_backbone_variant_parity(name):
    MODELS = mmpose_models()
    cfg, make = CASES[name]
    ref = MODELS.build(cfg)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    randomize_(ref, seed=2, x=x)
    ours = make().eval()
    ours.load_state_dict(ref.state_dict())
    with torch.no_grad():
        want, got = ref(x), ours(x)
    assert len(want) == len(got)
    for a, b in zip(got, want):
        assert a.shape == b.shape
        scale = float(b.abs().max().clamp(min=1.0))
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5 * scale), float((a - b).abs().max())
