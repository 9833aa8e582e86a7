"""TopdownInference (crop, network, flip test, decode, back to image) equals warp_affine +
``TopdownPoseEstimator.predict``; StaticGraph's copy-in / replay semantics on the CPU; on CUDA the
graph-captured end-to-end path equals the eager one."""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from pyposefast.datasets.ragged import RaggedImages
from pyposefast.models import build_model
from pyposefast.models.cuda_graph import StaticGraph
from pyposefast.models.inference import IMAGENET_MEAN, IMAGENET_STD, TopdownInference
from pyposefast.ops import warp_affine
from pyposefast.structures.bbox import get_warp_matrix

SIZE = (64, 64)


class _HostDataTensors(TorchDispatchMode):
    """Counts tensors made from Python / host data (``torch.tensor``, ``torch.as_tensor`` of lists)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in (torch.ops.aten.lift_fresh.default, torch.ops.aten.lift_fresh_copy.default):
            self.count += 1
        return func(*args, **(kwargs or {}))


def _boxes(n: int, num_images: int, seed: int, size=SIZE, device="cpu"):
    g = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 256, (48 + 8 * i, 64 + 4 * i, 3), generator=g, dtype=torch.uint8)
              for i in range(num_images)]
    ragged = RaggedImages.from_images(images).to(device)
    w, h = size
    center = torch.rand(n, 2, generator=g) * 40 + 10
    scale = torch.rand(n, 1, generator=g) * 30 + 20
    scale = torch.cat([scale * w / h, scale], 1) * 1.25
    mats = get_warp_matrix(center.double(), scale.double(), 0.0, (w, h))
    index = torch.arange(n) % num_images
    return ragged, mats.to(device), index.to(device), center.to(device), scale.to(device)


def _reference(model, ragged, mats, index, center, scale):
    w, h = model.head.decoder.input_size
    crops = warp_affine(ragged, mats, (w, h), image_index=index, mean=IMAGENET_MEAN, std=IMAGENET_STD,
                        bgr_to_rgb=True)
    with torch.no_grad():
        return model.predict(crops, center, scale)


@pytest.mark.parametrize("name", ["mobilenetv2_coco_256x192", "rtmpose-t_coco_256x192", "vitpose-s_coco_256x192",
                                  "deeppose_resnet50_coco_256x192"])
def test_end_to_end_equals_predict(name):
    """MSRA heatmaps (shift), SimCC, UDP heatmaps (no shift) and regression, all with the flip test."""
    torch.manual_seed(0)
    model = build_model(name, input_size=SIZE).eval()
    assert model.flip_test and model.flip_indices is not None
    e2e = TopdownInference(model)
    args = _boxes(5, 2, seed=1)
    kp, sc = e2e(*args)
    ref_kp, ref_sc = _reference(model, *args)
    assert kp.shape == (5, 17, 2) and kp.dtype == torch.float32 and sc.dtype == torch.float32
    assert torch.equal(kp, ref_kp) and torch.equal(sc, ref_sc)
    # the flip test changes the result (so the comparison above covers the merge)
    kp1, _ = TopdownInference(model, flip_test=False)(*args)
    assert not torch.equal(kp1, kp)
    # capturability proxy on the CPU: a call makes no tensor from host data (on CUDA that would be a
    # pageable host-to-device copy, which synchronises and breaks graph capture); the library's
    # predict path does (the flip permutation)
    with _HostDataTensors() as e2e_ops:
        e2e(*args)
    with _HostDataTensors() as predict_ops:
        _reference(model, *args)
    assert e2e_ops.count == 0 and predict_ops.count > 0


def test_static_graph_copies_inputs_and_checks_shapes():
    torch.manual_seed(0)
    model = build_model("rtmpose-t_coco_256x192", input_size=SIZE).eval()
    e2e = TopdownInference(model)
    first = _boxes(4, 2, seed=2)
    graph = StaticGraph(e2e, *first)
    assert not graph.captured  # CPU: eager on the static buffers
    second = _boxes(4, 2, seed=3)  # same layout, other pixels and boxes
    kp, sc = graph(*second)
    ref_kp, ref_sc = e2e(*second)
    assert torch.equal(kp, ref_kp) and torch.equal(sc, ref_sc)
    kp_a, _ = graph(*first)
    assert not torch.equal(kp_a, ref_kp)
    with pytest.raises(ValueError, match="argument 1"):
        graph(second[0], second[1][:3], *second[2:])
    with pytest.raises(ValueError, match="RaggedImages"):
        graph(_boxes(4, 3, seed=2)[0], *second[1:])


def test_bad_arguments():
    model = build_model("rtmpose-t_coco_256x192", input_size=SIZE)
    with pytest.raises(TypeError, match="TopdownPoseEstimator"):
        TopdownInference(torch.nn.Linear(1, 1))
    with pytest.raises(ValueError, match="autocast_dtype"):
        TopdownInference(model, autocast_dtype=torch.float64)
    model.flip_indices = None
    with pytest.raises(ValueError, match="flip_indices"):
        TopdownInference(model, flip_test=True)


@pytest.mark.cuda
@pytest.mark.parametrize("name", ["hrnet-w32_coco_256x192", "rtmpose-m_coco_256x192"])
def test_cuda_graph_end_to_end_equals_eager(name):
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    torch.manual_seed(0)
    model = build_model(name).cuda().eval()
    e2e = TopdownInference(model)
    size = tuple(model.head.decoder.input_size)
    first = _boxes(16, 4, seed=4, size=size, device="cuda")
    graph = StaticGraph(e2e, *first)
    assert graph.captured
    second = _boxes(16, 4, seed=5, size=size, device="cuda")
    kp, sc = (t.clone() for t in graph(*second))
    ref_kp, ref_sc = e2e(*second)
    torch.testing.assert_close(sc, ref_sc, rtol=0, atol=1e-5)
    torch.testing.assert_close(kp, ref_kp, rtol=0, atol=1e-3)
    ref_kp2, _ = _reference(model, *second)  # the library's eager predict
    torch.testing.assert_close(kp, ref_kp2, rtol=0, atol=1e-3)
    kp_first, _ = graph(*first)
    assert not torch.equal(kp_first, kp)
