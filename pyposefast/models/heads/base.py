"""What every top-down head shares: ``predict`` = forward (and the flipped twin) -> the codecs'
batched device decode (``decode_topdown``) -> keypoints in image pixels."""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from torch import Tensor, nn

from ...codecs import decode_topdown

__all__ = ["BaseHead", "Feats"]

Feats = Sequence[Tensor]


class BaseHead(nn.Module):
    """Base of the heads: subclasses set ``decoder`` (a codec or None) and define ``forward`` and
    ``loss``. ``predict`` works for any head whose ``forward`` returns heatmaps, SimCC vectors or
    normalised coordinates."""

    decoder: Any = None
    flip_mode: str = "heatmap"

    def _outputs_for_decode(self, feats: Feats) -> Any:
        return self.forward(feats)

    def _decode_codec(self) -> Any:
        return self.decoder

    def predict(self, feats: Feats, flipped_feats: Optional[Feats] = None, *, input_center: Tensor,
                input_scale: Tensor, flip_indices: Optional[Sequence[int]] = None, shift_heatmap: bool = False,
                shift_coords: bool = True, warp_matrices: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
        """Keypoints in image pixels for a batch of crops (flip test when ``flipped_feats`` is given).

        Args:
            feats (tuple[Tensor]): the neck/backbone features of the crops.
            flipped_feats (tuple[Tensor], optional): features of the horizontally flipped crops.
            input_center (Tensor[B, 2]), input_scale (Tensor[B, 2]): crop centres and sizes (x, y)
                in image pixels.
            flip_indices (Sequence[int]): mirror keypoint of each keypoint (flip test).
            shift_heatmap (bool), shift_coords (bool): MMPose's ``test_cfg`` flags.
            warp_matrices (Tensor[B, 2, 3], optional): exact forward warps (rotated crops).

        Returns:
            tuple: keypoints Tensor[B, K, 2] float32 (image pixels) and scores Tensor[B, K] float32.
        """
        if self.decoder is None:
            raise RuntimeError(f"{type(self).__name__} has no decoder (codec): pass decoder= to predict")
        out = self._outputs_for_decode(feats)
        flipped = None if flipped_feats is None else self._outputs_for_decode(flipped_feats)
        return decode_topdown(self._decode_codec(), out, flipped, input_center=input_center, input_scale=input_scale,
                              flip_indices=flip_indices, flip_mode=self.flip_mode, shift_heatmap=shift_heatmap,
                              shift_coords=shift_coords, warp_matrices=warp_matrices)

    @staticmethod
    def _weights(keypoint_weights: Optional[Tensor], like: Tensor) -> Tensor:
        if keypoint_weights is None:
            return torch.ones(like.shape[:2], dtype=like.dtype, device=like.device)
        return keypoint_weights
