"""ImagePoseLifting: 2D keypoints -> root-relative 3D targets of one frame (MMPose 1.x's codec).

Also holds what both lifting codecs share (:func:`lifting_target_labels`, :func:`insert_root`,
:func:`flatten_keypoint_labels`), written once on torch tensors with a leading batch dimension, so
that one sample (``encode``, NumPy or tensors, MMPose's results) and a batch (``batch_encode``, tensors
on their own device, no per-sample Python loop) run the same arithmetic.

Symbols: B batch, N input frames (instances), K keypoints, D keypoint dimension (2),
T target frames, C target dimension (3), K' = K - 1 when the root is removed, else K.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .base import ArrayLike, BaseKeypointCodec

__all__ = ["ImagePoseLifting", "lifting_target_labels", "insert_root", "flatten_keypoint_labels", "as_float_tensor"]

Tensor = torch.Tensor


def as_float_tensor(name: str, value: Any, device: Optional[torch.device] = None) -> Tensor:
    """NumPy array / tensor / nested list -> a floating tensor in the dtype NumPy would compute in.

    float64 stays float64, float32 stays float32, float16/bfloat16 -> float32, integers and bools
    -> float64 for NumPy input (NumPy promotes them so), float32 for tensors. Tensors keep their
    device unless ``device`` is given.

    Raises:
        TypeError: complex or non-numeric values (naming ``name``).
    """
    if isinstance(value, torch.Tensor):
        if value.is_complex():
            raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")
        t = value.detach()
        if t.dtype in (torch.float16, torch.bfloat16) or not t.is_floating_point():
            t = t.to(torch.float32)
    else:
        arr = np.asarray(value)
        if arr.dtype == object or np.iscomplexobj(arr) or not (np.issubdtype(arr.dtype, np.number)
                                                               or arr.dtype == np.bool_):
            raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
        dtype = arr.dtype if arr.dtype in (np.float32, np.float64) else (
            np.float32 if arr.dtype == np.float16 else np.float64)
        t = torch.from_numpy(np.ascontiguousarray(arr, dtype=dtype))
    return t if device is None else t.to(device)


def _root_indices(root_index: Union[int, Sequence[int]]) -> List[int]:
    if isinstance(root_index, (bool, np.bool_)):
        raise TypeError(f"root_index must be an int or a list of ints, got {root_index!r}")
    if isinstance(root_index, (int, np.integer)):
        return [int(root_index)]
    try:
        out = [int(i) for i in root_index]
    except (TypeError, ValueError):
        raise TypeError(f"root_index must be an int or a list of ints, got {root_index!r}") from None
    if not out or min(out) < 0:
        raise ValueError(f"root_index must be non-negative and non-empty, got {root_index!r}")
    return out


def lifting_target_labels(lifting_target: Tensor, lifting_target_visible: Optional[Tensor], root_index: List[int],
                          *, zero_center: bool = True, remove_root: bool = False,
                          root_dtype: Optional[torch.dtype] = None) -> Dict[str, Tensor]:
    """Root-relative 3D targets and their weights for a batch (MMPose's lifting-codec arithmetic).

    Args:
        lifting_target (Tensor[B, T, K, C]): 3D keypoints (camera space).
        lifting_target_visible (Tensor[B, T, K] or [B, T, K, 1], optional): visibility; None: all
            visible, and ``trajectory_weights`` is MMPose's ``1 / lifting_target[:, 2]`` (the third
            keypoint's coordinates, [B, T, C]).
        root_index (list[int]): root keypoints; the root is their mean.
        zero_center (bool): subtract the root (else the label is the target itself).
        remove_root (bool): drop the root keypoint from the label and weights (one root only).
        root_dtype (torch.dtype, optional): dtype the root is averaged in (ImagePoseLifting: float32,
            as MMPose's ``np.mean(..., dtype=np.float32)``); default the target's.

    Returns:
        dict: ``lifting_target_label`` [B, T, K', C] (target dtype, or the promotion of target and
        root dtypes), ``lifting_target_weight`` [B, T, K'] (or [B, T, K', 1]) float32,
        ``trajectory_weights`` ([B, T, K] float32, or [B, T, C] without visibility), and with
        ``zero_center`` ``target_root`` [B, T, C].

    Raises:
        ValueError: a root index out of range for K.
    """
    if lifting_target.dim() != 4:
        raise ValueError(f"lifting_target must be [B, T, K, C], got shape {tuple(lifting_target.shape)}")
    if max(root_index) >= lifting_target.shape[-2]:
        raise ValueError(f"root_index {root_index} out of range for lifting_target with K = "
                         f"{lifting_target.shape[-2]} keypoints (shape {tuple(lifting_target.shape)})")
    if lifting_target_visible is None:
        weight = torch.ones(lifting_target.shape[:-1], dtype=torch.float32, device=lifting_target.device)
        trajectory = 1 / lifting_target[:, :, 2]
    else:
        if tuple(lifting_target_visible.shape[:3]) != tuple(lifting_target.shape[:3]) or \
                lifting_target_visible.dim() not in (3, 4):
            raise ValueError(f"lifting_target_visible must be [B, T, K] (or [B, T, K, 1]) matching lifting_target "
                             f"{tuple(lifting_target.shape)}, got {tuple(lifting_target_visible.shape)}")
        weight = (lifting_target_visible.to(lifting_target.device) > 0.5).to(torch.float32)
        trajectory = weight
    out: Dict[str, Tensor] = {}
    label = lifting_target
    if zero_center:
        picked = lifting_target[:, :, root_index, :]
        root = (picked if root_dtype is None else picked.to(root_dtype)).mean(dim=-2)
        label = lifting_target - root.unsqueeze(-2)
        out["target_root"] = root
        if remove_root and len(root_index) == 1:
            keep = [k for k in range(lifting_target.shape[-2]) if k != root_index[0]]
            label = label[:, :, keep]
            weight = weight[:, :, keep]
    out.update(lifting_target_label=label, lifting_target_weight=weight, trajectory_weights=trajectory)
    return out


def flatten_keypoint_labels(keypoint_labels: Tensor, keypoints_visible: Tensor, concat_vis: bool,
                            reshape_keypoints: bool) -> Tensor:
    """MMPose's last steps of the 2D input: visibility appended as a channel, then ``[K * D', N]``.

    Args:
        keypoint_labels (Tensor[B, N, K, D]): normalised 2D keypoints.
        keypoints_visible (Tensor[B, N, K] or [B, N, K, 1]): visibility (for ``concat_vis``).

    Returns:
        Tensor: [B, K * D', N] with ``reshape_keypoints`` (channel ``k * D' + d``), else [B, N, K, D']
        (D' = D + 1 with ``concat_vis``).
    """
    if concat_vis:
        vis = keypoints_visible if keypoints_visible.dim() == 4 else keypoints_visible.unsqueeze(-1)
        keypoint_labels = torch.cat([keypoint_labels, vis.to(keypoint_labels.device, keypoint_labels.dtype)], -1)
    if reshape_keypoints:
        B, N = keypoint_labels.shape[:2]
        keypoint_labels = keypoint_labels.permute(0, 2, 3, 1).reshape(B, -1, N)
    return keypoint_labels


def insert_root(keypoints: Tensor, target_root: Optional[Tensor], root_index: List[int],
                remove_root: bool) -> Tensor:
    """MMPose's lifting decode: ``keypoints + target_root``, and the root itself put back at
    ``root_index`` when the codec removed it.

    Args:
        keypoints (Tensor[B, K', C]): root-relative keypoints.
        target_root (Tensor[B, C] or [B, 1, C], optional): the root (None or empty: left relative).

    Returns:
        Tensor[B, K, C] (K = K' + 1 when the root is inserted).
    """
    if target_root is None or target_root.numel() == 0:
        return keypoints
    root = target_root.to(keypoints.device).reshape(keypoints.shape[0], 1, keypoints.shape[-1])
    out = keypoints + root
    if remove_root and len(root_index) == 1:
        r = root_index[0]
        out = torch.cat([out[:, :r], root.to(out.dtype), out[:, r:]], dim=1)
    return out


def _stat(name: str, value: Any, shape: Tuple[int, int]) -> Optional[np.ndarray]:
    if value is None:
        return None
    arr = np.array(value, dtype=np.float32)
    try:
        return arr.reshape(1, shape[0], -1)
    except ValueError:
        raise ValueError(f"{name} must hold {shape[0]} x {shape[1] if shape[1] else 'D'} values, got shape "
                         f"{np.shape(value)}") from None


def _out(t: Any, as_numpy: bool) -> Any:
    return t.cpu().numpy() if as_numpy and isinstance(t, torch.Tensor) else t


class ImagePoseLifting(BaseKeypointCodec):
    """2D keypoints of a frame -> root-relative 3D target, MMPose 1.x ``ImagePoseLifting`` (same
    arguments and results; SimpleBaseline3D).

    Encoding: the target minus its root (the mean of the ``root_index`` keypoints), optionally
    without the root keypoint and standardised by ``target_mean`` / ``target_std``; the 2D keypoints
    standardised by ``keypoints_mean`` / ``keypoints_std`` (no normalisation by the image size: that
    is :class:`~pyposefast.codecs.video_pose_lifting.VideoPoseLifting`'s), optionally with the
    visibility as a channel and reshaped to ``[K * D, N]``.

    Symbols: N input instances, K keypoints, D = 2, T target frames (MMPose supports T = 1: its
    root broadcasts over K otherwise; here each frame has its own root), C = 3, K' = K - 1 with
    ``remove_root``.

    Args:
        num_keypoints (int): K.
        root_index (int or list[int]): root keypoint(s). Defaults to 0.
        remove_root (bool): drop the root from the target. Defaults to False.
        save_index (bool): report ``target_root_index`` when the root is removed. Defaults to False.
        reshape_keypoints (bool): keypoint labels as ``[K * D, N]``. Defaults to True.
        concat_vis (bool): append the visibility as a channel. Defaults to False.
        keypoints_mean, keypoints_std (array [K, D], optional): 2D standardisation (both or neither).
        target_mean, target_std (array [K', C], optional): target standardisation (both or neither).
        additional_encode_keys (list[str], optional): more ``auxiliary_encode_keys``.

    Raises:
        ValueError: a mean without its std, mismatched shapes, bad ``num_keypoints`` / ``root_index``.
    """

    auxiliary_encode_keys = {"lifting_target", "lifting_target_visible"}
    instance_mapping_table = dict(lifting_target="lifting_target", lifting_target_visible="lifting_target_visible")
    label_mapping_table = dict(trajectory_weights="trajectory_weights", lifting_target_label="lifting_target_label",
                               lifting_target_weight="lifting_target_weight")

    def __init__(self, num_keypoints: int, root_index: Union[int, List[int]] = 0, remove_root: bool = False,
                 save_index: bool = False, reshape_keypoints: bool = True, concat_vis: bool = False,
                 keypoints_mean: Optional[ArrayLike] = None, keypoints_std: Optional[ArrayLike] = None,
                 target_mean: Optional[ArrayLike] = None, target_std: Optional[ArrayLike] = None,
                 additional_encode_keys: Optional[List[str]] = None) -> None:
        super().__init__()
        if isinstance(num_keypoints, bool) or int(num_keypoints) <= 0:
            raise ValueError(f"num_keypoints must be a positive int, got {num_keypoints!r}")
        self.num_keypoints = int(num_keypoints)
        self.root_index = _root_indices(root_index)
        if max(self.root_index) >= self.num_keypoints:
            raise ValueError(f"root_index {self.root_index} out of range for num_keypoints={self.num_keypoints}")
        self.remove_root, self.save_index = bool(remove_root), bool(save_index)
        self.reshape_keypoints, self.concat_vis = bool(reshape_keypoints), bool(concat_vis)
        for mean_name, std_name, mean, std in (("keypoints_mean", "keypoints_std", keypoints_mean, keypoints_std),
                                               ("target_mean", "target_std", target_mean, target_std)):
            if (mean is None) != (std is None):
                raise ValueError(f"{mean_name} and {std_name} go together: give both or neither")
        target_k = self.num_keypoints - 1 if self.remove_root else self.num_keypoints
        self.keypoints_mean = _stat("keypoints_mean", keypoints_mean, (self.num_keypoints, 0))
        self.keypoints_std = _stat("keypoints_std", keypoints_std, (self.num_keypoints, 0))
        self.target_mean = _stat("target_mean", target_mean, (target_k, 0))
        self.target_std = _stat("target_std", target_std, (target_k, 0))
        for a, b, name in ((self.keypoints_mean, self.keypoints_std, "keypoints"),
                           (self.target_mean, self.target_std, "target")):
            if a is not None and a.shape != b.shape:
                raise ValueError(f"{name}_mean.shape {a.shape} != {name}_std.shape {b.shape}")
        # a per-instance copy: MMPose updates the class-level set (shared by every instance)
        self.auxiliary_encode_keys = set(type(self).auxiliary_encode_keys)
        if additional_encode_keys is not None:
            self.auxiliary_encode_keys.update(additional_encode_keys)

    # ------------------------------------------------------------------ encoding

    def _encode_tensors(self, keypoints: Tensor, keypoints_visible: Tensor, lifting_target: Tensor,
                        lifting_target_visible: Optional[Tensor]) -> Dict[str, Any]:
        """The batched arithmetic: keypoints [B, N, K, D], visibility [B, N, K], target [B, T, K, C]."""
        out: Dict[str, Any] = lifting_target_labels(lifting_target, lifting_target_visible, self.root_index,
                                                    zero_center=True, remove_root=self.remove_root,
                                                    root_dtype=torch.float32)
        if self.remove_root and len(self.root_index) == 1:
            out["target_root_removed"] = True
            if self.save_index:
                out["target_root_index"] = self.root_index[0]
        labels = keypoints
        device = keypoints.device
        if self.keypoints_mean is not None:
            if tuple(self.keypoints_mean.shape[1:]) != tuple(keypoints.shape[2:]):
                raise ValueError(f"keypoints_mean is {self.keypoints_mean.shape[1:]} per instance, keypoints are "
                                 f"{tuple(keypoints.shape[2:])}")
            mean = torch.from_numpy(self.keypoints_mean).to(device)
            std = torch.from_numpy(self.keypoints_std).to(device)
            labels = (labels - mean) / std
            out["keypoints_mean"], out["keypoints_std"] = mean.clone(), std.clone()
        if self.target_mean is not None:
            label = out["lifting_target_label"]
            if tuple(self.target_mean.shape) != tuple(label.shape[1:]):
                raise ValueError(f"target_mean {self.target_mean.shape} must match the target label "
                                 f"{tuple(label.shape[1:])} (one target frame: T = 1)")
            mean = torch.from_numpy(self.target_mean).to(device)
            std = torch.from_numpy(self.target_std).to(device)
            out["lifting_target_label"] = (label - mean) / std
            out["target_mean"], out["target_std"] = mean.clone(), std.clone()
        out["keypoint_labels"] = flatten_keypoint_labels(labels, keypoints_visible, self.concat_vis,
                                                         self.reshape_keypoints)
        return out

    def encode(self, keypoints: ArrayLike, keypoints_visible: Optional[ArrayLike] = None,
               lifting_target: Optional[ArrayLike] = None,
               lifting_target_visible: Optional[ArrayLike] = None) -> dict:
        """Encode one sample (MMPose's ``encode``).

        Args:
            keypoints (array [N, K, D] or [K, D]): 2D keypoints (pixels, or any 2D space).
            keypoints_visible (array [N, K], optional): visibility; None: ones.
            lifting_target (array [T, K, C], optional): 3D target (None: ``keypoints[0:1]``).
            lifting_target_visible (array [T, K], optional): None: all visible.

        Returns:
            dict: ``keypoint_labels`` ([K * D', N] or [N, K, D']), ``keypoint_labels_visible`` [N, K],
            ``lifting_target_label`` [T, K', C], ``lifting_target_weight`` [T, K'] float32,
            ``trajectory_weights``, ``target_root`` [T, C] float32, and as MMPose
            ``target_root_removed`` / ``target_root_index`` / ``keypoints_mean`` ... NumPy in, NumPy
            out; tensors in, tensors out on the keypoints' device.
        """
        as_numpy, kp, vis, target, tvis, vis_in = _sample_inputs(keypoints, keypoints_visible, lifting_target,
                                                                  lifting_target_visible)
        out = self._encode_tensors(kp[None], vis[None], target[None], None if tvis is None else tvis[None])
        result = {k: _out(v[0] if isinstance(v, torch.Tensor) and k not in _UNBATCHED else v, as_numpy)
                  for k, v in out.items()}
        result["keypoint_labels_visible"] = vis_in
        return result

    def batch_encode(self, keypoints: Tensor, keypoints_visible: Optional[Tensor] = None,
                     lifting_target: Optional[Tensor] = None,
                     lifting_target_visible: Optional[Tensor] = None) -> Dict[str, Any]:
        """Encode a batch on its device (no per-sample loop): ``encode`` with a leading B.

        Args:
            keypoints (Tensor[B, N, K, D]). keypoints_visible (Tensor[B, N, K], optional).
            lifting_target (Tensor[B, T, K, C], optional): None: ``keypoints[:, :1]``.
            lifting_target_visible (Tensor[B, T, K], optional).

        Returns:
            dict: as ``encode`` with a leading B on every tensor (``keypoints_mean`` ... unbatched).
        """
        kp, vis, target, tvis = _batch_inputs(keypoints, keypoints_visible, lifting_target, lifting_target_visible)
        out = self._encode_tensors(kp, vis, target, tvis)
        out["keypoint_labels_visible"] = vis
        return out

    # ------------------------------------------------------------------ decoding

    def _decode_tensors(self, keypoints: Tensor, target_root: Optional[Tensor]) -> Tensor:
        if self.target_mean is not None:
            if tuple(self.target_mean.shape[1:]) != tuple(keypoints.shape[1:]):
                raise ValueError(f"encoded keypoints {tuple(keypoints.shape[1:])} per sample do not match "
                                 f"target_mean {self.target_mean.shape[1:]}")
            keypoints = (keypoints * torch.from_numpy(self.target_std).to(keypoints.device)
                         + torch.from_numpy(self.target_mean).to(keypoints.device))
        return insert_root(keypoints, target_root, self.root_index, self.remove_root)

    def decode(self, encoded: ArrayLike, target_root: Optional[ArrayLike] = None) -> Tuple[Any, Any]:
        """Root-relative predictions back to the target space (MMPose's ``decode``).

        Args:
            encoded (array [N, K', C]): the network's output (standardised with ``target_mean``).
            target_root (array [C] or [1, C], optional): the root (None: left root-relative).

        Returns:
            tuple: ``keypoints`` [N, K, C] (the root inserted at ``root_index`` when removed) and
            ``scores`` [N, K] float32 ones. NumPy in, NumPy out; tensors in, tensors out.
        """
        as_numpy = not isinstance(encoded, torch.Tensor)
        enc = as_float_tensor("encoded", encoded)
        if enc.dim() != 3:
            raise ValueError(f"encoded must be [N, K', C], got shape {tuple(enc.shape)}")
        root = _single_root(target_root, enc)
        kp = self._decode_tensors(enc, root)
        scores = torch.ones(kp.shape[:-1], dtype=torch.float32, device=kp.device)
        return _out(kp, as_numpy), _out(scores, as_numpy)

    def batch_decode(self, encoded: Tensor, target_root: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Decode a batch on its device.

        Args:
            encoded (Tensor[B, K', C]): network outputs. target_root (Tensor[B, C] or [B, 1, C], optional).

        Returns:
            tuple: ``keypoints`` Tensor[B, K, C] and ``scores`` Tensor[B, K] float32 ones.
        """
        enc, root = _batch_decode_inputs(encoded, target_root)
        kp = self._decode_tensors(enc, root)
        return kp, torch.ones(kp.shape[:-1], dtype=torch.float32, device=kp.device)


# encode results that are not per sample (no leading batch dimension to strip)
_UNBATCHED = ("keypoints_mean", "keypoints_std", "target_mean", "target_std")


def _batch_inputs(keypoints: Any, keypoints_visible: Any, lifting_target: Any,
                  lifting_target_visible: Any) -> Tuple[Tensor, Tensor, Tensor, Optional[Tensor]]:
    """Checked batch inputs of ``batch_encode``: keypoints [B, N, K, D], visibility [B, N, K],
    target [B, T, K, C] (default ``keypoints[:, :1]``), target visibility or None."""
    if not isinstance(keypoints, torch.Tensor):
        raise TypeError(f"keypoints must be a torch.Tensor [B, N, K, D], got {type(keypoints).__name__}")
    kp = as_float_tensor("keypoints", keypoints)
    if kp.dim() != 4:
        raise ValueError(f"keypoints must be [B, N, K, D], got shape {tuple(kp.shape)}")
    vis = (torch.ones(kp.shape[:3], dtype=torch.float32, device=kp.device) if keypoints_visible is None
           else as_float_tensor("keypoints_visible", keypoints_visible, kp.device))
    if tuple(vis.shape[:3]) != tuple(kp.shape[:3]):
        raise ValueError(f"keypoints_visible must be [B, N, K] = {list(kp.shape[:3])}, got {list(vis.shape)}")
    target = kp[:, :1] if lifting_target is None else as_float_tensor("lifting_target", lifting_target, kp.device)
    if target.dim() != 4 or target.shape[0] != kp.shape[0]:
        raise ValueError(f"lifting_target must be [B, T, K, C] with B = {kp.shape[0]}, got {tuple(target.shape)}")
    tvis = None if lifting_target_visible is None else as_float_tensor(
        "lifting_target_visible", lifting_target_visible, kp.device)
    return kp, vis, target, tvis


def _sample_inputs(keypoints: Any, keypoints_visible: Any, lifting_target: Any,
                   lifting_target_visible: Any) -> Tuple[bool, Tensor, Tensor, Tensor, Optional[Tensor], Any]:
    """One sample's ``encode`` arguments as float32 tensors: (NumPy in?, keypoints [N, K, D] (a
    [K, D] input gets N = 1), visibility [N, K] (ones when None), lifting target [T, K, C] (the first
    keypoints frame when None), target visibility or None, and the visibility to return: the input,
    or MMPose's default ``ones(keypoints.shape[:2])`` ([K, D] for a [K, D] input))."""
    as_numpy = not isinstance(keypoints, torch.Tensor)
    kp = as_float_tensor("keypoints", keypoints)
    vis_out = keypoints_visible
    if vis_out is None:
        vis_out = np.ones(kp.shape[:2], np.float32) if as_numpy else kp.new_ones(kp.shape[:2], dtype=torch.float32)
    if kp.dim() == 2:
        kp = kp.unsqueeze(0)
    if kp.dim() != 3:
        raise ValueError(f"keypoints must be [N, K, D] or [K, D], got shape {tuple(kp.shape)}")
    vis = (kp.new_ones(kp.shape[:2]) if keypoints_visible is None
           else as_float_tensor("keypoints_visible", keypoints_visible, kp.device))
    target = kp[:1] if lifting_target is None else as_float_tensor("lifting_target", lifting_target, kp.device)
    if target.dim() != 3:
        raise ValueError(f"lifting_target must be [T, K, C], got shape {tuple(target.shape)}")
    tvis = None if lifting_target_visible is None else as_float_tensor(
        "lifting_target_visible", lifting_target_visible, kp.device)
    return as_numpy, kp, vis, target, tvis, vis_out


def _single_root(target_root: Any, enc: Tensor) -> Optional[Tensor]:
    """One sample's root ([C] or [1, C]) for the N instances of ``enc`` [N, K', C] -> [N, C]."""
    if target_root is None:
        return None
    root = as_float_tensor("target_root", target_root, enc.device)
    if root.numel() == 0:
        return None
    if root.numel() != enc.shape[-1]:
        raise ValueError(f"target_root must be [C] or [1, C] with C = {enc.shape[-1]}, got {tuple(root.shape)}")
    return root.reshape(1, -1).expand(enc.shape[0], -1)


def _batch_decode_inputs(encoded: Any, target_root: Any) -> Tuple[Tensor, Optional[Tensor]]:
    if not isinstance(encoded, torch.Tensor):
        raise TypeError(f"encoded must be a torch.Tensor [B, K', C], got {type(encoded).__name__}")
    enc = as_float_tensor("encoded", encoded)
    if enc.dim() != 3:
        raise ValueError(f"encoded must be [B, K', C], got shape {tuple(enc.shape)}")
    if target_root is None or (isinstance(target_root, torch.Tensor) and target_root.numel() == 0):
        return enc, None
    root = as_float_tensor("target_root", target_root, enc.device)
    if root.numel() != enc.shape[0] * enc.shape[-1]:
        raise ValueError(f"target_root must be [B, C] or [B, 1, C] = [{enc.shape[0]}, {enc.shape[-1]}], "
                         f"got {tuple(root.shape)}")
    return enc, root
