"""convert_mmpose_checkpoint / read_checkpoint on an MMPose-style checkpoint made here: MMPose's model
with random weights, plus the non-tensor objects real MMPose checkpoints carry (``meta`` with NumPy
arrays, mmengine's ``message_hub`` with HistoryBuffer objects) and one hostile object."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from pyposefast.models import build_model, convert_mmpose_checkpoint, load_checkpoint
from pyposefast.models.checkpoint import CheckpointMismatchError, read_checkpoint
from tests.models.mmpose_ref import mmpose_models, randomize_
from tests.models.test_checkpoint_parity import _cfg

pytestmark = pytest.mark.parity

NAME = "mobilenetv2_coco_256x192"


class _Hostile:
    """Unpickling this would delete a folder if the loader trusted the file."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def __reduce__(self):
        import shutil

        return (shutil.rmtree, (self.folder,))


class _HostileShell:
    """Unpickling this would run a shell command (PyTorch blocks the ``posix`` module outright)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(scope="module")
def mmpose_checkpoint(tmp_path_factory):
    MODELS = mmpose_models()
    from mmengine.logging import MessageHub

    cfg, (w, h) = _cfg(NAME)
    torch.manual_seed(0)
    ref = MODELS.build(cfg)
    x = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(1))
    randomize_(ref, seed=2, x=x)
    hub = MessageHub.get_instance("pyposefast-test-convert")
    hub.update_scalar("train/loss", 0.25)
    hub.update_info("iter", 7)
    folder = tmp_path_factory.mktemp("ckpt")
    marker = folder / "must-survive"
    marker.mkdir()
    ckpt = {
        "meta": {"mmengine_version": "0.10.x", "epoch": 210, "cfg": "model = dict(...)",
                 "dataset_meta": {"dataset_name": "coco", "sigmas": np.linspace(0.025, 0.1, 17, dtype=np.float32),
                                  "flip_indices": [0, 2, 1], "keypoint_colors": np.zeros((17, 3), np.uint8)},
                 "hostile": _Hostile(str(marker))},
        "state_dict": ref.state_dict(),
        "message_hub": hub.state_dict(),
        "optimizer": {"state": {}, "param_groups": [{"lr": 5e-4, "params": [0, 1]}]},
    }
    path = folder / "mmpose_epoch_210.pth"
    torch.save(ckpt, path)
    return path, marker, x, ref, (w, h)


def test_read_checkpoint_is_safe(mmpose_checkpoint):
    path, marker, *_ = mmpose_checkpoint
    with pytest.raises(Exception):
        torch.load(path, weights_only=True)  # what a plain weights-only load says about this file
    ckpt = read_checkpoint(path)
    assert marker.is_dir()  # the hostile reduce (shutil.rmtree) was not executed
    assert "not loaded: shutil.rmtree" in repr(ckpt["meta"]["hostile"])
    assert isinstance(ckpt["meta"]["dataset_meta"]["sigmas"], np.ndarray)
    assert ckpt["meta"]["dataset_meta"]["sigmas"].dtype == np.float32
    assert "not loaded" in repr(ckpt["message_hub"]["log_scalars"]["train/loss"])
    assert all(isinstance(v, torch.Tensor) for v in ckpt["state_dict"].values())


def test_convert_writes_a_weights_only_checkpoint(mmpose_checkpoint, tmp_path):
    path, marker, x, ref, size = mmpose_checkpoint
    dst = tmp_path / "ours.pth"
    meta = convert_mmpose_checkpoint(path, dst, NAME, input_size=size)
    assert marker.is_dir()
    assert sorted(os.listdir(tmp_path)) == ["ours.pth"]  # no temporary file left
    out = torch.load(dst, weights_only=True)  # plain tensors and values only
    assert out["meta"] == meta and meta["model"] == NAME and meta["source"] == os.path.abspath(path)
    assert meta["model_overrides"] == {"input_size": list(size)}
    model = build_model(NAME, input_size=size).eval()
    load_checkpoint(model, str(dst))
    assert set(out["state_dict"]) == set(model.state_dict())
    with torch.no_grad():
        got = model(x)
        want = ref(x, None, mode="tensor")
    err = float((got - want).abs().max())
    assert torch.allclose(got, want, rtol=1e-5, atol=1e-5 * float(want.abs().max().clamp(min=1.0))), err


def test_convert_mismatch_lists_keys_and_writes_nothing(mmpose_checkpoint, tmp_path):
    path, *_ = mmpose_checkpoint
    dst = tmp_path / "ours.pth"
    dst.write_bytes(b"previous")
    with pytest.raises(CheckpointMismatchError, match=r"missing keys \(\d+\): .*unexpected keys \(\d+\): ") as info:
        convert_mmpose_checkpoint(path, dst, "shufflenetv2_coco_256x192", input_size=(64, 64))
    assert info.value.missing and info.value.unexpected
    assert dst.read_bytes() == b"previous" and sorted(os.listdir(tmp_path)) == ["ours.pth"]
    with pytest.raises(KeyError, match="unknown model"):
        convert_mmpose_checkpoint(path, dst, "nope")
    with pytest.raises(FileNotFoundError, match="src"):
        convert_mmpose_checkpoint(tmp_path / "missing.pth", dst, NAME)


def test_blocked_modules_fail_clearly(tmp_path):
    marker = tmp_path / "shell-ran"
    path = tmp_path / "hostile.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "meta": _HostileShell(str(marker))}, path)
    with pytest.raises(RuntimeError, match="re-save|Re-save"):
        read_checkpoint(path)
    assert not marker.exists()
