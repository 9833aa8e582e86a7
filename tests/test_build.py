"""The package as built: build facts, the op registry, the torch-mismatch message."""

from __future__ import annotations

import pytest
import torch

import pyposefast
from pyposefast import _extension


def test_build_info():
    info = pyposefast.build_info()
    assert set(info) >= {"pyposefast", "torch", "torch_cuda", "with_cuda", "cuda", "cuda_architectures"}
    assert info["pyposefast"] == pyposefast.__version__
    assert info["torch"].split("+")[0] == torch.__version__.split("+")[0]
    assert isinstance(info["with_cuda"], bool)
    if info["with_cuda"]:
        assert info["cuda"] and info["cuda_architectures"] and info["torch_cuda"]
    else:
        assert info["cuda"] == "" and info["cuda_architectures"] == ""
    assert pyposefast.cuda_available() == (info["with_cuda"] and torch.cuda.is_available())


def test_build_config_agrees_with_extension():
    from pyposefast import _build_config

    info = pyposefast.build_info()
    assert _build_config.TORCH_VERSION == info["torch"]
    assert _build_config.WITH_CUDA == info["with_cuda"]


def test_ops_are_registered_with_the_dispatcher():
    for name in ("gaussian_heatmaps", "udp_offset_heatmaps"):
        op = getattr(torch.ops.pyposefast, name)
        assert torch._C._dispatch_has_kernel_for_dispatch_key(op.default.name(), "CPU")
        if pyposefast.build_info()["with_cuda"]:
            assert torch._C._dispatch_has_kernel_for_dispatch_key(op.default.name(), "CUDA")


def test_torch_mismatch_message_names_both_versions_and_the_fix():
    _extension.check_torch_version("2.13.0+cpu", "2.13.0+cu130")  # same release: fine
    with pytest.raises(ImportError) as info:
        _extension.check_torch_version("2.11.0+cu130", "2.13.0+cpu")
    message = str(info.value)
    assert "2.11.0+cu130" in message and "2.13.0+cpu" in message
    assert "pip install --no-build-isolation" in message


@pytest.mark.skipif(pyposefast.build_info()["with_cuda"], reason="only a CPU-only build lacks CUDA kernels")
def test_cpu_only_build_says_so_for_cuda_tensors():
    if not torch.cuda.is_available():
        pytest.skip("no GPU to make a CUDA tensor on")
    with pytest.raises(NotImplementedError, match="no CUDA kernels"):
        pyposefast.ops.gaussian_heatmaps(torch.rand(1, 3, 2, device="cuda"), None, (8, 8), 2.0)
