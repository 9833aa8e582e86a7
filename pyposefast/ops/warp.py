"""Top-down crops (kernel family 2): every person box out of its image in one launch.

``warp_affine`` samples, for each crop n, the source image ``image_index[n]`` at ``M_n^-1 (x, y)``
(bilinear, constant border), like ``cv2.warpAffine(img, M_n, (w, h), flags=INTER_LINEAR,
borderValue=border_value)`` in OpenCV >= 5 (which samples at the exact position; OpenCV 4 quantised
positions to 1/32 pixel), and writes straight into the network layout [N, C, h, w], optionally
normalised ``(v - mean[c]) / std[c]``, with BGR->RGB swapped and/or horizontally flipped.
Differentiable with respect to floating-point images (the backward scatters into the source pixels;
on CUDA it uses atomics and is not bit-deterministic).
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch

from .._constants import device_constant
from ..datasets.ragged import RaggedImages
from . import _checks

__all__ = ["warp_affine"]

IMAGE_DTYPES = (torch.uint8, torch.float32, torch.float64)
OUT_DTYPES = (torch.float32, torch.float16, torch.bfloat16, torch.float64)


def _channel_vector(name: str, value, C: int, device: torch.device, nonzero: bool = False) -> torch.Tensor:
    """mean/std as float32 [C] on the images' device; checked on the host (no device sync)."""
    compiling = torch.compiler.is_compiling()
    if value is None:
        return device_constant((), torch.float32, device)
    if isinstance(value, torch.Tensor):
        if compiling:
            return value.to(device=device, dtype=torch.float32).reshape(-1)
        value = value.detach().cpu().reshape(-1).tolist()
    values = tuple(float(v) for v in value)
    if len(values) != C:
        raise ValueError(f"{name} must have one value per channel ({C}), got {len(values)}")
    if nonzero and any(v == 0 for v in values):
        raise ValueError(f"{name} must be non-zero, got {values}")
    return device_constant(values, torch.float32, device)


def _check_index_values(images: RaggedImages, image_index: torch.Tensor) -> None:
    """Value checks of image_index and the ragged metadata. They read the values (one device sync for
    CUDA tensors), so they are skipped while torch.compile traces or a CUDA graph is captured; the
    kernels themselves never read outside ``images`` (a bad index or size gives a border crop)."""
    # Only CUDA inputs can be under graph capture; asking CUDA about CPU inputs would initialise it
    # (and fail in a forked data-loader worker of a process that already uses CUDA).
    on_cuda = image_index.is_cuda or images.data.is_cuda
    if torch.compiler.is_compiling() or (on_cuda and torch.cuda.is_current_stream_capturing()):
        return
    if image_index.numel():
        lo, hi = (int(v) for v in torch.aminmax(image_index.detach()))  # one device sync at most
        if lo < 0 or hi >= len(images):
            raise IndexError(f"image_index values must be in [0, {len(images)}), got min {lo} max {hi}")
    sizes = images.cpu_sizes if images.cpu_sizes is not None else images.sizes.detach().cpu()
    offsets = images.cpu_offsets if images.cpu_offsets is not None else images.offsets.detach().cpu()
    if sizes.numel() and bool((sizes < 0).any()):
        raise ValueError("images.sizes must be non-negative")
    ends = offsets + sizes[:, 0] * sizes[:, 1] * images.channels
    if offsets.numel() and (bool((offsets < 0).any()) or int(ends.max()) > images.data.numel()):
        raise ValueError("images.offsets/sizes point outside images.data")


def warp_affine(
    images: Union[torch.Tensor, RaggedImages],
    matrices: torch.Tensor,
    output_size: Sequence[int],
    *,
    image_index: Optional[torch.Tensor] = None,
    mean: Optional[Sequence[float]] = None,
    std: Optional[Sequence[float]] = None,
    bgr_to_rgb: bool = False,
    flip: bool = False,
    border_value: float = 0.0,
    out_dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Crop, resample and normalise a batch of boxes in one kernel launch.

    Args:
        images (Tensor[B, H, W, C] or RaggedImages): source images, HWC, uint8 / float32 / float64
            (float images are differentiable). A ragged batch holds images of different sizes.
        matrices (Tensor[N, 2, 3]): forward (source -> crop) affine matrices, cv2 convention, e.g.
            from ``pyposefast.structures.get_warp_matrix``. Computed in float64.
        output_size (tuple[int, int]): crop size (w, h).
        image_index (Tensor[N] int64, optional): source image of each crop; None means crop n
            comes from image n (N == B). On the images' device or on the CPU (then it is checked
            without a device sync and copied).
        mean, std (sequence of C floats, optional): per output channel normalisation
            ``(v - mean) / std`` (both or neither).
        bgr_to_rgb (bool): reverse the channel order (applied before normalisation).
        flip (bool): flip every crop horizontally (flip test).
        border_value (float): value of pixels outside the image, before normalisation.
        out_dtype (torch.dtype): float32 (default), float16, bfloat16 or float64.

    Returns:
        Tensor[N, C, h, w] of ``out_dtype`` on the images' device. A singular or non-finite matrix
        (e.g. a zero-size box) gives an all-border crop, never NaN.

    Raises:
        TypeError / ValueError / IndexError naming the argument for bad dtypes, shapes, devices and
        index values.
    """
    if isinstance(images, torch.Tensor):
        if images.dim() != 4:
            raise ValueError(f"images must be [B, H, W, C] or RaggedImages, got shape {tuple(images.shape)}")
        ragged = RaggedImages.from_dense(images).to(images.device)  # metadata from CPU: checks need no sync
    elif isinstance(images, RaggedImages):
        ragged = images
    else:
        raise TypeError(f"images must be a Tensor [B, H, W, C] or RaggedImages, got {type(images).__name__}")
    if ragged.data.dtype not in IMAGE_DTYPES:
        raise TypeError(f"images must be uint8, float32 or float64, got {ragged.data.dtype}")
    device = ragged.data.device
    matrices = _checks.require_tensor("matrices", matrices)
    if matrices.dim() != 3 or matrices.shape[1:] != (2, 3):
        raise ValueError(f"matrices must be [N, 2, 3], got shape {tuple(matrices.shape)}")
    _checks.require_floating("matrices", matrices)
    _checks.require_same_device("matrices", matrices, "images", ragged.data)
    N = matrices.shape[0]
    if image_index is None:
        if N != len(ragged):
            raise ValueError(f"without image_index, matrices must have one row per image ({len(ragged)}), got {N}")
        image_index = torch.arange(N)  # on the host: checked there, then copied
    image_index = _checks.require_tensor("image_index", image_index)
    if image_index.dtype.is_floating_point or image_index.dtype == torch.bool or image_index.shape != (N,):
        raise ValueError(f"image_index must be an integer tensor [N] = [{N}], got {image_index.dtype} {tuple(image_index.shape)}")
    if image_index.device != device and image_index.device.type != "cpu":
        raise ValueError(f"image_index is on {image_index.device} but images is on {device}; pass it on the images' "
                         "device or on the CPU")
    w, h = _checks.size_pair("output_size", output_size)
    if (mean is None) != (std is None):
        raise ValueError("mean and std must be given together")
    C = ragged.channels
    mean_t = _channel_vector("mean", mean, C, device)
    std_t = _channel_vector("std", std, C, device, nonzero=True)
    if out_dtype not in OUT_DTYPES:
        raise TypeError(f"out_dtype must be one of float32, float16, bfloat16, float64, got {out_dtype!r}")
    _check_index_values(ragged, image_index)
    return torch.ops.pyposefast.warp_affine(
        ragged.data, ragged.offsets.to(device), ragged.sizes.to(device),
        image_index.to(device=device, dtype=torch.int64, non_blocking=True),
        matrices.detach().to(torch.float64).contiguous(), C, w, h, mean_t, std_t, bool(bgr_to_rgb), bool(flip),
        float(border_value), out_dtype,
    )


def _setup_context(ctx, inputs, output):
    images, offsets, sizes, index, matrices, channels, _w, _h, _mean, std, bgr, flip, _border, _dtype = inputs
    ctx.save_for_backward(images, offsets, sizes, index, matrices, std)
    ctx.channels, ctx.bgr, ctx.flip = channels, bgr, flip


def _backward(ctx, grad):
    images, offsets, sizes, index, matrices, std = ctx.saved_tensors
    grad_images = None
    if ctx.needs_input_grad[0]:
        grad_images = torch.ops.pyposefast._warp_affine_backward(
            grad, images, offsets, sizes, index, matrices, ctx.channels, std, ctx.bgr, ctx.flip
        )
    return grad_images, None, None, None, None, None, None, None, None, None, None, None, None, None


torch.library.register_autograd("pyposefast::warp_affine", _backward, setup_context=_setup_context)
