"""Top-down inference end to end on the device, CUDA-graph capturable: crop every person box out of
its image (``ops.warp_affine``, normalised, BGR->RGB), run the network on the crops and on the
flipped crops, merge the flip test, decode with the codec's batched device op and map the keypoints
back to image pixels.

The result equals ``TopdownPoseEstimator.predict`` on the same crops (same ops, same order); what
differs is that every constant the post-processing needs on the device (the flip permutation, the
codec's scale factors) is a buffer made once, so a call does no host-to-device copy and no host
synchronisation and can be captured in a CUDA graph (``StaticGraph``).

Why not call ``decode_topdown`` directly under capture: as of this writing the library's
post-processing copies small constants from pageable host memory on every call
(``codecs.flip._flip_index(...).to(device)``, ``BaseHeatmapCodec._to_input_space``'s
``torch.from_numpy(scale_factor).to(device)``, ``UDPHeatmap._to_input_space``'s
``torch.tensor(..., device=...)``, ``RegressionLabel.batch_decode``'s ``new_tensor``); such a copy
synchronises the stream, which CUDA forbids while capturing. The decode kernels themselves
(``decode_heatmaps``, ``decode_simcc``) and ``warp_affine`` (with a device ``image_index`` and
``RaggedImages`` already on the device) are capturable.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import torch
from torch import Tensor, nn

from ..codecs import MegviiHeatmap, MSRAHeatmap, RegressionLabel, SimCCLabel, UDPHeatmap, flip_heatmaps
from ..codecs.integral_regression_label import IntegralRegressionLabel
from ..datasets.ragged import RaggedImages
from ..ops import decode_heatmaps, warp_affine
from ..structures import keypoints_to_image
from .estimators import TopdownPoseEstimator

__all__ = ["TopdownInference", "IMAGENET_MEAN", "IMAGENET_STD"]

IMAGENET_MEAN = (123.675, 116.28, 103.53)  # RGB, MMPose's data preprocessor
IMAGENET_STD = (58.395, 57.12, 57.375)


class TopdownInference(nn.Module):
    """Images + person boxes -> keypoints in image pixels, all on the images' device.

    Args:
        model (TopdownPoseEstimator): a top-down model whose head has a decoder (codec):
            MSRAHeatmap, UDPHeatmap, MegviiHeatmap, SimCCLabel, RegressionLabel or
            IntegralRegressionLabel.
        mean, std (sequence of 3 floats): normalisation of the crops (after BGR->RGB).
        bgr_to_rgb (bool): the images are BGR (cv2) and the model takes RGB (MMPose's default).
        flip_test (bool, optional): default: the model's ``flip_test`` (needs ``flip_indices``).
        autocast_dtype (torch.dtype, optional): run the network under CUDA autocast in this dtype
            (float16 / bfloat16; the weight-cast cache is off so that a CUDA graph can hold it).

    ``forward(images, matrices, image_index, input_center, input_scale)``:
        images (RaggedImages): HWC uint8 (or float) images on the device.
        matrices (Tensor[N, 2, 3]): image -> crop warps (``structures.get_warp_matrix``), any float.
        image_index (Tensor[N] int64): source image of each box, on the images' device.
        input_center (Tensor[N, 2]), input_scale (Tensor[N, 2]): box centres / padded sizes (x, y)
            in image pixels (the ``get_warp_matrix`` arguments).
    returns ``(keypoints Tensor[N, K, 2] float32 image pixels, scores Tensor[N, K] float32)``.

    The parts are methods (``crop``, ``network``, ``decode``) so that a benchmark can time the
    network alone on the same inputs. The device constants are made on the model's device (move
    the model first, or move this module with ``.to``).
    """

    def __init__(self, model: TopdownPoseEstimator, mean: Sequence[float] = IMAGENET_MEAN,
                 std: Sequence[float] = IMAGENET_STD, bgr_to_rgb: bool = True, flip_test: Optional[bool] = None,
                 autocast_dtype: Optional[torch.dtype] = None) -> None:
        super().__init__()
        if not isinstance(model, TopdownPoseEstimator):
            raise TypeError(f"model must be a TopdownPoseEstimator, got {type(model).__name__}")
        codec = getattr(model.head, "decoder", None)
        if codec is None:
            raise ValueError("model.head has no decoder (codec); TopdownInference decodes with it")
        if autocast_dtype not in (None, torch.float16, torch.bfloat16):
            raise ValueError(f"autocast_dtype must be None, torch.float16 or torch.bfloat16, got {autocast_dtype!r}")
        self.model, self.codec = model, codec
        self.mean, self.std = tuple(float(v) for v in mean), tuple(float(v) for v in std)
        self.bgr_to_rgb = bool(bgr_to_rgb)
        self.autocast_dtype = autocast_dtype
        self._compiled_network: Optional[Any] = None
        self.input_size = tuple(int(v) for v in codec.input_size)
        flip = model.flip_test if flip_test is None else bool(flip_test)
        if flip and model.flip_indices is None:
            raise ValueError("flip_test needs the model's flip_indices")
        self.flip_test = flip
        param = next(iter(model.parameters()), None)
        device = param.device if param is not None else torch.device("cpu")  # buffers follow .to() later
        index = torch.as_tensor(model.flip_indices if flip else [], dtype=torch.int64, device=device)
        self.register_buffer("flip_index", index, persistent=False)
        # the codec's heatmap/bin -> input-pixel constants, as device buffers (see the module docstring)
        if isinstance(codec, UDPHeatmap):
            W, H = codec.heatmap_size
            self.register_buffer("udp_denominator", torch.tensor([W - 1, H - 1], dtype=torch.float32, device=device),
                                 persistent=False)
            self.register_buffer("udp_input_size", torch.tensor(codec.input_size, dtype=torch.float32, device=device),
                                 persistent=False)
        elif isinstance(codec, (MSRAHeatmap, MegviiHeatmap)):
            self.register_buffer("scale_factor", torch.from_numpy(codec.scale_factor.copy()).to(device),
                                 persistent=False)
        elif isinstance(codec, (RegressionLabel, IntegralRegressionLabel)):
            w, h = self.input_size
            self.register_buffer("coordinate_scale", torch.tensor([w, h], dtype=torch.float32, device=device),
                                 persistent=False)
        elif not isinstance(codec, SimCCLabel):
            raise TypeError(f"TopdownInference does not support the codec {type(codec).__name__}")

    # ---- the parts --------------------------------------------------------------------------------
    def crop(self, images: RaggedImages, matrices: Tensor, image_index: Tensor, flip: bool = False) -> Tensor:
        """Normalised crops Tensor[N, 3, h, w] float32 (horizontally flipped when ``flip``)."""
        return warp_affine(images, matrices, self.input_size, image_index=image_index, mean=self.mean, std=self.std,
                           bgr_to_rgb=self.bgr_to_rgb, flip=flip)

    def _raw_head_outputs(self, crops: Tensor) -> Any:
        if self.autocast_dtype is not None and crops.is_cuda:
            with torch.autocast("cuda", dtype=self.autocast_dtype, cache_enabled=False):
                return self.model.head._outputs_for_decode(self.model.extract_feat(crops))
        return self.model.head._outputs_for_decode(self.model.extract_feat(crops))

    def _head_outputs(self, crops: Tensor) -> Any:
        fn = self._compiled_network if self._compiled_network is not None else self._raw_head_outputs
        return fn(crops)

    def compile_network(self, **compile_kwargs: Any) -> None:
        """``torch.compile`` the network part (backbone, neck, head up to the decoded outputs) with
        ``compile_kwargs`` (e.g. ``mode="max-autotune-no-cudagraphs"``); crop and decode stay as they are."""
        self._compiled_network = torch.compile(self._raw_head_outputs, **compile_kwargs)

    def network(self, crops: Tensor, flipped_crops: Optional[Tensor] = None) -> tuple[Any, Any]:
        """The head outputs that are decoded (heatmaps, SimCC vectors or coordinates) for the crops
        and, when given, the flipped crops (None otherwise)."""
        out = self._head_outputs(crops)
        return out, (None if flipped_crops is None else self._head_outputs(flipped_crops))

    def _flip_back(self, flipped: Any) -> Any:
        head, idx = self.model.head, self.flip_index
        if isinstance(flipped, Tensor) and flipped.dim() == 4:  # heatmaps: flip and shift, then permute
            B, C, H, W = flipped.shape
            out = flip_heatmaps(flipped, None, head.flip_mode, self.model.shift_heatmap)
            K = idx.numel()
            return out.view(B, K, C // K, H, W).index_select(1, idx).view(B, C, H, W)
        if isinstance(flipped, (tuple, list)) and len(flipped) == 2:  # SimCC
            return flipped[0].index_select(1, idx).flip(-1), flipped[1].index_select(1, idx)
        if isinstance(flipped, Tensor) and flipped.dim() == 3:  # normalised coordinates
            from ..codecs.regression_label import flip_coordinates

            return flip_coordinates(flipped, idx, self.model.shift_coords, self.input_size)
        raise TypeError(f"cannot flip head outputs of type {type(flipped).__name__}")

    def decode(self, outputs: Any, flipped_outputs: Any, input_center: Tensor,
               input_scale: Tensor) -> tuple[Tensor, Tensor]:
        """Flip merge (when ``flipped_outputs`` is given), decode, back to image pixels: keypoints
        Tensor[N, K, 2] float32 and scores Tensor[N, K] float32."""
        if flipped_outputs is not None:
            back = self._flip_back(flipped_outputs)
            if isinstance(outputs, Tensor):
                outputs = (outputs + back) * 0.5
            else:
                outputs = ((outputs[0] + back[0]) * 0.5, (outputs[1] + back[1]) * 0.5)
        codec = self.codec
        if isinstance(codec, SimCCLabel):
            keypoints, scores = codec.batch_decode(*outputs)
            if isinstance(scores, tuple):
                scores = scores[0]
        elif isinstance(codec, UDPHeatmap):
            keypoints, scores = codec._decode_heatmap_pixels(outputs)
            keypoints = keypoints / self.udp_denominator * self.udp_input_size
        elif isinstance(codec, MSRAHeatmap):
            keypoints, scores = codec._decode_heatmap_pixels(outputs)
            keypoints = keypoints * self.scale_factor
        elif isinstance(codec, MegviiHeatmap):
            keypoints, scores = decode_heatmaps(outputs, "megvii", int(codec.kernel_size))
            keypoints = keypoints * self.scale_factor
        else:  # regression: normalised (x, y[, sigma_x, sigma_y]) coordinates
            enc = outputs if outputs.is_floating_point() else outputs.to(torch.float32)
            keypoints = enc[..., :2] * self.coordinate_scale.to(enc.dtype)
            scores = (torch.ones(enc.shape[:2], dtype=enc.dtype, device=enc.device) if enc.shape[-1] == 2
                      else (1 - enc[..., 2:4]).mean(dim=-1))
        keypoints = keypoints[..., :2].to(torch.float32)
        image = keypoints_to_image(keypoints, tuple(float(v) for v in self.input_size), input_center, input_scale)
        return image.to(torch.float32), scores

    @torch.no_grad()
    def forward(self, images: RaggedImages, matrices: Tensor, image_index: Tensor, input_center: Tensor,
                input_scale: Tensor) -> tuple[Tensor, Tensor]:
        crops = self.crop(images, matrices, image_index)
        flipped = self.crop(images, matrices, image_index, flip=True) if self.flip_test else None
        outputs, flipped_outputs = self.network(crops, flipped)
        return self.decode(outputs, flipped_outputs, input_center, input_scale)

