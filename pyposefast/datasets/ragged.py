"""RaggedImages: a batch of images of different sizes packed in one buffer, for the GPU pipeline.

Data-loader workers only decode images; ``collate_images`` packs them into one (pinnable) buffer that
moves to the GPU in a single non-blocking copy, where ``pyposefast.ops.warp_affine`` crops every
person box out of its image in one launch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Union

import numpy as np
import torch

ImageLike = Union[np.ndarray, torch.Tensor]


@dataclass
class RaggedImages:
    """Images [H_b, W_b, C] (HWC, any sizes, one dtype and channel count) packed in one buffer.

    Attributes:
        data (Tensor[total]): every image's HWC elements, back to back (uint8 or float).
        offsets (Tensor[B] int64): element offset of image b in ``data``.
        sizes (Tensor[B, 2] int64): (H, W) of image b.
        channels (int): C.

    ``offsets`` and ``sizes`` are small; they travel with ``data`` (``to``) and keep a CPU copy for
    argument checks without device synchronisation.
    """

    data: torch.Tensor
    offsets: torch.Tensor
    sizes: torch.Tensor
    channels: int
    # CPU copies of offsets/sizes, kept when the metadata moves to a device (checks need no sync)
    cpu_offsets: Optional[torch.Tensor] = None
    cpu_sizes: Optional[torch.Tensor] = None

    def __post_init__(self) -> None:
        if self.data.dim() != 1:
            raise ValueError(f"RaggedImages.data must be 1-D, got shape {tuple(self.data.shape)}")
        if self.offsets.dim() != 1 or self.sizes.shape != (self.offsets.shape[0], 2):
            raise ValueError("RaggedImages.offsets must be [B] and sizes [B, 2]")
        self.offsets = self.offsets.to(torch.int64)
        self.sizes = self.sizes.to(torch.int64)
        if self.offsets.device.type == "cpu":
            self.cpu_offsets, self.cpu_sizes = self.offsets, self.sizes

    @staticmethod
    def from_images(images: Sequence[ImageLike]) -> "RaggedImages":
        """Pack a list of HWC (or HW, as C = 1) arrays/tensors of one dtype and channel count."""
        tensors = [torch.as_tensor(np.ascontiguousarray(im)) if isinstance(im, np.ndarray) else im for im in images]
        tensors = [t.unsqueeze(-1) if t.dim() == 2 else t for t in tensors]
        if not tensors:
            return RaggedImages(torch.empty(0, dtype=torch.uint8), torch.empty(0, dtype=torch.int64),
                                torch.empty(0, 2, dtype=torch.int64), 3)
        for i, t in enumerate(tensors):
            if t.dim() != 3:
                raise ValueError(f"images[{i}] must be HWC or HW, got shape {tuple(t.shape)}")
            if t.shape[2] != tensors[0].shape[2] or t.dtype != tensors[0].dtype:
                raise ValueError(
                    f"images[{i}] has {t.shape[2]} channels of {t.dtype}; images[0] has "
                    f"{tensors[0].shape[2]} of {tensors[0].dtype}: one channel count and dtype per batch"
                )
        sizes = torch.tensor([[t.shape[0], t.shape[1]] for t in tensors], dtype=torch.int64)
        numels = sizes[:, 0] * sizes[:, 1] * tensors[0].shape[2]
        offsets = torch.cumsum(numels, 0) - numels
        data = torch.cat([t.reshape(-1) for t in tensors])
        return RaggedImages(data, offsets, sizes, int(tensors[0].shape[2]))

    @staticmethod
    def from_dense(images: torch.Tensor) -> "RaggedImages":
        """A dense batch [B, H, W, C] as a ragged one (a view, no copy when contiguous)."""
        if images.dim() != 4:
            raise ValueError(f"images must be [B, H, W, C], got shape {tuple(images.shape)}")
        B, H, W, C = images.shape
        offsets = torch.arange(B, dtype=torch.int64) * (H * W * C)
        sizes = torch.tensor([[H, W]], dtype=torch.int64).expand(B, 2).contiguous()
        return RaggedImages(images.contiguous().reshape(-1), offsets, sizes, int(C))

    def __len__(self) -> int:
        return int(self.offsets.shape[0])

    @property
    def device(self) -> torch.device:
        return self.data.device

    def image(self, b: int) -> torch.Tensor:
        """Image b as an [H, W, C] view of ``data``."""
        h, w = (int(v) for v in self.sizes[b].tolist())
        start = int(self.offsets[b])
        return self.data[start : start + h * w * self.channels].view(h, w, self.channels)

    def to(self, device: Union[str, torch.device], non_blocking: bool = False) -> "RaggedImages":
        return RaggedImages(self.data.to(device, non_blocking=non_blocking),
                            self.offsets.to(device, non_blocking=non_blocking),
                            self.sizes.to(device, non_blocking=non_blocking), self.channels,
                            self.cpu_offsets, self.cpu_sizes)

    def pin_memory(self) -> "RaggedImages":
        """For DataLoader(pin_memory=True): page-locked buffers make ``to(cuda, non_blocking)`` async."""
        return RaggedImages(self.data.pin_memory(), self.offsets.pin_memory(), self.sizes.pin_memory(), self.channels,
                            self.cpu_offsets, self.cpu_sizes)


def collate_images(images: Sequence[ImageLike], pin_memory: bool = False) -> RaggedImages:
    """``collate_fn`` helper: a list of decoded HWC images -> one RaggedImages (optionally pinned)."""
    batch = RaggedImages.from_images(images)
    return batch.pin_memory() if pin_memory and torch.cuda.is_available() else batch
