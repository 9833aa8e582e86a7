"""Batched, on-device top-down augmentation: MMPose 1.x's ``RandomFlip``, ``RandomHalfBody`` and
``RandomBBoxTransform`` with the same constructor arguments, defaults and formulas.

Symbols: N instances (each row is its own sample, as in top-down training where every instance
is cropped from its own image), K keypoints, image size ``(W, H)``. Points are ``(x, y)`` in
image pixels, box sizes ``(w, h)`` in pixels, rotations in degrees.

Each transform is a small object whose ``__call__`` takes a batch of tensors (on any one device)
and returns a dict of new tensors; nothing is modified in place and no image is touched (a flip is
folded into the warp matrix with :func:`pyposefast.structures.compose_horizontal_flip`). Random
numbers come from ``torch.rand`` on the tensors' device, drawn from ``generator`` when one is
given (same generator state, same draws: reproducible). They cannot reproduce MMPose's
``np.random`` stream; each transform has a pure method that maps given uniform draws to
parameters with MMPose's rule, which is what the tests compare against MMPose.

The standard pipeline order is ``RandomFlip -> RandomHalfBody -> RandomBBoxTransform`` (then the
top-down affine warp), as in MMPose's configs.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch

from ..structures._args import FLIP_DIRECTIONS, _choice, _pair
from ..structures.keypoint import flip_keypoints
from ._augment_utils import (
    _check_generator,
    _count,
    _DeviceCache,
    _finite,
    _float_tensor,
    _ids,
    _prob,
    _same_rows,
    truncated_normal,
    truncated_normal_from_uniform,
)

__all__ = ["truncated_normal", "truncated_normal_from_uniform", "RandomBBoxTransform", "RandomFlip", "RandomHalfBody"]

Tensor = torch.Tensor


class RandomBBoxTransform:
    """Randomly shift, rescale and rotate boxes (MMPose's ``RandomBBoxTransform``).

    Per box, with ``r ~ truncnorm[-1, 1]^4`` and three uniforms ``u``:

    - shift: ``center += shift_factor * r[0:2] * scale`` if ``u0 < shift_prob`` (one draw per box
      for both axes);
    - rescale: ``scale *= mu + sigma * r[2]`` with ``mu, sigma`` the mean and half-range of
      ``scale_factor``, if ``u1 < scale_prob``;
    - rotation: ``rotate_factor * r[3]`` degrees if ``u2 < rotate_prob``, else 0.

    The shift uses the scale *before* rescaling, as in MMPose.

    Args:
        shift_factor (float): shift range as a fraction of the box size. Defaults to 0.16.
        shift_prob (float): probability of a shift. Defaults to 0.3.
        scale_factor (tuple[float, float]): (min, max) rescale factors. Defaults to (0.5, 1.5).
        scale_prob (float): probability of a rescale. Defaults to 1.0.
        rotate_factor (float): rotation range in degrees. Defaults to 80.0.
        rotate_prob (float): probability of a rotation. Defaults to 0.6.
    """

    def __init__(
        self,
        shift_factor: float = 0.16,
        shift_prob: float = 0.3,
        scale_factor: Tuple[float, float] = (0.5, 1.5),
        scale_prob: float = 1.0,
        rotate_factor: float = 80.0,
        rotate_prob: float = 0.6,
    ) -> None:
        self.shift_factor = _finite("shift_factor", shift_factor)
        self.shift_prob = _prob("shift_prob", shift_prob)
        if isinstance(scale_factor, (str, bytes)) or not hasattr(scale_factor, "__len__") or len(scale_factor) != 2:
            raise ValueError(f"scale_factor must be a pair (min, max), got {scale_factor!r}")
        self.scale_factor = (_finite("scale_factor", scale_factor[0]), _finite("scale_factor", scale_factor[1]))
        self.scale_prob = _prob("scale_prob", scale_prob)
        self.rotate_factor = _finite("rotate_factor", rotate_factor)
        self.rotate_prob = _prob("rotate_prob", rotate_prob)

    def params_from_draws(self, truncnorm_draws: Tensor, uniform_draws: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """MMPose's ``_get_transform_params`` formulas on given draws (pure, deterministic).

        Args:
            truncnorm_draws (Tensor[N, 4]): truncated-normal draws in [-1, 1] (shift x, shift y,
                scale, rotation).
            uniform_draws (Tensor[N, 3]): uniforms in [0, 1) for the shift, scale and rotation
                coin flips.

        Returns:
            tuple: ``offset`` [N, 2] (fraction of the box size), ``scale`` [N, 1] (factor),
            ``rotate`` [N] (degrees), in the draws' dtype.
        """
        r = _float_tensor("truncnorm_draws", truncnorm_draws, last=4, ndim=2)
        u = _float_tensor("uniform_draws", uniform_draws, last=3, ndim=2)
        _same_rows("truncnorm_draws", r, uniform_draws=u)
        zero = torch.zeros((), dtype=r.dtype, device=r.device)
        offset = torch.where(u[:, 0:1] < self.shift_prob, r[:, 0:2] * self.shift_factor, zero)
        lo, hi = self.scale_factor
        mu, sigma = (hi + lo) * 0.5, (hi - lo) * 0.5
        scale = torch.where(u[:, 1:2] < self.scale_prob, r[:, 2:3] * sigma + mu, zero + 1.0)
        rotate = torch.where(u[:, 2] < self.rotate_prob, r[:, 3] * self.rotate_factor, zero)
        return offset, scale, rotate

    def get_transform_params(
        self,
        num_bboxes: int,
        *,
        generator: Optional[torch.Generator] = None,
        device: Optional[Union[str, torch.device]] = None,
        dtype: torch.dtype = torch.float32,
    ) -> Tuple[Tensor, Tensor, Tensor]:
        """Draw the parameters for ``num_bboxes`` boxes (one ``torch.rand`` call of [N, 7]).

        Returns:
            tuple: ``offset`` [N, 2], ``scale`` [N, 1], ``rotate`` [N] (degrees), as
            :meth:`params_from_draws`.
        """
        device = _check_generator(generator, device)
        u = torch.rand((int(num_bboxes), 7), generator=generator, device=device, dtype=dtype)
        r = truncated_normal_from_uniform(u[:, :4])
        return self.params_from_draws(r, u[:, 4:])

    def __call__(
        self, bbox_center: Tensor, bbox_scale: Tensor, *, generator: Optional[torch.Generator] = None
    ) -> Dict[str, Tensor]:
        """Shift, rescale and rotate a batch of boxes.

        Args:
            bbox_center (Tensor[N, 2]): (x, y) in image pixels, floating point.
            bbox_scale (Tensor[N, 2]): (w, h) in pixels.
            generator (torch.Generator, optional): on the tensors' device.

        Returns:
            dict: ``bbox_center`` [N, 2], ``bbox_scale`` [N, 2], ``bbox_rotation`` [N] (degrees),
            in ``bbox_scale``'s dtype.

        Raises:
            TypeError / ValueError: tensors of the wrong type, dtype, shape or device.
        """
        center = _float_tensor("bbox_center", bbox_center, last=2, ndim=2)
        scale = _float_tensor("bbox_scale", bbox_scale, last=2, ndim=2)
        _same_rows("bbox_scale", scale, bbox_center=center)
        draw_dtype = torch.float64 if scale.dtype == torch.float64 else torch.float32
        offset, factor, rotate = self.get_transform_params(
            scale.shape[0], generator=generator, device=scale.device, dtype=draw_dtype
        )
        dt = scale.dtype
        return {
            "bbox_center": center + (offset * scale).to(center.dtype),
            "bbox_scale": scale * factor.to(dt),
            "bbox_rotation": rotate.to(dt),
        }

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(shift_factor={self.shift_factor}, shift_prob={self.shift_prob}, "
            f"scale_factor={self.scale_factor}, scale_prob={self.scale_prob}, "
            f"rotate_factor={self.rotate_factor}, rotate_prob={self.rotate_prob})"
        )


# --------------------------------------------------------------------------------------------
# RandomFlip
# --------------------------------------------------------------------------------------------


class RandomFlip:
    """Randomly mirror boxes and keypoints (MMPose's ``RandomFlip``, per instance).

    Each instance draws one of ``direction`` (or no flip) with MMPose's probabilities: a float
    ``prob`` is split evenly over the directions, a list gives one probability each (the rest is
    "no flip"). A flip maps ``x -> W - 1 - x`` (horizontal) and / or ``y -> H - 1 - y`` (vertical;
    both for diagonal) for centres, xyxy boxes and keypoints, and permutes keypoints and their
    visibility by ``flip_indices`` (not for diagonal, which is a 180-degree rotation). The image is
    not flipped here: fold the flip into the warp with
    :func:`pyposefast.structures.compose_horizontal_flip`.

    Flip codes: 0 no flip, 1 horizontal, 2 vertical, 3 diagonal (``RandomFlip.DIRECTIONS``).

    Args:
        prob (float or list[float]): flip probability, or one per direction. Defaults to 0.5.
        direction (str or list[str]): ``'horizontal'``, ``'vertical'``, ``'diagonal'`` or a list of
            them. Defaults to ``'horizontal'``.
        flip_indices (sequence of int, optional): each keypoint's mirror twin (dataset
            metainfo); needed to flip keypoints unless given to the call.

    Raises:
        TypeError / ValueError: probabilities out of [0, 1] (or summing above 1), unknown
            directions, or a ``prob`` list whose length differs from ``direction``'s.
    """

    DIRECTIONS = FLIP_DIRECTIONS

    def __init__(
        self,
        prob: Union[float, List[float]] = 0.5,
        direction: Union[str, List[str]] = "horizontal",
        *,
        flip_indices: Optional[Sequence[int]] = None,
    ) -> None:
        if isinstance(direction, str):
            dirs = [_choice("direction", direction, FLIP_DIRECTIONS)]
        elif isinstance(direction, (list, tuple)) and len(direction) > 0:
            dirs = [_choice("direction", d, FLIP_DIRECTIONS) for d in direction]
        else:
            raise TypeError(f"direction must be a str or a non-empty list of str, got {direction!r}")
        if isinstance(prob, (list, tuple)):
            if not isinstance(direction, (list, tuple)) or len(prob) != len(dirs):
                raise ValueError(
                    f"a list prob needs a list direction of the same length, got prob={prob!r}, direction={direction!r}"
                )
            probs = [_prob("prob", p) for p in prob]
            if sum(probs) > 1.0 + 1e-12:
                raise ValueError(f"prob must sum to at most 1, got {prob!r} (sum {sum(probs)})")
        else:
            p = _prob("prob", prob)
            probs = [p / len(dirs)] * len(dirs)
        self.prob = list(prob) if isinstance(prob, (list, tuple)) else float(prob)
        self.direction = list(direction) if isinstance(direction, (list, tuple)) else direction
        self.flip_indices = None if flip_indices is None else _ids("flip_indices", flip_indices)
        self._codes = [FLIP_DIRECTIONS.index(d) + 1 for d in dirs]
        # cumulative probabilities of [directions..., no flip] (np.random.choice's rule)
        cum, acc = [], 0.0
        for p in probs:
            acc += p
            cum.append(acc)
        self._cum = cum
        self._cache = _DeviceCache()

    def codes_from_draws(self, uniform_draws: Tensor) -> Tensor:
        """Flip codes [N] (int64: 0 none, 1 horizontal, 2 vertical, 3 diagonal) for given
        uniforms [N] in [0, 1): direction ``i`` when ``cum[i-1] <= u < cum[i]``."""
        u = _float_tensor("uniform_draws", uniform_draws, ndim=1)
        codes = torch.zeros(u.shape, dtype=torch.long, device=u.device)
        # walk back to front so that the first direction whose cumulative bound exceeds u wins
        for code, upper in reversed(list(zip(self._codes, self._cum))):
            codes = torch.where(u < upper, torch.full_like(codes, code), codes)
        return codes

    def apply(
        self,
        flip_direction: Tensor,
        image_size: Union[Tensor, Tuple[float, float]],
        *,
        bbox: Optional[Tensor] = None,
        bbox_center: Optional[Tensor] = None,
        keypoints: Optional[Tensor] = None,
        keypoints_visible: Optional[Tensor] = None,
        flip_indices: Optional[Sequence[int]] = None,
    ) -> Dict[str, Tensor]:
        """Flip the instances whose code in ``flip_direction`` [N] is non-zero (deterministic;
        applying the same codes twice gives the input back). Arguments as :meth:`__call__`."""
        return self._apply(
            flip_direction, (1, 2, 3), image_size, bbox, bbox_center, keypoints, keypoints_visible, flip_indices
        )

    def _apply(
        self,
        flip_direction: Tensor,
        directions: Sequence[int],
        image_size: Union[Tensor, Tuple[float, float]],
        bbox: Optional[Tensor],
        bbox_center: Optional[Tensor],
        keypoints: Optional[Tensor],
        keypoints_visible: Optional[Tensor],
        flip_indices: Optional[Sequence[int]],
    ) -> Dict[str, Tensor]:
        if not isinstance(flip_direction, torch.Tensor) or flip_direction.ndim != 1:
            raise ValueError("flip_direction must be a 1-D int64 tensor of flip codes [N]")
        if flip_direction.dtype.is_floating_point or flip_direction.dtype == torch.bool:
            raise TypeError(f"flip_direction must be an integer tensor of flip codes, got dtype {flip_direction.dtype}")
        codes = flip_direction
        dev = codes.device
        if isinstance(image_size, torch.Tensor):
            size = image_size
            if size.dtype == torch.bool or size.is_complex():
                raise TypeError(f"image_size must be a real tensor, got dtype {size.dtype}")
            if size.ndim == 0 or size.shape[-1] != 2:
                raise ValueError(f"image_size must have shape [N, 2] or [2], got {tuple(size.shape)}")
            if size.ndim == 2:
                _same_rows("flip_direction", codes, image_size=size)
            elif size.ndim != 1:
                raise ValueError(f"image_size must have shape [N, 2] or [2], got {tuple(size.shape)}")
        out: Dict[str, Tensor] = {"flip": codes != 0, "flip_direction": codes}
        center = None if bbox_center is None else _float_tensor("bbox_center", bbox_center, last=2, ndim=2)
        box = None if bbox is None else _float_tensor("bbox", bbox, last=4, ndim=2)
        kp = None if keypoints is None else _float_tensor("keypoints", keypoints, ndim=3)
        _same_rows("flip_direction", codes, bbox_center=center, bbox=box, keypoints=kp)
        idx = None
        if kp is not None:
            ids = flip_indices if flip_indices is not None else self.flip_indices
            ids = _ids("flip_indices", ids)
            if len(ids) != kp.shape[1]:
                raise ValueError(f"flip_indices has {len(ids)} entries but keypoints has K={kp.shape[1]}")
            idx = self._cache.get(("idx", tuple(ids), dev), lambda: torch.tensor(ids, dtype=torch.long, device=dev))
        vis = keypoints_visible

        for code in directions:
            name = FLIP_DIRECTIONS[code - 1]
            m = codes == code
            w, h = self._wh(image_size)
            hor, ver = code in (1, 3), code in (2, 3)
            if center is not None:
                x, y = center[:, 0], center[:, 1]
                # flip_bbox(..., 'center')'s order of operations: (W - x) - 1
                flipped = torch.stack([w - x - 1 if hor else x, h - y - 1 if ver else y], dim=-1)
                center = torch.where(m[:, None], flipped.to(center.dtype), center)
            if box is not None:
                x1, y1, x2, y2 = box.unbind(-1)
                if hor:
                    x1, x2 = w - x2 - 1, w - x1 - 1
                if ver:
                    y1, y2 = h - y2 - 1, h - y1 - 1
                box = torch.where(m[:, None], torch.stack([x1, y1, x2, y2], dim=-1).to(box.dtype), box)
            if kp is not None:
                kp, vis = flip_keypoints(kp, vis, image_size, idx, direction=name, mask=m)
        if center is not None:
            out["bbox_center"] = center
        if box is not None:
            out["bbox"] = box
        if kp is not None:
            out["keypoints"] = kp
            if vis is not None:
                out["keypoints_visible"] = vis
        return out

    @staticmethod
    def _wh(image_size):
        if isinstance(image_size, torch.Tensor):
            return image_size[..., 0], image_size[..., 1]
        return _pair("image_size", image_size)

    def __call__(
        self,
        image_size: Union[Tensor, Tuple[float, float]],
        *,
        bbox: Optional[Tensor] = None,
        bbox_center: Optional[Tensor] = None,
        keypoints: Optional[Tensor] = None,
        keypoints_visible: Optional[Tensor] = None,
        flip_indices: Optional[Sequence[int]] = None,
        num_instances: Optional[int] = None,
        generator: Optional[torch.Generator] = None,
    ) -> Dict[str, Tensor]:
        """Draw a flip per instance and apply it.

        Args:
            image_size (Tensor[N, 2] or tuple): (W, H) of each instance's image (a pair for all).
            bbox (Tensor[N, 4], optional): (x1, y1, x2, y2) boxes.
            bbox_center (Tensor[N, 2], optional): box centres (x, y).
            keypoints (Tensor[N, K, D], optional): (x, y, ...) keypoints.
            keypoints_visible (Tensor[N, K] or [N, K, C], optional): visibility.
            flip_indices (sequence of int, optional): overrides the constructor's.
            num_instances (int, optional): N, when none of the tensors above gives it.
            generator (torch.Generator, optional): on the tensors' device.

        Returns:
            dict: ``flip`` [N] bool, ``flip_direction`` [N] int64 codes, and the flipped
            ``bbox`` / ``bbox_center`` / ``keypoints`` / ``keypoints_visible`` that were given.

        Raises:
            TypeError / ValueError: wrong types, shapes or devices; keypoints without
                ``flip_indices`` or with the wrong number of them.
        """
        ref = next((t for t in (bbox_center, bbox, keypoints, image_size) if isinstance(t, torch.Tensor)), None)
        if ref is not None and ref.ndim >= 2:
            n, dev = ref.shape[0], ref.device
        elif num_instances is not None:
            n = _count("num_instances", num_instances)
            dev = ref.device if ref is not None else None
        else:
            raise ValueError("pass at least one of bbox, bbox_center, keypoints, a [N, 2] image_size, or num_instances")
        dev = _check_generator(generator, dev)
        u = torch.rand((n,), generator=generator, device=dev)
        codes = self.codes_from_draws(u)
        return self._apply(
            codes, sorted(set(self._codes)), image_size, bbox, bbox_center, keypoints, keypoints_visible, flip_indices
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(prob={self.prob}, direction={self.direction})"


# --------------------------------------------------------------------------------------------
# RandomHalfBody
# --------------------------------------------------------------------------------------------


class RandomHalfBody:
    """Keep only the upper or the lower body at random (MMPose's ``RandomHalfBody``, as coded).

    Per instance, with visibility ``v`` (the first channel of a [N, K, C] visibility):

    1. eligible when ``sum(v) >= min_total_keypoints`` (the *sum* of visibility values, as
       coded), then applied when a uniform ``u0 <= prob``;
    2. ``upper`` / ``lower``: the ids with ``v > 0``; with ``prefer_upper = u1 <
       upper_prioritized_prob``: none if both halves are short (``< min_upper_keypoints`` and
       ``< min_lower_keypoints``), else the upper half if the lower is short, the lower if the
       upper is short, else the preferred one;
    3. the new box: ``center`` = the *mean* of the chosen keypoints (not the midpoint of their
       extent), ``scale = (max - min) * padding`` (no aspect-ratio fix here; ``TopdownAffine``
       does that later).

    Ids listed twice count twice, as in MMPose's list indexing. An instance whose chosen half is
    empty (only possible with ``min_*_keypoints = 0``; MMPose then fails on an empty ``min``)
    keeps its box.

    Args:
        min_total_keypoints (int): Defaults to 9.
        min_upper_keypoints (int): Defaults to 2.
        min_lower_keypoints (int): Defaults to 3.
        padding (float): scale padding of the half-body box. Defaults to 1.5.
        prob (float): probability of applying it to an eligible instance. Defaults to 0.3.
        upper_prioritized_prob (float): probability of preferring the upper half. Defaults to 0.7.
        upper_body_ids (sequence of int, optional): dataset metainfo; or pass to the call.
        lower_body_ids (sequence of int, optional): dataset metainfo; or pass to the call.
    """

    NONE, UPPER, LOWER = 0, 1, 2

    def __init__(
        self,
        min_total_keypoints: int = 9,
        min_upper_keypoints: int = 2,
        min_lower_keypoints: int = 3,
        padding: float = 1.5,
        prob: float = 0.3,
        upper_prioritized_prob: float = 0.7,
        *,
        upper_body_ids: Optional[Sequence[int]] = None,
        lower_body_ids: Optional[Sequence[int]] = None,
    ) -> None:
        self.min_total_keypoints = _count("min_total_keypoints", min_total_keypoints)
        self.min_upper_keypoints = _count("min_upper_keypoints", min_upper_keypoints)
        self.min_lower_keypoints = _count("min_lower_keypoints", min_lower_keypoints)
        self.padding = _finite("padding", padding, positive=True)
        self.prob = _prob("prob", prob)
        self.upper_prioritized_prob = _prob("upper_prioritized_prob", upper_prioritized_prob)
        self.upper_body_ids = None if upper_body_ids is None else _ids("upper_body_ids", upper_body_ids)
        self.lower_body_ids = None if lower_body_ids is None else _ids("lower_body_ids", lower_body_ids)
        self._cache = _DeviceCache()

    def _weights(self, ids: Optional[Sequence[int]], name: str, k: int, device, dtype) -> Tensor:
        ids = _ids(name, ids)
        bad = [i for i in ids if not 0 <= i < k]
        if bad:
            raise ValueError(f"{name} must lie in [0, {k}), got {bad}")

        def build():
            w = [0.0] * k
            for i in ids:
                w[i] += 1.0  # an id listed twice counts twice
            return torch.tensor(w, dtype=dtype, device=device)

        return self._cache.get((name, tuple(ids), k, device, dtype), build)

    def _half_weights(self, upper_body_ids, lower_body_ids, k: int, device, dtype) -> Tuple[Tensor, Tensor]:
        """Per-keypoint counts [K] of the upper and lower ids (call arguments over the constructor's)."""
        upper = upper_body_ids if upper_body_ids is not None else self.upper_body_ids
        lower = lower_body_ids if lower_body_ids is not None else self.lower_body_ids
        return (
            self._weights(upper, "upper_body_ids", k, device, dtype),
            self._weights(lower, "lower_body_ids", k, device, dtype),
        )

    @staticmethod
    def _visibility(keypoints_visible: Tensor, n: int, k: int) -> Tensor:
        if not isinstance(keypoints_visible, torch.Tensor):
            raise TypeError(f"keypoints_visible must be a torch.Tensor, got {type(keypoints_visible).__name__}")
        v = keypoints_visible
        if v.ndim == 3:
            v = v[..., 0]
        if v.ndim != 2 or tuple(v.shape) != (n, k):
            raise ValueError(
                f"keypoints_visible must have shape [{n}, {k}] or [{n}, {k}, C], got {tuple(keypoints_visible.shape)}"
            )
        return v if v.is_floating_point() else v.float()

    def select_half_body(
        self,
        keypoints_visible: Tensor,
        uniform_draws: Tensor,
        upper_body_ids: Optional[Sequence[int]] = None,
        lower_body_ids: Optional[Sequence[int]] = None,
    ) -> Tensor:
        """MMPose's ``_random_select_half_body`` rule on given draws (pure, deterministic).

        Args:
            keypoints_visible (Tensor[N, K] or [N, K, C]): visibility.
            uniform_draws (Tensor[N, 2]): uniforms in [0, 1): ``u0`` for ``prob``, ``u1`` for
                ``upper_prioritized_prob``.
            upper_body_ids, lower_body_ids (sequence of int, optional): override the constructor's.

        Returns:
            Tensor[N] int64: 0 keep the box, 1 upper body, 2 lower body.
        """
        u = _float_tensor("uniform_draws", uniform_draws, last=2, ndim=2)
        n = u.shape[0]
        if not isinstance(keypoints_visible, torch.Tensor) or keypoints_visible.ndim < 2:
            raise ValueError("keypoints_visible must be a tensor [N, K] or [N, K, C]")
        k = keypoints_visible.shape[1]
        v = self._visibility(keypoints_visible, n, k)
        _same_rows("uniform_draws", u, keypoints_visible=v)
        wu, wl = self._half_weights(upper_body_ids, lower_body_ids, k, v.device, v.dtype)
        valid = (v > 0).to(v.dtype)
        num_upper = (valid * wu).sum(-1)
        num_lower = (valid * wl).sum(-1)
        apply = (v.sum(-1) >= self.min_total_keypoints) & (u[:, 0] <= self.prob)  # MMPose skips when u > prob
        prefer_upper = u[:, 1] < self.upper_prioritized_prob
        upper_ok = num_upper >= self.min_upper_keypoints
        lower_ok = num_lower >= self.min_lower_keypoints
        take_upper = apply & upper_ok & (~lower_ok | prefer_upper)
        take_lower = apply & lower_ok & (~upper_ok | ~prefer_upper)
        codes = torch.where(take_upper, self.UPPER, self.NONE)
        return torch.where(take_lower, self.LOWER, codes)

    def half_body_bbox(
        self,
        half_body: Tensor,
        bbox_center: Tensor,
        bbox_scale: Tensor,
        keypoints: Tensor,
        keypoints_visible: Tensor,
        upper_body_ids: Optional[Sequence[int]] = None,
        lower_body_ids: Optional[Sequence[int]] = None,
    ) -> Tuple[Tensor, Tensor]:
        """New (center, scale) [N, 2] for the codes in ``half_body`` [N] (0 keeps the box)."""
        center = _float_tensor("bbox_center", bbox_center, last=2, ndim=2)
        scale = _float_tensor("bbox_scale", bbox_scale, last=2, ndim=2)
        kp = _float_tensor("keypoints", keypoints, ndim=3)
        if kp.shape[-1] < 2:
            raise ValueError(f"keypoints must have shape [N, K, D>=2], got {tuple(kp.shape)}")
        n, k = kp.shape[0], kp.shape[1]
        _same_rows("keypoints", kp, bbox_center=center, bbox_scale=scale, half_body=half_body)
        v = self._visibility(keypoints_visible, n, k)
        wu, wl = self._half_weights(upper_body_ids, lower_body_ids, k, kp.device, kp.dtype)
        valid = (v > 0).to(kp.dtype)
        code = half_body[:, None]
        weight = torch.where(code == self.UPPER, valid * wu, torch.where(code == self.LOWER, valid * wl, 0.0))
        chosen = weight > 0
        xy = kp[..., :2]
        count = weight.sum(-1, keepdim=True)
        # invisible keypoints may hold NaN / inf: mask them out before multiplying
        total = (torch.where(chosen[..., None], xy, 0.0) * weight[..., None]).sum(-2)
        mean = total / count.clamp_min(1.0)
        inf = float("inf")  # a Python scalar: nothing to copy to the device
        lo = torch.where(chosen[..., None], xy, inf).amin(-2)
        hi = torch.where(chosen[..., None], xy, -inf).amax(-2)
        new_scale = (hi - lo) * self.padding
        use = (count > 0) & (code != self.NONE)
        return (
            torch.where(use, mean.to(center.dtype), center),
            torch.where(use, new_scale.to(scale.dtype), scale),
        )

    def __call__(
        self,
        bbox_center: Tensor,
        bbox_scale: Tensor,
        keypoints: Tensor,
        keypoints_visible: Tensor,
        *,
        upper_body_ids: Optional[Sequence[int]] = None,
        lower_body_ids: Optional[Sequence[int]] = None,
        generator: Optional[torch.Generator] = None,
    ) -> Dict[str, Tensor]:
        """Draw, choose and apply the half-body boxes for a batch.

        Args:
            bbox_center (Tensor[N, 2]): (x, y) in image pixels.
            bbox_scale (Tensor[N, 2]): (w, h) in pixels.
            keypoints (Tensor[N, K, D]): (x, y, ...) in image pixels.
            keypoints_visible (Tensor[N, K] or [N, K, C]): visibility (> 0 counts as visible).
            upper_body_ids, lower_body_ids (sequence of int, optional): override the constructor's.
            generator (torch.Generator, optional): on the tensors' device.

        Returns:
            dict: ``bbox_center`` [N, 2], ``bbox_scale`` [N, 2] and ``half_body`` [N] int64
            (0 unchanged, 1 upper, 2 lower).

        Raises:
            TypeError / ValueError: wrong types, shapes or devices; missing or out-of-range ids.
        """
        kp = _float_tensor("keypoints", keypoints, ndim=3)
        self._visibility(keypoints_visible, kp.shape[0], kp.shape[1])  # checked before the ids
        _check_generator(generator, kp.device)
        u = torch.rand((kp.shape[0], 2), generator=generator, device=kp.device)
        codes = self.select_half_body(keypoints_visible, u, upper_body_ids, lower_body_ids)
        center, scale = self.half_body_bbox(
            codes, bbox_center, bbox_scale, kp, keypoints_visible, upper_body_ids, lower_body_ids
        )
        return {"bbox_center": center, "bbox_scale": scale, "half_body": codes}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(min_total_keypoints={self.min_total_keypoints}, "
            f"min_upper_keypoints={self.min_upper_keypoints}, min_lower_keypoints={self.min_lower_keypoints}, "
            f"padding={self.padding}, prob={self.prob}, upper_prioritized_prob={self.upper_prioritized_prob})"
        )
