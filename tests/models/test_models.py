"""Tests generated from ``list_models()``: for every entry point forward shapes, state-dict round
trip and one training step; torch.compile (aot_eager) forward for the smallest entry point of every
architecture family (the family is the name's first token without its size); predict through the
codecs, FLOPs."""

from __future__ import annotations

import re

import pytest
import torch

from pyposefast.models import build_model, list_models, load_checkpoint, model_complexity
from pyposefast.models.estimators import BottomupPoseEstimator, PoseLifter

SIZE = (64, 64)  # (w, h): every backbone's strides divide it
NAMES = list_models()
REQUIRED = ["resnet50_coco_256x192", "hrnet-w32_coco_256x192", "hrnet-w48_coco_384x288", "rtmpose-t_coco_256x192",
            "rtmpose-s_coco_256x192", "rtmpose-m_coco_256x192", "rtmpose-l_coco_256x192",
            "ae_hrnet-w32_coco_512x512", "deeppose_resnet50_coco_256x192", "rle_resnet50_coco_256x192",
            "videopose3d-243f_h36m", "videopose3d-81f_h36m", "videopose3d-27f_h36m", "mobilenetv2_coco_256x192",
            "shufflenetv2_coco_256x192", "litehrnet-18_coco_256x192", "vitpose-b_coco_256x192"]


def _k(name: str) -> int:
    if name.startswith("internet"):
        return 42
    if "wholebody" in name:
        return 133
    if "wflw" in name or "face" in name:
        return 98
    if "hand" in name:
        return 21
    return 17


def _build(name: str):
    if name.startswith("videopose3d"):
        frames = int(re.search(r"(\d+)f", name).group(1))
        return build_model(name), torch.randn(2, frames, 17, 2)
    return build_model(name, input_size=SIZE), torch.randn(2, 3, SIZE[1], SIZE[0])


def _expected(name: str, K: int):
    if name.startswith("internet"):
        return [(2, K, 64, 16, 16), (2, 1), (2, 2)]
    if name.startswith("videopose3d"):
        return [(2, K, 3)]
    if name.startswith("ae_"):
        return [(2, K, 16, 16), (2, K, 16, 16)]
    if name.startswith("rtmpose") or name.startswith("simcc"):
        return [(2, K, 128), (2, K, 128)]
    if name.startswith("deeppose"):
        return [(2, K, 2)]
    if name.startswith("rle"):
        return [(2, K, 4)]
    if name.startswith("ipr"):
        return [(2, K, 2), (2, K, 16, 16)]
    return [(2, K, 16, 16)]


def test_required_names():
    assert set(REQUIRED) <= set(NAMES)
    with pytest.raises(KeyError, match="unknown model"):
        build_model("nope")


def _outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


_INITS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "xavier_uniform_",
          "xavier_normal_", "kaiming_uniform_", "kaiming_normal_")


def _twin_without_init(name, monkeypatch):
    """The same model again with parameter initialisation skipped (torch.empty memory: whatever the
    state dict does not overwrite stays garbage), so that building it costs no init time."""
    with monkeypatch.context() as m:
        for fn in _INITS:
            m.setattr(torch.nn.init, fn, lambda t, *a, **k: t)
        twin, _ = _build(name)
    return twin


def _targets(name, model, x):
    B, K = x.shape[0], _k(name)
    w = torch.ones(B, K)
    if name.startswith("internet"):
        return model.head.decoder.batch_encode(torch.rand(B, K, 3) * 64)
    if name.startswith(("resnet", "hrnet", "mobilenetv2", "shufflenetv2", "litehrnet", "vitpose")):
        return dict(heatmaps=torch.rand(B, K, 16, 16), keypoint_weights=w)
    if name.startswith(("rtmpose", "simcc")):
        return dict(keypoint_x_labels=torch.rand(B, K, 128), keypoint_y_labels=torch.rand(B, K, 128),
                    keypoint_weights=w)
    if name.startswith(("deeppose", "rle", "ipr")):
        return dict(keypoint_labels=torch.rand(B, K, 2), keypoint_weights=w)
    if name.startswith("ae_"):
        idx = torch.stack([torch.randint(0, 256, (3, K)), torch.randint(0, 2, (3, K))], -1)
        return dict(heatmaps=torch.rand(B, K, 16, 16), keypoint_indices=[idx, idx[:1]], keypoint_weights=w)
    if name.startswith("videopose3d"):
        return dict(lifting_target_label=torch.randn(B, K, 3), lifting_target_weight=w)
    raise AssertionError(f"no training targets for {name}: add its family here")


@pytest.mark.parametrize("name", NAMES)
def test_forward_state_dict_round_trip_and_backward(name, monkeypatch):
    """Every entry point: forward shapes (eval), state-dict round trip through load_checkpoint into a
    twin whose parameters were never initialised (outputs bit-equal), one training step (losses
    finite, gradients reach > 90% of the parameters, SGD step)."""
    torch.manual_seed(0)
    model, x = _build(name)
    model.eval()
    with torch.no_grad():
        outs = _outputs(model(x))
    assert [tuple(o.shape) for o in outs] == _expected(name, _k(name))
    assert all(torch.isfinite(o).all() for o in outs)
    twin = _twin_without_init(name, monkeypatch)
    load_checkpoint(twin, {"state_dict": model.state_dict()})
    twin.eval()
    with torch.no_grad():
        outs2 = _outputs(twin(x))
    for a, b in zip(outs, outs2):
        assert torch.equal(a, b)
    del twin
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=1e-3)
    losses = model.loss(x, **_targets(name, model, x))
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    assert sum(p.grad is not None for p in params) > 0.9 * len(params)
    opt.step()


@pytest.mark.parametrize("name", ["resnet50_coco_256x192", "rtmpose-t_coco_256x192", "rle_resnet50_coco_256x192",
                                  "deeppose_resnet50_coco_256x192", "ipr_resnet50_coco_256x256",
                                  "vitpose-s_coco_256x192"])
def test_predict_in_image_pixels(name):
    torch.manual_seed(0)
    model, x = _build(name)
    model.eval()
    center = torch.tensor([[100.0, 80.0], [50.0, 60.0]])
    scale = torch.tensor([[64.0, 64.0], [128.0, 128.0]])
    with torch.no_grad():
        kp, sc = model.predict(x, center, scale)
        kp1, sc1 = model.predict(x, center, scale, flip_test=False)
    assert kp.shape == (2, 17, 2) and sc.shape == (2, 17)
    assert kp.dtype == torch.float32 and torch.isfinite(kp).all()
    # keypoints with a positive score land inside (or near) their crop in image pixels (MMPose marks
    # a non-positive heatmap maximum with location -1)
    lo, hi = center - scale * 0.5, center + scale * 0.5
    inside = ((kp1 >= lo[:, None] - 2) & (kp1 <= hi[:, None] + 2)).all(-1)
    if name.startswith(("resnet", "rtmpose")):  # regression heads with random weights may point anywhere
        assert (inside | (sc1 <= 0)).all()


def test_videopose3d_layouts_agree():
    model = build_model("videopose3d-27f_h36m").eval()
    x = torch.randn(2, 27, 17, 2)
    with torch.no_grad():
        a = model(x)
        b = model(x.permute(0, 2, 3, 1).reshape(2, 34, 27))
        root = torch.ones(2, 1, 3)
        c = model.predict(x, root)
    assert torch.equal(a, b) and torch.allclose(c, a + 1)


def test_bottomup_merge_outputs_with_flip():
    model = build_model("ae_hrnet-w32_coco_512x512", input_size=SIZE).eval()
    assert isinstance(model, BottomupPoseEstimator)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        feats, ffeats = model.extract_feat(x), model.extract_feat(x.flip(-1))
        hm, tags = model.head.merge_outputs(feats, ffeats, flip_indices=model.flip_indices, size=(64, 64))
    assert hm.shape == (1, 17, 64, 64) and tags.shape == (1, 34, 64, 64)


def _family(name: str) -> str:
    """``rtmpose-m_coco_256x192`` -> ``rtmpose``, ``resnet101_...`` -> ``resnet``, ``videopose3d-27f_h36m``
    -> ``videopose3d``."""
    return re.sub(r"(-w?\d+f?|-[tsmlb]|\d+)$", "", name.split("_")[0])


def _smallest_per_family() -> list[str]:
    sizes = {"t": 0, "s": 1, "m": 2, "b": 3, "l": 4}

    def cost(name: str) -> tuple:
        token = name.split("_")[0]
        number = re.search(r"(\d+)f?$", token)
        letter = re.search(r"-([tsmbl])$", token)
        return ("_coco_" not in name, int(number.group(1)) if number else 0, sizes[letter.group(1)] if letter else 0)

    families: dict[str, str] = {}
    for name in sorted(NAMES, key=cost):
        families.setdefault(_family(name), name)
    return sorted(families.values())


COMPILE_NAMES = _smallest_per_family()


def test_compile_covers_every_family():
    assert {_family(n) for n in COMPILE_NAMES} == {_family(n) for n in NAMES}
    assert "rtmpose-t_coco_256x192" in COMPILE_NAMES and "videopose3d-27f_h36m" in COMPILE_NAMES


@pytest.mark.parametrize("name", COMPILE_NAMES)
def test_compile_aot_eager(name):
    torch._dynamo.reset()
    model, x = _build(name)
    model.eval()
    compiled = torch.compile(model, backend="aot_eager")
    with torch.no_grad():
        a = model(x)
        b = compiled(x)
    for u, v in zip(a, b):
        assert torch.allclose(u, v, atol=1e-5)


def test_model_complexity():
    info = model_complexity("rtmpose-t_coco_256x192")
    assert 3.0e6 < info["params"] < 3.5e6  # MMPose reports 3.34M
    assert 0.5e9 < info["flops"] < 1.0e9  # ~0.36 GMACs
    assert isinstance(build_model("videopose3d-27f_h36m"), PoseLifter)
    lite = model_complexity("litehrnet-18_coco_256x192")
    assert 1.0e6 < lite["params"] < 1.3e6  # MMPose reports 1.1M, 0.2 GMACs
    assert 0.3e9 < lite["flops"] < 0.5e9
