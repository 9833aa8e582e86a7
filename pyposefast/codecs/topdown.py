"""Top-down inference post-processing in one call: network outputs (and their flipped twins) for a
batch of person crops -> keypoints in image pixels and scores, on the outputs' device.

This is what MMPose's heads and ``TopdownPoseEstimator`` do per batch (flip-test merge in
``HeatmapHead.predict`` / ``SimCCHead.predict`` / ``RegressionHead.predict``, the codec's decode,
``add_pred_to_datasample``), without a host round trip or a Python loop over samples.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import torch

from ..structures import keypoints_to_image, keypoints_to_image_affine
from .base import BaseKeypointCodec
from .flip import flip_heatmaps, flip_vectors

__all__ = ["decode_topdown"]

Outputs = Union[torch.Tensor, Sequence[torch.Tensor]]


def _merge_flip(outputs: Outputs, flipped: Outputs, codec: BaseKeypointCodec, flip_indices, flip_mode: str,
                shift_heatmap: bool, shift_coords: bool) -> Outputs:
    if isinstance(outputs, torch.Tensor) and outputs.dim() == 4:  # heatmaps
        return (outputs + flip_heatmaps(flipped, flip_indices, flip_mode, shift_heatmap)) * 0.5
    if isinstance(outputs, (tuple, list)) and len(outputs) == 2:  # SimCC (x, y)
        fx, fy = flip_vectors(flipped[0], flipped[1], flip_indices)
        return (outputs[0] + fx) * 0.5, (outputs[1] + fy) * 0.5
    if isinstance(outputs, torch.Tensor) and outputs.dim() == 3:  # coordinates (normalised)
        from .regression_label import flip_coordinates

        return (outputs + flip_coordinates(flipped, flip_indices, shift_coords, codec.input_size)) * 0.5
    raise ValueError(
        "outputs must be heatmaps Tensor[B, C, H, W], SimCC vectors (Tensor[B, K, Wx], Tensor[B, K, Wy]) "
        f"or coordinates Tensor[B, K, D], got {type(outputs).__name__}"
    )


def decode_topdown(
    codec: BaseKeypointCodec,
    outputs: Outputs,
    flipped_outputs: Optional[Outputs] = None,
    *,
    input_center: torch.Tensor,
    input_scale: torch.Tensor,
    flip_indices: Optional[Sequence[int]] = None,
    flip_mode: str = "heatmap",
    shift_heatmap: bool = False,
    shift_coords: bool = True,
    warp_matrices: Optional[torch.Tensor] = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode a batch of top-down outputs to image pixels (flip-test merge, decode, inverse warp).

    Symbols: B crops, K keypoints, model input size ``codec.input_size = (w, h)``.

    Args:
        codec: the model's codec (MSRAHeatmap, UDPHeatmap, MegviiHeatmap, SimCCLabel,
            RegressionLabel, IntegralRegressionLabel ...); its ``batch_decode`` runs on the device.
        outputs: the network outputs for the crops: heatmaps ``Tensor[B, C, H, W]``, SimCC vectors
            ``(Tensor[B, K, Wx], Tensor[B, K, Wy])`` or coordinates ``Tensor[B, K, D]``.
        flipped_outputs: the same for the horizontally flipped crops (flip test), or None.
        input_center (Tensor[B, 2]): crop centres (x, y) in image pixels.
        input_scale (Tensor[B, 2]): crop sizes (w, h) in image pixels (padded, aspect-fixed).
        flip_indices (list[int]): the symmetric keypoint of each keypoint (required for flip test).
        flip_mode (str): heatmaps: ``'heatmap'``, ``'udp_combined'`` or ``'offset'``.
        shift_heatmap (bool): heatmaps: shift the flipped-back maps one pixel right (MMPose's MSRA/DARK
            configs set True; UDP configs False; the head's default False).
        shift_coords (bool): coordinates: MMPose's ``shift_coords`` (default True).
        warp_matrices (Tensor[B, 2, 3], optional): the forward image -> input warps; when given,
            keypoints are mapped back by their exact inverse (rotated crops). Otherwise MMPose's
            linear map ``kp / [w, h] * scale + center - 0.5 * scale``.

    Returns:
        tuple: ``keypoints`` Tensor[B, K, 2] float32 in image pixels and ``scores`` Tensor[B, K]
        float32, on the outputs' device. No host synchronisation.
    """
    if flipped_outputs is not None:
        if flip_indices is None:
            raise ValueError("flip_indices is required with flipped_outputs (flip test)")
        outputs = _merge_flip(outputs, flipped_outputs, codec, flip_indices, flip_mode, shift_heatmap, shift_coords)
    if isinstance(outputs, (tuple, list)):
        keypoints, scores = codec.batch_decode(*outputs)
    else:
        keypoints, scores = codec.batch_decode(outputs)
    if isinstance(scores, tuple):  # SimCC with decode_visibility: (scores, visibility)
        scores = scores[0]
    keypoints = keypoints[..., :2].to(torch.float32)
    if warp_matrices is not None:
        image = keypoints_to_image_affine(keypoints, warp_matrices.to(keypoints.device))
    else:
        image = keypoints_to_image(
            keypoints, tuple(float(v) for v in codec.input_size), input_center.to(keypoints.device),
            input_scale.to(keypoints.device)
        )
    return image.to(torch.float32), scores
