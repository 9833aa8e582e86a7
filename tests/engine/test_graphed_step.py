"""GraphedTrainStep: the captured step trains exactly like the eager one (warm-up undone, learning
rate changes followed, one graph per batch shape), and the eager mode on the CPU."""

import copy

import pytest
import torch
from torch import nn

from pyposefast.engine.graphed_step import GraphedTrainStep
from tests.conftest import requires_cuda


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1))

    def loss(self, inputs, heatmaps):
        out = self.body(inputs)
        return {"loss_kpt": ((out.float() - heatmaps) ** 2).mean(), "acc": out.detach().float().mean()}


def _compute(model):
    return lambda b: model.loss(b["inputs"], b["heatmaps"])


def _batches(device, n, shapes=((4, 3, 8, 6),)):
    g = torch.Generator().manual_seed(0)
    out = []
    for i in range(n):
        shape = shapes[i % len(shapes)]
        out.append({"inputs": torch.randn(shape, generator=g).to(device),
                    "heatmaps": torch.randn((shape[0], 4) + shape[2:], generator=g).to(device)})
    return out


def _reference(model, batches, lrs, clip=None):
    """Plain eager training: zero_grad, forward, backward, (clip), step, with the lr per step."""
    opt = torch.optim.AdamW(model.parameters(), lr=lrs[0], weight_decay=0.01)
    losses = []
    for b, lr in zip(batches, lrs):
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss = model.loss(b["inputs"], b["heatmaps"])["loss_kpt"]
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(loss.detach())
    return torch.stack(losses)


def _run(step, opt, batches, lrs):
    losses = []
    for b, lr in zip(batches, lrs):
        for g in opt.param_groups:
            g["lr"] = lr
        losses.append(step(b)["loss"])
    return torch.stack(losses)


def test_eager_mode_equals_plain_training():
    torch.manual_seed(0)
    model = _Net()
    ref = copy.deepcopy(model)
    batches, lrs = _batches("cpu", 5), [1e-2, 5e-3, 5e-3, 1e-3, 1e-3]
    opt = torch.optim.AdamW(model.parameters(), lr=lrs[0], weight_decay=0.01)
    step = GraphedTrainStep(model, opt, _compute(model))
    assert not step.enabled
    got = _run(step, opt, batches, lrs)
    want = _reference(ref, batches, lrs)
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    for p, q in zip(model.state_dict().values(), ref.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_bad_arguments():
    model = _Net()
    opt = torch.optim.AdamW(model.parameters())
    with pytest.raises(ValueError, match="amp"):
        GraphedTrainStep(model, opt, _compute(model), amp="fp16")
    with pytest.raises(ValueError, match="grad_clip"):
        GraphedTrainStep(model, opt, _compute(model), grad_clip=0.0)
    with pytest.raises(ValueError, match="CUDA"):
        GraphedTrainStep(model, opt, _compute(model), enabled=True)
    step = GraphedTrainStep(model, opt, _compute(model))
    with pytest.raises(TypeError, match="dict of tensors"):
        step({"inputs": [1, 2]})
    with pytest.raises(ValueError, match="no 0-dim 'loss"):
        GraphedTrainStep(model, opt, lambda b: {"acc": torch.zeros(())})(_batches("cpu", 1)[0])


@requires_cuda
@pytest.mark.cuda
def test_sgd_is_refused_on_cuda():
    model = _Net().cuda()
    with pytest.raises(TypeError, match="Adam"):
        GraphedTrainStep(model, torch.optim.SGD(model.parameters(), lr=0.1), _compute(model))


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("clip", [None, 0.05])
def test_graph_trains_like_eager(clip):
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    model = _Net().cuda()
    ref = copy.deepcopy(model)
    # two batch shapes (two graphs, each warm-up undone), learning rates that change every step
    batches = _batches("cuda", 8, shapes=((4, 3, 8, 6), (2, 3, 8, 6)))
    lrs = [1e-2, 8e-3, 6e-3, 6e-3, 4e-3, 2e-3, 1e-3, 5e-4]
    opt = torch.optim.AdamW(model.parameters(), lr=lrs[0], weight_decay=0.01)
    step = GraphedTrainStep(model, opt, _compute(model), grad_clip=clip)
    assert step.enabled
    outs = []
    losses = []
    for b, lr in zip(batches, lrs):
        for g in opt.param_groups:
            g["lr"] = lr
        outs.append(step(b))
        losses.append(outs[-1]["loss"])
    assert step.captures == 2
    assert all(isinstance(g["lr"], float) for g in opt.param_groups)  # floats for the schedulers
    ref_opt_losses = _reference(ref, batches, lrs, clip=clip)
    torch.testing.assert_close(torch.stack(losses), ref_opt_losses, rtol=1e-5, atol=1e-6)
    for (name, p), q in zip(model.state_dict().items(), ref.state_dict().values()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6, msg=name)
    # outputs are fresh tensors, not the graph's static ones
    assert len({o["loss"].data_ptr() for o in outs}) == len(outs)
    if clip is not None:
        assert all("grad_norm" in o for o in outs)
    torch.backends.cudnn.deterministic = False
    torch.backends.cudnn.allow_tf32 = True


@requires_cuda
@pytest.mark.cuda
def test_graph_bf16_autocast_runs():
    model = _Net().cuda()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    step = GraphedTrainStep(model, opt, _compute(model), amp="bf16")
    before = [p.detach().clone() for p in model.parameters()]
    first = [step(b)["loss"] for b in _batches("cuda", 3)]
    assert all(torch.isfinite(v) for v in first)
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), before))
