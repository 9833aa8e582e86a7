"""Pose estimators composed by passing submodules in: TopdownPoseEstimator, BottomupPoseEstimator
and PoseLifter. ``model(x)`` returns the raw network outputs (MMPose's ``mode='tensor'``),
``model.loss(x, ...)`` a dict of losses, ``model.predict(x, ...)`` keypoints in image pixels.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

__all__ = ["TopdownPoseEstimator", "BottomupPoseEstimator", "PoseLifter"]


class _Estimator(nn.Module):
    def __init__(self, backbone: nn.Module, head: nn.Module, neck: Optional[nn.Module] = None) -> None:
        super().__init__()
        self.backbone = backbone
        if neck is not None:
            self.neck = neck
        self.head = head

    def extract_feat(self, x: Tensor) -> tuple[Tensor, ...]:
        """Backbone (and neck) features: a tuple of tensors."""
        feats = self.backbone(x)
        if isinstance(feats, Tensor):
            feats = (feats,)
        if hasattr(self, "neck"):
            feats = self.neck(feats)
        return tuple(feats) if not isinstance(feats, Tensor) else (feats,)

    def forward(self, x: Tensor) -> Any:
        """The raw head outputs for a normalised batch (MMPose's ``mode='tensor'``)."""
        return self.head(self.extract_feat(x))

    def loss(self, x: Tensor, **targets: Any) -> dict[str, Tensor]:
        """Losses for a batch: ``targets`` are the head's ``loss`` arguments (e.g. ``heatmaps=``,
        ``keypoint_weights=``; ``keypoint_x_labels=``, ``keypoint_y_labels=``; ``keypoint_labels=``;
        ``keypoint_indices=``)."""
        return self.head.loss(self.extract_feat(x), **targets)


class TopdownPoseEstimator(_Estimator):
    """Top-down estimator: person crops -> keypoints.

    Args:
        backbone (nn.Module): returns a tuple of feature maps.
        head (nn.Module): a head with ``forward``, ``loss`` and ``predict`` (HeatmapHead, SimCCHead,
            RTMCCHead, RegressionHead, RLEHead, IntegralRegressionHead ...).
        neck (nn.Module, optional): e.g. GlobalAveragePooling for regression heads.
        flip_test (bool): average with the prediction on the horizontally flipped crops.
        shift_heatmap (bool): MMPose's ``test_cfg.shift_heatmap``.
        shift_coords (bool): MMPose's ``test_cfg.shift_coords`` (regression heads).
        flip_indices (Sequence[int], optional): default mirror keypoint of each keypoint.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, neck: Optional[nn.Module] = None,
                 flip_test: bool = True, shift_heatmap: bool = False, shift_coords: bool = True,
                 flip_indices: Optional[Sequence[int]] = None) -> None:
        super().__init__(backbone, head, neck)
        self.flip_test = flip_test
        self.shift_heatmap = shift_heatmap
        self.shift_coords = shift_coords
        self.flip_indices = None if flip_indices is None else list(flip_indices)

    def predict(self, x: Tensor, input_center: Tensor, input_scale: Tensor,
                flip_indices: Optional[Sequence[int]] = None, warp_matrices: Optional[Tensor] = None,
                flip_test: Optional[bool] = None) -> tuple[Tensor, Tensor]:
        """Keypoints of a batch of normalised crops, in image pixels.

        Args:
            x (Tensor[B, 3, h, w]): normalised crops.
            input_center (Tensor[B, 2]), input_scale (Tensor[B, 2]): crop centres / sizes in image pixels.
            flip_indices (Sequence[int], optional): overrides the estimator's.
            warp_matrices (Tensor[B, 2, 3], optional): exact image -> crop warps (rotated crops).
            flip_test (bool, optional): overrides the estimator's.

        Returns:
            tuple: keypoints Tensor[B, K, 2] float32 (image pixels), scores Tensor[B, K] float32.
        """
        flip_indices = flip_indices if flip_indices is not None else self.flip_indices
        do_flip = (self.flip_test if flip_test is None else flip_test) and flip_indices is not None
        feats = self.extract_feat(x)
        flipped = self.extract_feat(x.flip(-1)) if do_flip else None
        return self.head.predict(feats, flipped, input_center=input_center, input_scale=input_scale,
                                 flip_indices=flip_indices, shift_heatmap=self.shift_heatmap,
                                 shift_coords=self.shift_coords, warp_matrices=warp_matrices)


class BottomupPoseEstimator(_Estimator):
    """Bottom-up estimator (associative embedding): whole images -> all people.

    ``forward(x) -> (heatmaps Tensor[B, K, H, W], tags Tensor[B, L*K, H, W])``.

    Inference from whole images, as MMPose's bottom-up val pipeline::

        x, center, scale = bottomup_inputs(images, model.head.decoder.input_size)  # BottomupResize
        keypoints, keypoint_scores, instance_scores = model.predict(x, input_center=center,
                                                                    input_scale=scale)  # lists, image pixels
        # or, staying on the device: padded tensors and per-image counts
        kp, kp_scores, inst_scores, counts = model.predict_tensors(x, input_center=center, input_scale=scale)

    Args:
        backbone (nn.Module), head (AssociativeEmbeddingHead), neck (nn.Module, optional).
        flip_test (bool): merge with the flipped image (heatmaps averaged, tags concatenated).
        shift_heatmap (bool), align_corners (bool): MMPose's ``test_cfg``.
        restore_heatmap_size (bool): upsample heatmaps and tags to the input size before decoding.
        flip_indices (Sequence[int], optional): default mirror keypoint of each keypoint.
    """

    def __init__(self, backbone: nn.Module, head: nn.Module, neck: Optional[nn.Module] = None,
                 flip_test: bool = True, shift_heatmap: bool = False, align_corners: bool = False,
                 restore_heatmap_size: bool = True, flip_indices: Optional[Sequence[int]] = None) -> None:
        super().__init__(backbone, head, neck)
        self.flip_test, self.shift_heatmap, self.align_corners = flip_test, shift_heatmap, align_corners
        self.restore_heatmap_size = restore_heatmap_size
        self.flip_indices = None if flip_indices is None else list(flip_indices)

    def _merged_outputs(self, x: Tensor, flip_indices: Optional[Sequence[int]],
                        flip_test: Optional[bool]) -> tuple[Tensor, Tensor]:
        flip_indices = flip_indices if flip_indices is not None else self.flip_indices
        do_flip = (self.flip_test if flip_test is None else flip_test) and flip_indices is not None
        feats = self.extract_feat(x)
        flipped = self.extract_feat(x.flip(-1)) if do_flip else None
        size = (x.shape[-1], x.shape[-2]) if self.restore_heatmap_size else None
        return self.head.merge_outputs(feats, flipped, flip_indices, self.shift_heatmap, size, self.align_corners)

    def predict_tensors(self, x: Tensor, flip_indices: Optional[Sequence[int]] = None,
                        flip_test: Optional[bool] = None, *, input_center: Any = None,
                        input_scale: Any = None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """All people of a batch as padded tensors on ``x``'s device (for GPU pipelines): flip test,
        heatmap restore, ``ops.ae_decode`` (through the codec's ``batch_decode_tensors``), and with
        ``input_center`` / ``input_scale`` the map back to the original images.

        Args:
            x (Tensor[B, 3, H, W]): normalised images, resized as MMPose's ``BottomupResize`` does
                (the padded network input; ``pyposefast.models.bottomup_inputs`` makes it).
            flip_indices (Sequence[int], optional): overrides the estimator's.
            flip_test (bool, optional): overrides the estimator's.
            input_center (Tensor or ndarray [B, 2] or [2], optional), input_scale (same): MMPose's
                ``input_center`` / ``input_scale`` metainfo of the resize (both or neither). When
                given, keypoints are in original-image pixels
                (``kp / [W, H] * input_scale + input_center - 0.5 * input_scale``, in float64);
                otherwise in network-input pixels.

        Returns:
            tuple: ``keypoints`` Tensor[B, N, K, 2] float32, ``keypoint_scores`` Tensor[B, N, K]
            float32, ``instance_scores`` Tensor[B, N] float32 and ``counts`` Tensor[B] int64
            (people found per image; rows past ``counts[b]`` are zero). N = the codec's
            ``decode_max_instances`` (or the most groups possible). No host synchronisation (with
            ``input_center`` / ``input_scale`` as tensors on ``x``'s device).
        """
        heatmaps, tags = self._merged_outputs(x, flip_indices, flip_test)
        keypoints, scores, instance_scores, counts = self.head.decoder.batch_decode_tensors(heatmaps, tags)
        if (input_center is None) != (input_scale is None):
            raise ValueError("input_center and input_scale must be given together")
        if input_center is not None:
            B, N = keypoints.shape[:2]
            center = _per_image("input_center", input_center, B, keypoints.device)
            scale = _per_image("input_scale", input_scale, B, keypoints.device)
            kp64 = keypoints.to(torch.float64)
            in_size = torch.stack([kp64[..., 0] / float(x.shape[-1]), kp64[..., 1] / float(x.shape[-2])], dim=-1)
            mapped = in_size * scale[:, None, None] + center[:, None, None] - 0.5 * scale[:, None, None]
            valid = torch.arange(N, device=keypoints.device)[None, :] < counts[:, None]
            keypoints = torch.where(valid[..., None, None], mapped, 0.0).to(torch.float32)
        return keypoints, scores, instance_scores, counts

    def predict(self, x: Tensor, flip_indices: Optional[Sequence[int]] = None,
                flip_test: Optional[bool] = None, *, input_center: Any = None,
                input_scale: Any = None) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
        """All people per image, as MMPose's ``BottomupPoseEstimator.predict`` gives them
        (``pred_instances.keypoints``, ``keypoint_scores``, ``bbox_scores``).

        Same arguments as ``predict_tensors``: without ``input_center`` / ``input_scale`` the
        keypoints are in network-input pixels; with them, in original-image pixels.

        Returns:
            tuple: ``keypoints`` list of ndarray [N_b, K, 2] float32, ``keypoint_scores`` list of
            ndarray [N_b, K] float32, ``instance_scores`` list of ndarray [N_b] float32 (one
            device-to-host copy).
        """
        kp, sc, inst, counts = (t.cpu().numpy() for t in self.predict_tensors(
            x, flip_indices, flip_test, input_center=input_center, input_scale=input_scale))
        ns = counts.tolist()
        return ([kp[b, :n] for b, n in enumerate(ns)], [sc[b, :n] for b, n in enumerate(ns)],
                [inst[b, :n] for b, n in enumerate(ns)])


def _per_image(name: str, value: Any, B: int, device: torch.device) -> Tensor:
    t = value if isinstance(value, Tensor) else torch.as_tensor(np.asarray(value))
    if t.dtype == torch.bool or t.is_complex() or t.shape not in ((2,), (B, 2)):
        raise ValueError(f"{name} must be a real [B, 2] = [{B}, 2] or [2] array, got {t.dtype} {tuple(t.shape)}")
    return t.to(device=device, dtype=torch.float64).expand(B, 2)


class PoseLifter(_Estimator):
    """2D-to-3D lifter (VideoPose3D): a temporal conv network over a 2D keypoint sequence.

    ``forward(x)``: x ``Tensor[B, T, K, 2]`` (2D sequences) or ``Tensor[B, K*2, T]`` (MMPose's
    layout) -> ``Tensor[B, K, 3]`` root-relative 3D keypoints of the centre frame.

    Args:
        backbone (nn.Module): e.g. TCN. head (nn.Module): TemporalRegressionHead.
        neck (nn.Module, optional).
    """

    @staticmethod
    def _layout(x: Tensor) -> Tensor:
        if x.dim() == 4:
            B, T, K, C = x.shape
            return x.permute(0, 2, 3, 1).reshape(B, K * C, T)
        return x

    def extract_feat(self, x: Tensor) -> tuple[Tensor, ...]:
        return super().extract_feat(self._layout(x))

    def predict(self, x: Tensor, target_root: Optional[Tensor] = None) -> Tensor:
        """3D keypoints Tensor[B, K, 3] (root-relative; absolute when ``target_root`` is given)."""
        return self.head.predict(self.extract_feat(x), target_root)
