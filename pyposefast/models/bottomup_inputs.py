"""Network inputs of a bottom-up model from whole images: MMPose's bottom-up val pipeline
(``BottomupResize`` + the data preprocessor's normalisation) on the device, returning what
``BottomupPoseEstimator.predict(x, input_center=..., input_scale=...)`` needs to give keypoints in
the original images' pixels."""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from ..datasets.ragged import RaggedImages
from ..ops import warp_affine
from .inference import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["bottomup_inputs"]


def bottomup_inputs(images: Union[RaggedImages, Sequence[Any]], input_size: Sequence[int], size_factor: int = 64,
                    resize_mode: str = "expand", use_udp: bool = False, mean: Sequence[float] = IMAGENET_MEAN,
                    std: Sequence[float] = IMAGENET_STD, bgr_to_rgb: bool = True,
                    device: Optional[Union[str, torch.device]] = None) -> tuple[Tensor, Tensor, Tensor]:
    """Resize whole images into one network batch as MMPose's ``BottomupResize`` does.

    Args:
        images (RaggedImages or sequence of HWC arrays / tensors): the images (uint8, BGR when
            ``bgr_to_rgb``); all must resize to the same padded input size (MMPose asserts the same
            within a batch; images of one size always do).
        input_size (tuple[int, int]): the model input (w, h), e.g. the codec's ``input_size``.
        size_factor (int): input sides are multiples of it (the AE HRNet COCO config: 64).
        resize_mode (str): ``'expand'`` (the AE config: the input grows to cover the image) or ``'fit'``.
        use_udp (bool): UDP resize (``get_udp_warp_matrix``).
        mean, std (sequence of 3 floats), bgr_to_rgb (bool): the data preprocessor's settings.
        device: where the batch goes (default: the images' device).

    Returns:
        tuple: ``x`` Tensor[B, 3, H, W] float32 (the padded input), ``input_center`` Tensor[B, 2]
        float32 and ``input_scale`` Tensor[B, 2] float32 (MMPose's metainfo), on ``device``.

    Raises:
        ValueError: images that resize to different input sizes, or a bad ``resize_mode`` /
            ``input_size`` / ``size_factor``.
    """
    from ..apis.geometry import bottomup_geometry  # plain geometry; apis imports models, so import here

    ragged = images if isinstance(images, RaggedImages) else RaggedImages.from_images(list(images))
    if len(ragged) == 0:
        raise ValueError("images must hold at least one image")
    device = torch.device(device) if device is not None else ragged.data.device
    sizes = (ragged.cpu_sizes if ragged.cpu_sizes is not None else ragged.sizes.cpu()).tolist()
    geos = [bottomup_geometry((w, h), tuple(input_size), size_factor, resize_mode, use_udp) for h, w in sizes]
    padded = {g[0] for g in geos}
    if len(padded) != 1:
        raise ValueError(f"images resize to different network input sizes {sorted(padded)}; batch images that "
                         "resize alike (e.g. of one size) together")
    (w, h), = padded
    warp = torch.from_numpy(np.stack([g[3] for g in geos])).to(device)
    center = torch.from_numpy(np.stack([g[1] for g in geos])).to(device)
    scale = torch.from_numpy(np.stack([g[2] for g in geos])).to(device)
    x = warp_affine(ragged.to(device), warp, (w, h), mean=mean, std=std, bgr_to_rgb=bgr_to_rgb)
    return x, center, scale
