"""A C++ argument check that throws must reach Python as RuntimeError, on CPU and CUDA tensors."""

import torch

import pyposefast  # noqa: F401

devices = ["cpu"] + (["cuda"] if pyposefast.cuda_available() else [])
for device in devices:
    try:
        torch.ops.pyposefast.gaussian_heatmaps(
            torch.rand(2, 17, 2, device=device), torch.ones(2, 17, device=device), 48, 64, 2.0, "msra", torch.float32
        )
    except RuntimeError as exc:
        print(device, "ok:", str(exc).splitlines()[0])
    else:
        raise SystemExit(f"{device}: no error raised")
