"""MultiTaskPoseEstimator: one backbone (and neck), several named heads, e.g. COCO body heatmaps +
hand keypoint regression, or 2D keypoints + per-keypoint visibility. Each head keeps its own
``forward`` / ``loss`` / ``predict`` (and codec); the estimator runs the shared features once,
weights each head's losses and decodes each head with its codec.

    model = MultiTaskPoseEstimator(backbone, {"body": HeatmapHead(...), "hand": RegressionHead(...)},
                                   head_necks={"hand": GlobalAveragePooling()},
                                   loss_weights={"body": 1.0, "hand": 0.5},
                                   flip_indices={"body": coco_flip, "hand": list(range(21))})
    losses = model.loss(x, body=dict(heatmaps=..., keypoint_weights=...),
                        hand=dict(keypoint_labels=..., keypoint_weights=...))
    preds = model.predict(x, input_center=c, input_scale=s)  # {"body": (kp, scores), "hand": (kp, scores)}
"""

from __future__ import annotations

import inspect
import math
from typing import Any, Mapping, Optional, Sequence

from torch import Tensor, nn

__all__ = ["MultiTaskPoseEstimator"]


def _as_tuple(feats: Any) -> tuple[Tensor, ...]:
    return (feats,) if isinstance(feats, Tensor) else tuple(feats)


class MultiTaskPoseEstimator(nn.Module):
    """One shared backbone, several heads; losses weighted per head.

    Args:
        backbone (nn.Module): images Tensor[B, 3, h, w] -> a feature map or a tuple of them.
        heads (Mapping[str, nn.Module]): the heads by name (names are identifiers without dots).
            Top-down keypoint heads (``predict(feats, flipped_feats, *, input_center, input_scale,
            ...)``: HeatmapHead, SimCCHead, RegressionHead, RLEHead ...) decode with their codec to
            image pixels; other heads (``VisibilityHead``) are called as ``predict(feats,
            flipped_feats, flip_indices=...)``.
        neck (nn.Module, optional): shared neck after the backbone.
        loss_weights (Mapping[str, float], optional): multiplier of each head's losses (every
            ``loss*`` entry); heads not named get 1.0. Finite and >= 0.
        head_necks (Mapping[str, nn.Module], optional): a neck applied to the shared features for
            one head only (e.g. ``GlobalAveragePooling`` before a regression head).
        flip_test (bool): flip test for every head that has ``flip_indices`` (the backbone runs once
            more, on the flipped crops, shared by those heads).
        flip_indices (Mapping[str, Sequence[int]], optional): each head's mirror keypoint per
            keypoint; heads without an entry are not flip-tested.
        shift_heatmap (bool), shift_coords (bool): MMPose's ``test_cfg`` flags, passed to keypoint
            heads.

    Raises:
        ValueError / TypeError: no heads, a non-module head, a bad name, weights or necks naming
        unknown heads, negative or non-finite weights.
    """

    def __init__(self, backbone: nn.Module, heads: Mapping[str, nn.Module], neck: Optional[nn.Module] = None,
                 loss_weights: Optional[Mapping[str, float]] = None, *,
                 head_necks: Optional[Mapping[str, nn.Module]] = None, flip_test: bool = True,
                 flip_indices: Optional[Mapping[str, Sequence[int]]] = None, shift_heatmap: bool = False,
                 shift_coords: bool = True) -> None:
        super().__init__()
        if not isinstance(heads, Mapping) or not heads:
            raise ValueError(f"heads must be a non-empty mapping from name to head, got {type(heads).__name__}")
        for name, head in heads.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"head names must be identifiers (no dots or spaces), got {name!r}")
            if not isinstance(head, nn.Module):
                raise TypeError(f"heads[{name!r}] must be an nn.Module, got {type(head).__name__}")
        self.backbone = backbone
        if neck is not None:
            self.neck = neck
        self.heads = nn.ModuleDict(dict(heads))
        self.head_necks = nn.ModuleDict(dict(self._known("head_necks", head_necks or {})))
        weights = dict(self._known("loss_weights", loss_weights or {}))
        for name, w in weights.items():
            if not isinstance(w, (int, float)) or not math.isfinite(w) or w < 0:
                raise ValueError(f"loss_weights[{name!r}] must be a finite number >= 0, got {w!r}")
        self.loss_weights = {name: float(weights.get(name, 1.0)) for name in self.heads}
        self.flip_indices = {name: list(fi) for name, fi in self._known("flip_indices", flip_indices or {}).items()}
        self.flip_test, self.shift_heatmap, self.shift_coords = flip_test, shift_heatmap, shift_coords

    def _known(self, arg: str, mapping: Mapping[str, Any]) -> Mapping[str, Any]:
        unknown = [k for k in mapping if k not in self.heads]
        if unknown:
            raise ValueError(f"{arg} names unknown heads {unknown}; heads: {list(self.heads)}")
        return mapping

    @property
    def head_names(self) -> list[str]:
        """The head names, in construction order."""
        return list(self.heads)

    def extract_feat(self, x: Tensor) -> tuple[Tensor, ...]:
        """Shared backbone (and neck) features: a tuple of tensors."""
        feats = _as_tuple(self.backbone(x))
        if hasattr(self, "neck"):
            feats = _as_tuple(self.neck(feats))
        return feats

    def _head_feats(self, name: str, feats: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
        return _as_tuple(self.head_necks[name](feats)) if name in self.head_necks else feats

    def forward(self, x: Tensor) -> dict[str, Any]:
        """Raw outputs of every head for a normalised batch x (Tensor[B, 3, h, w]): ``{name: output}``."""
        feats = self.extract_feat(x)
        return {name: head(self._head_feats(name, feats)) for name, head in self.heads.items()}

    def loss(self, x: Tensor, **targets: Mapping[str, Any]) -> dict[str, Tensor]:
        """Weighted losses of the heads given targets.

        Args:
            x (Tensor[B, 3, h, w]): normalised crops.
            **targets: per head name, the keyword arguments of that head's ``loss`` (e.g.
                ``body=dict(heatmaps=..., keypoint_weights=...)``, ``visibility=dict(keypoints_visible=...)``).
                Heads without targets are skipped (no loss, no gradient).

        Returns:
            dict: each head's entries renamed by head: ``loss_X`` -> ``loss_<name>_X`` multiplied by
            the head's weight (so that the trainer's sum of ``loss*`` entries is the weighted total);
            other entries (accuracies) -> ``<name>_<key>``, unweighted.

        Raises:
            ValueError: no targets, an unknown head name, targets that are not a mapping.
        """
        if not targets:
            raise ValueError(f"loss needs targets for at least one head of {self.head_names}")
        unknown = [k for k in targets if k not in self.heads]
        if unknown:
            raise ValueError(f"targets name unknown heads {unknown}; heads: {self.head_names}")
        feats = self.extract_feat(x)
        out: dict[str, Tensor] = {}
        for name, kwargs in targets.items():
            if not isinstance(kwargs, Mapping):
                raise ValueError(f"targets[{name!r}] must be a dict of {name}'s loss arguments, got "
                                 f"{type(kwargs).__name__}")
            weight = self.loss_weights[name]
            for key, value in self.heads[name].loss(self._head_feats(name, feats), **kwargs).items():
                if key.startswith("loss"):
                    out[f"loss_{name}{key[4:]}"] = value * weight
                else:
                    out[f"{name}_{key}"] = value
        return out

    def predict(self, x: Tensor, input_center: Optional[Tensor] = None, input_scale: Optional[Tensor] = None, *,
                warp_matrices: Optional[Tensor] = None, flip_test: Optional[bool] = None,
                heads: Optional[Sequence[str]] = None) -> dict[str, Any]:
        """Decode every head (or those named in ``heads``) with its codec.

        Args:
            x (Tensor[B, 3, h, w]): normalised crops.
            input_center (Tensor[B, 2]), input_scale (Tensor[B, 2]): crop centres / sizes in image
                pixels (required by keypoint heads).
            warp_matrices (Tensor[B, 2, 3], optional): exact image -> crop warps (rotated crops).
            flip_test (bool, optional): overrides the estimator's.
            heads (Sequence[str], optional): only these heads.

        Returns:
            dict: per head name, its ``predict`` result: keypoint heads ``(keypoints Tensor[B, K, 2]
            float32 image pixels, scores Tensor[B, K] float32)``; VisibilityHead Tensor[B, K]
            probabilities.
        """
        names = self.head_names if heads is None else list(heads)
        unknown = [n for n in names if n not in self.heads]
        if unknown:
            raise ValueError(f"heads names unknown heads {unknown}; heads: {self.head_names}")
        do_flip = self.flip_test if flip_test is None else flip_test
        flipping = [n for n in names if do_flip and n in self.flip_indices]
        feats = self.extract_feat(x)
        flipped = self.extract_feat(x.flip(-1)) if flipping else None
        out = {}
        for name in names:
            head = self.heads[name]
            if not hasattr(head, "predict"):
                raise TypeError(f"head {name!r} ({type(head).__name__}) has no predict")
            hf = self._head_feats(name, feats)
            hf_flip = self._head_feats(name, flipped) if name in flipping else None
            fi = self.flip_indices.get(name) if name in flipping else None
            if "input_center" in inspect.signature(head.predict).parameters:
                if input_center is None or input_scale is None:
                    raise ValueError(f"head {name!r} decodes to image pixels: input_center and input_scale are "
                                     "required")
                out[name] = head.predict(hf, hf_flip, input_center=input_center, input_scale=input_scale,
                                         flip_indices=fi, shift_heatmap=self.shift_heatmap,
                                         shift_coords=self.shift_coords, warp_matrices=warp_matrices)
            else:
                out[name] = head.predict(hf, hf_flip, flip_indices=fi)
        return out
