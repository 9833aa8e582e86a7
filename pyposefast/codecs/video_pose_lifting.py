"""VideoPoseLifting: a 2D keypoint sequence -> root-relative 3D targets (MMPose 1.x's codec, VideoPose3D).

Symbols: B batch, N input frames, K keypoints, D = 2, T target frames, C = 3, K' = K - 1 when the
root is removed, else K. Camera size (w, h) in pixels; points (x, y) in pixels.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional, Tuple, Union

import torch

from .base import ArrayLike, BaseKeypointCodec
from .image_pose_lifting import (_batch_decode_inputs, _batch_inputs, _out, _root_indices, _sample_inputs,
                                 _single_root,
                                 as_float_tensor, flatten_keypoint_labels, insert_root, lifting_target_labels)

__all__ = ["VideoPoseLifting", "normalize_screen_coordinates"]

Tensor = torch.Tensor


def _camera_size(camera_param: Optional[Dict[str, Any]], batch: Optional[int], device: torch.device) -> Tensor:
    """Camera ``w``, ``h`` -> float32 Tensor[B or 1, 2] on ``device``."""
    if not isinstance(camera_param, dict) or "w" not in camera_param or "h" not in camera_param:
        keys = sorted(camera_param) if isinstance(camera_param, dict) else type(camera_param).__name__
        raise ValueError(f"camera_param must be a dict with the image size 'w' and 'h' (pixels), got {keys}")
    w = as_float_tensor("camera_param['w']", camera_param["w"], device).to(torch.float32).reshape(-1)
    h = as_float_tensor("camera_param['h']", camera_param["h"], device).to(torch.float32).reshape(-1)
    if w.numel() != h.numel() or (batch is not None and w.numel() not in (1, batch)):
        raise ValueError(f"camera_param 'w' and 'h' must be numbers or Tensor[B] (B = {batch}), got shapes "
                         f"{tuple(w.shape)} and {tuple(h.shape)}")
    return torch.stack([w, h], -1)


def normalize_screen_coordinates(keypoints: Tensor, image_size: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
    """Pixels -> VideoPose3D's screen coordinates: ``(x - w / 2, y - h / 2) / (w / 2)`` (x in [-1, 1],
    y keeping the aspect ratio), in the keypoints' dtype, as MMPose's codec (float32 centre and scale).

    Args:
        keypoints (Tensor[B, N, K, 2]): (x, y) in pixels.
        image_size (Tensor[B or 1, 2] float32): (w, h) of each sample's camera image.

    Returns:
        tuple: normalised keypoints [B, N, K, 2], ``center`` [B or 1, 2] float32 (w / 2, h / 2) and
        ``scale`` [B or 1] float32 (w / 2).
    """
    center = image_size * 0.5  # float32, as np.array([0.5 * w, 0.5 * h], dtype=np.float32)
    scale = center[:, 0]
    out = (keypoints - center[:, None, None, :]) / scale[:, None, None, None]
    return out, center, scale


class VideoPoseLifting(BaseKeypointCodec):
    """2D keypoint sequences -> root-relative 3D targets, MMPose 1.x ``VideoPoseLifting`` (same
    arguments, same results).

    Encoding: the 2D keypoints normalised by the camera image (``(p - (w, h) / 2) / (w / 2)``),
    optionally with the visibility as a channel, reshaped to ``[K * D, N]`` (the TCN's layout); the
    target minus its root (the mean of the ``root_index`` keypoints, per target frame), optionally
    without the root; with ``normalize_camera`` the focal length and principal point in the same
    normalised units. Decoding adds the root back (and re-inserts it when it was removed).

    Args:
        num_keypoints (int): K.
        zero_center (bool): root-relative targets. Defaults to True.
        root_index (int or list[int]): root keypoint(s). Defaults to 0.
        remove_root (bool): drop the root from the target. Defaults to False.
        save_index (bool): report ``target_root_index`` when the root is removed. Defaults to False.
        reshape_keypoints (bool): keypoint labels as ``[K * D, N]``. Defaults to True.
        concat_vis (bool): append the visibility as a channel. Defaults to False.
        normalize_camera (bool): normalise ``camera_param['f']`` and ``['c']``. Defaults to False.

    Raises:
        ValueError: bad ``num_keypoints`` / ``root_index``.
    """

    auxiliary_encode_keys = {"lifting_target", "lifting_target_visible", "camera_param"}
    instance_mapping_table = dict(lifting_target="lifting_target", lifting_target_visible="lifting_target_visible")
    label_mapping_table = dict(trajectory_weights="trajectory_weights", lifting_target_label="lifting_target_label",
                               lifting_target_weight="lifting_target_weight")

    def __init__(self, num_keypoints: int, zero_center: bool = True, root_index: Union[int, List[int]] = 0,
                 remove_root: bool = False, save_index: bool = False, reshape_keypoints: bool = True,
                 concat_vis: bool = False, normalize_camera: bool = False) -> None:
        super().__init__()
        if isinstance(num_keypoints, bool) or int(num_keypoints) <= 0:
            raise ValueError(f"num_keypoints must be a positive int, got {num_keypoints!r}")
        self.num_keypoints = int(num_keypoints)
        self.zero_center = bool(zero_center)
        self.root_index = _root_indices(root_index)
        if max(self.root_index) >= self.num_keypoints:
            raise ValueError(f"root_index {self.root_index} out of range for num_keypoints={self.num_keypoints}")
        self.remove_root, self.save_index = bool(remove_root), bool(save_index)
        self.reshape_keypoints, self.concat_vis = bool(reshape_keypoints), bool(concat_vis)
        self.normalize_camera = bool(normalize_camera)

    @property
    def root_removed(self) -> bool:
        """Whether encoded targets (and network outputs) lack the root keypoint (K' = K - 1)."""
        return self.zero_center and self.remove_root and len(self.root_index) == 1

    # ------------------------------------------------------------------ encoding

    def _encode_tensors(self, keypoints: Tensor, keypoints_visible: Tensor, lifting_target: Tensor,
                        lifting_target_visible: Optional[Tensor], image_size: Tensor) -> Dict[str, Any]:
        out: Dict[str, Any] = lifting_target_labels(lifting_target, lifting_target_visible, self.root_index,
                                                    zero_center=self.zero_center, remove_root=self.remove_root)
        if self.root_removed:
            out["target_root_removed"] = True
            if self.save_index:
                out["target_root_index"] = self.root_index[0]
        labels, center, scale = normalize_screen_coordinates(keypoints, image_size)
        out["keypoint_labels"] = flatten_keypoint_labels(labels, keypoints_visible, self.concat_vis,
                                                         self.reshape_keypoints)
        out["_center"], out["_scale"] = center, scale
        return out

    @staticmethod
    def _normalized_camera(camera_param: Dict[str, Any], center: Tensor, scale: Tensor, batched: bool,
                           as_numpy: bool) -> Dict[str, Any]:
        """``f / scale`` and ``(c - center) / scale`` (f, c: [2, 1], or [B, 2, 1] when batched)."""
        if "f" not in camera_param or "c" not in camera_param:
            raise ValueError(f"normalize_camera needs camera_param 'f' and 'c', got keys {sorted(camera_param)}")
        cam = copy.deepcopy(camera_param) if as_numpy else dict(camera_param)
        f = as_float_tensor("camera_param['f']", camera_param["f"], center.device)
        c = as_float_tensor("camera_param['c']", camera_param["c"], center.device)
        if batched:
            s = scale.reshape(-1, *([1] * (f.dim() - 1)))
            f_n = f / s
            c_n = (c - center.reshape(-1, 2, *([1] * (c.dim() - 2)))) / scale.reshape(-1, *([1] * (c.dim() - 1)))
        else:
            f_n = f / scale[0]
            c_n = (c - center[0].reshape(2, *([1] * (c.dim() - 1)))) / scale[0]
        cam["f"], cam["c"] = _out(f_n, as_numpy), _out(c_n, as_numpy)
        return cam

    def encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike] = None,
               lifting_target: Optional[ArrayLike] = None, lifting_target_visible: Optional[ArrayLike] = None,
               camera_param: Optional[Dict[str, Any]] = None) -> dict:
        """Encode one sample (MMPose's ``encode``).

        Args:
            keypoints (array [N, K, D] or [K, D]): 2D keypoints of the N frames, (x, y) pixels.
            keypoints_visible (array [N, K], optional): visibility; None: ones.
            lifting_target (array [T, K, C], optional): 3D target (None: ``keypoints[0:1]``).
            lifting_target_visible (array [T, K], optional): None: all visible.
            camera_param (dict): ``w``, ``h`` (image size in pixels); ``f``, ``c`` ([2, 1]) for
                ``normalize_camera``.

        Returns:
            dict: ``keypoint_labels`` ([K * D', N] or [N, K, D']), ``keypoints_visible`` [N, K],
            ``lifting_target_label`` [T, K', C], ``lifting_target_weight`` [T, K'] float32,
            ``trajectory_weights``, and as MMPose ``target_root`` [T, C] (``zero_center``),
            ``target_root_removed``, ``target_root_index``, ``camera_param`` (``normalize_camera``).
            NumPy in, NumPy out; tensors in, tensors out on the keypoints' device.

        Raises:
            ValueError: no camera ``w`` / ``h`` (or ``f`` / ``c`` with ``normalize_camera``), bad shapes.
        """
        as_numpy, kp, vis, target, tvis, vis_in = _sample_inputs(keypoints, keypoints_visible, lifting_target,
                                                                  lifting_target_visible)
        camera_param = {} if camera_param is None else camera_param
        size = _camera_size(camera_param, None, kp.device)[:1]
        out = self._encode_tensors(kp[None], vis[None], target[None], None if tvis is None else tvis[None], size)
        center, scale = out.pop("_center"), out.pop("_scale")
        result = {k: (_out(v[0], as_numpy) if isinstance(v, torch.Tensor) else v) for k, v in out.items()}
        if self.normalize_camera:
            result["camera_param"] = self._normalized_camera(camera_param, center, scale, False, as_numpy)
        result["keypoints_visible"] = vis_in
        return result

    def batch_encode(self, keypoints: Tensor, keypoints_visible: Optional[Tensor] = None,
                     lifting_target: Optional[Tensor] = None, lifting_target_visible: Optional[Tensor] = None,
                     camera_param: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
        """Encode a batch on its device (no per-sample loop, no host synchronisation for tensors).

        Args:
            keypoints (Tensor[B, N, K, D]): (x, y) pixels. keypoints_visible (Tensor[B, N, K], optional).
            lifting_target (Tensor[B, T, K, C], optional): None: ``keypoints[:, :1]``.
            lifting_target_visible (Tensor[B, T, K], optional).
            camera_param (dict): ``w``, ``h`` as numbers (one camera size for all) or Tensor[B]; with
                ``normalize_camera`` also ``f``, ``c`` Tensor[B, 2, 1].

        Returns:
            dict: ``encode``'s results with a leading B: ``keypoint_labels`` [B, K * D', N] (or [B,
            N, K, D']), ``keypoints_visible`` [B, N, K], ``lifting_target_label`` [B, T, K', C],
            ``lifting_target_weight`` [B, T, K'], ``trajectory_weights``, ``target_root`` [B, T, C]
            (with ``zero_center``), ``camera_param`` (with ``normalize_camera``).
        """
        kp, vis, target, tvis = _batch_inputs(keypoints, keypoints_visible, lifting_target, lifting_target_visible)
        camera_param = {} if camera_param is None else camera_param
        size = _camera_size(camera_param, kp.shape[0], kp.device)
        out = self._encode_tensors(kp, vis, target, tvis, size)
        center, scale = out.pop("_center"), out.pop("_scale")
        if self.normalize_camera:
            center = center.expand(kp.shape[0], 2)
            scale = scale.expand(kp.shape[0])
            out["camera_param"] = self._normalized_camera(camera_param, center, scale, True, False)
        out["keypoints_visible"] = vis
        return out

    # ------------------------------------------------------------------ decoding

    def decode(self, encoded: ArrayLike, target_root: Optional[ArrayLike] = None) -> Tuple[Any, Any]:
        """Root-relative predictions back to camera space (MMPose's ``decode``).

        Args:
            encoded (array [N, K', C]): the network's root-relative output.
            target_root (array [C] or [1, C], optional): the root (None or empty: left relative).

        Returns:
            tuple: ``keypoints`` [N, K, C] and ``scores`` [N, K] float32 ones. NumPy in, NumPy out;
            tensors in, tensors out.
        """
        as_numpy = not isinstance(encoded, torch.Tensor)
        enc = as_float_tensor("encoded", encoded)
        if enc.dim() != 3:
            raise ValueError(f"encoded must be [N, K', C], got shape {tuple(enc.shape)}")
        kp = insert_root(enc, _single_root(target_root, enc), self.root_index, self.remove_root)
        scores = torch.ones(kp.shape[:-1], dtype=torch.float32, device=kp.device)
        return _out(kp, as_numpy), _out(scores, as_numpy)

    def batch_decode(self, encoded: Tensor, target_root: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Decode a batch on its device.

        Args:
            encoded (Tensor[B, K', C]): network outputs (root-relative).
            target_root (Tensor[B, C] or [B, 1, C], optional): each sample's root.

        Returns:
            tuple: ``keypoints`` Tensor[B, K, C] (absolute when ``target_root`` is given) and
            ``scores`` Tensor[B, K] float32 ones.
        """
        enc, root = _batch_decode_inputs(encoded, target_root)
        kp = insert_root(enc, root, self.root_index, self.remove_root)
        return kp, torch.ones(kp.shape[:-1], dtype=torch.float32, device=kp.device)
