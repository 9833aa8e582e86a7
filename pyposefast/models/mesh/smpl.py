"""SMPL body model as a torch layer: shape and pose blend shapes plus linear blend skinning.

Loper et al., "SMPL: A Skinned Multi-Person Linear Model", SIGGRAPH Asia 2015. MMPose 0.x's
``models/utils/smpl.py::SMPL`` wraps the ``smplx`` package; this is a plain-torch layer with the
same ``forward(betas, body_pose, global_orient, transl)`` and results (``vertices``, ``joints``).

Symbols: B batch, V vertices, J model joints (24 for SMPL), K output joints (J, or the rows of a
user-supplied ``joints_regressor`` such as MMPose's ``joints_regressor_cmr.npy`` [24, 6890]), S shape
components. Coordinates are the model's (metres; SMPL has y up).

The model file is user-supplied (see ``smpl_file``): a missing file raises ``SMPLModelNotFoundError``
with where to obtain it (https://smpl.is.tue.mpg.de) and where to put it (``model_path`` or the
``PYPOSEFAST_SMPL_DIR`` folder).
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor, nn

from .geometry import batch_rodrigues
from .smpl_file import load_smpl_model_file, resolve_smpl_path

__all__ = ["SMPL", "linear_blend_skinning"]


def linear_blend_skinning(betas: Tensor, rotmats: Tensor, v_template: Tensor, shapedirs: Tensor,
                          posedirs: Tensor, J_regressor: Tensor, parents: Union[Tensor, Sequence[int]],
                          lbs_weights: Tensor) -> tuple[Tensor, Tensor]:
    """Posed vertices and joints of a blend-skinned model.

    1. ``v_shaped = v_template + shapedirs . betas``; rest joints ``J = J_regressor v_shaped``.
    2. ``v_posed = v_shaped + posedirs . (R[1:] - I)`` (pose blend shapes, root excluded).
    3. World transform of each joint along the kinematic tree,
       ``G_j = G_parent(j) [R_j | J_j - J_parent(j)]``; skinning transforms ``A_j = G_j [I | -J_j]``.
    4. ``v = (sum_j w_vj A_j) v_posed``.

    Args:
        betas (Tensor[B, S']): shape coefficients, ``S' <= S`` (the first ``S'`` components are used).
        rotmats (Tensor[B, J, 3, 3]): joint rotations relative to the parent (root first).
        v_template (Tensor[V, 3]), shapedirs (Tensor[V, 3, S]), posedirs (Tensor[(J-1)*9, V*3]),
        J_regressor (Tensor[J, V]), lbs_weights (Tensor[V, J]): the model.
        parents (Tensor[J] int64 | Sequence[int]): parent of each joint (-1 for the root; parents before
            children). A Python sequence avoids a device-to-host copy per call on CUDA.

    Returns:
        tuple: vertices (Tensor[B, V, 3]) and posed joints (Tensor[B, J, 3]). Differentiable in
        ``betas`` and ``rotmats``.
    """
    B, J = rotmats.shape[0], rotmats.shape[1]
    V = v_template.shape[0]
    v_shaped = v_template + torch.einsum("bs,vcs->bvc", betas, shapedirs[:, :, :betas.shape[1]])
    joints_rest = torch.einsum("jv,bvc->bjc", J_regressor, v_shaped)
    eye = torch.eye(3, dtype=rotmats.dtype, device=rotmats.device)
    pose_feature = (rotmats[:, 1:] - eye).reshape(B, -1)
    v_posed = v_shaped + (pose_feature @ posedirs).reshape(B, V, 3)

    parent_list = parents.tolist() if isinstance(parents, Tensor) else [int(p) for p in parents]
    rel_joints = joints_rest.clone()
    rel_joints[:, 1:] = joints_rest[:, 1:] - joints_rest[:, parent_list[1:]]
    local = torch.cat([torch.cat([rotmats, rel_joints[..., None]], dim=-1),
                       rotmats.new_tensor([0.0, 0.0, 0.0, 1.0]).expand(B, J, 1, 4)], dim=-2)  # [B, J, 4, 4]
    world = [local[:, 0]]
    for j in range(1, J):
        world.append(world[parent_list[j]] @ local[:, j])
    world_t = torch.stack(world, dim=1)  # [B, J, 4, 4]
    joints_posed = world_t[:, :, :3, 3]
    # Skinning transform: move the rest joint to the origin first, A_j = G_j [I | -J_j].
    offset = (world_t[:, :, :3, :3] @ joints_rest[..., None])[..., 0]
    skin = torch.cat([world_t[:, :, :3, :3], (joints_posed - offset)[..., None]], dim=-1)  # [B, J, 3, 4]
    per_vertex = torch.einsum("vj,bjrc->bvrc", lbs_weights, skin)  # [B, V, 3, 4]
    vertices = (per_vertex[..., :3] @ v_posed[..., None])[..., 0] + per_vertex[..., 3]
    return vertices, joints_posed


class SMPL(nn.Module):
    """SMPL layer (MMPose 0.x ``SMPL`` results, plain torch).

    Args:
        model_path (str | PathLike, optional): the model file (``.pkl`` official or chumpy-free
            pickle, or ``.npz``) or a folder holding ``SMPL_NEUTRAL.pkl``; ``None`` reads the folder
            from ``PYPOSEFAST_SMPL_DIR``.
        joints_regressor (str | PathLike | ndarray[K, V], optional): extra regressor applied to the
            posed vertices (MMPose's ``joints_regressor``, e.g. ``joints_regressor_cmr.npy``): then
            ``joints = joints_regressor @ vertices``. ``None`` returns the model's own posed joints [J].
        num_betas (int): shape components used (at most the file's S).
        dtype (torch.dtype): dtype of the stored model (float32; float64 for exact checks). The
            computation runs in float64 for float64 inputs, else in float32 (half-precision inputs and
            autocast included).

    Raises:
        SMPLModelNotFoundError: no model file; the message says where to obtain and put it.
        ValueError: a malformed file or regressor (the message names the key).

    Buffers: ``v_template`` [V, 3], ``shapedirs`` [V, 3, num_betas], ``posedirs`` [(J-1)*9, V*3],
    ``J_regressor`` [J, V], ``lbs_weights`` [V, J], ``parents`` [J] int64, ``faces_tensor`` [F, 3]
    int64, and ``joints_regressor`` [K, V] when given. Buffers are not saved in the state dict (they
    come from the model file).
    """

    def __init__(self, model_path: Optional[Union[str, os.PathLike]] = None,
                 joints_regressor: Optional[Union[str, os.PathLike, np.ndarray]] = None,
                 num_betas: int = 10, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        path = resolve_smpl_path(model_path)
        model = load_smpl_model_file(path)
        available = model["shapedirs"].shape[2]
        if not 1 <= num_betas <= available:
            raise ValueError(f"num_betas must be in [1, {available}] for {path}, got {num_betas}")
        self.model_path = str(path)
        self.num_betas = num_betas
        V = model["v_template"].shape[0]
        J = model["parents"].shape[0]

        if not dtype.is_floating_point:
            raise ValueError(f"dtype must be a floating-point dtype, got {dtype}")

        def buffer(name: str, value: np.ndarray, buffer_dtype: torch.dtype = dtype) -> None:
            self.register_buffer(name, torch.as_tensor(np.ascontiguousarray(value), dtype=buffer_dtype),
                                 persistent=False)

        buffer("v_template", model["v_template"])
        buffer("shapedirs", model["shapedirs"][:, :, :num_betas])
        buffer("posedirs", model["posedirs"].reshape(V * 3, -1).T)
        buffer("J_regressor", model["J_regressor"])
        buffer("lbs_weights", model["weights"])
        buffer("parents", model["parents"], torch.int64)
        self._parent_list = [int(p) for p in model["parents"]]  # the kinematic chain walked on the host
        buffer("faces_tensor", model["f"], torch.int64)
        if joints_regressor is not None:
            regressor = np.load(joints_regressor) if isinstance(joints_regressor, (str, os.PathLike)) \
                else np.asarray(joints_regressor)
            if regressor.ndim == 3 and regressor.shape[0] == 1:
                regressor = regressor[0]
            if regressor.ndim != 2 or regressor.shape[1] != V:
                raise ValueError(f"joints_regressor must be [K, V={V}], got {list(regressor.shape)}")
            buffer("joints_regressor", regressor)
        else:
            self.joints_regressor = None
        self.num_verts = V
        self.num_model_joints = J
        self.num_joints = J if joints_regressor is None else self.joints_regressor.shape[0]

    def get_faces(self) -> np.ndarray:
        """Mesh faces: ndarray[F, 3] int64 vertex indices (MMPose's ``get_faces``)."""
        return self.faces_tensor.cpu().numpy()

    def forward(self, betas: Tensor, body_pose: Tensor, global_orient: Tensor,
                transl: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Posed mesh and joints.

        Args:
            betas (Tensor[B, S']): shape, ``S' <= num_betas``.
            body_pose (Tensor[B, (J-1)*3] | Tensor[B, J-1, 3] | Tensor[B, J-1, 3, 3]): the non-root
                joints' rotations relative to their parents, axis-angle or rotation matrices.
            global_orient (Tensor[B, 3] | Tensor[B, 1, 3] | Tensor[B, 1, 3, 3]): root rotation.
            transl (Tensor[B, 3], optional): added to vertices and joints.

        Returns:
            dict: ``vertices`` Tensor[B, V, 3], ``joints`` Tensor[B, K, 3] (the ``joints_regressor``
            applied to the vertices, or the posed model joints), float64 for float64 inputs, float32 otherwise
            (also under autocast).
        """
        J = self.num_model_joints
        if not isinstance(betas, Tensor) or betas.dim() != 2 or not 1 <= betas.shape[1] <= self.num_betas:
            raise ValueError(f"betas must be [B, S] with 1 <= S <= {self.num_betas}, got "
                             f"{tuple(betas.shape) if isinstance(betas, Tensor) else type(betas).__name__}")
        B = betas.shape[0]
        for name, value in (("body_pose", body_pose), ("global_orient", global_orient)):
            if not isinstance(value, Tensor) or not value.is_floating_point():
                raise TypeError(f"{name} must be a floating-point torch.Tensor, got "
                                f"{value.dtype if isinstance(value, Tensor) else type(value).__name__}")
        # Half-precision inputs (autocast) are computed in float32: skinning sums hundreds of terms.
        dtype = torch.promote_types(torch.promote_types(betas.dtype, body_pose.dtype), torch.float32)
        with torch.autocast(betas.device.type, enabled=False):
            body = self._rotmats("body_pose", body_pose.to(dtype), B, J - 1)
            root = self._rotmats("global_orient", global_orient.to(dtype), B, 1)
        if transl is not None and tuple(transl.shape) != (B, 3):
            raise ValueError(f"transl must be [B={B}, 3], got {tuple(transl.shape)}")
        if B == 0:
            K = self.num_joints
            return {"vertices": betas.new_zeros(0, self.num_verts, 3), "joints": betas.new_zeros(0, K, 3)}
        model = {k: getattr(self, k).to(dtype) for k in ("v_template", "shapedirs", "posedirs", "J_regressor",
                                                          "lbs_weights")}
        with torch.autocast(betas.device.type, enabled=False):
            vertices, joints = linear_blend_skinning(
                betas.to(dtype), torch.cat([root, body], dim=1), model["v_template"],
                model["shapedirs"], model["posedirs"], model["J_regressor"], self._parent_list, model["lbs_weights"])
            if self.joints_regressor is not None:
                joints = torch.einsum("kv,bvc->bkc", self.joints_regressor.to(dtype), vertices)
        if transl is not None:
            vertices = vertices + transl[:, None].to(dtype)
            joints = joints + transl[:, None].to(dtype)
        return {"vertices": vertices, "joints": joints}

    @staticmethod
    def _rotmats(name: str, value: Tensor, B: int, count: int) -> Tensor:
        shape = tuple(value.shape)
        if shape in ((B, count, 3, 3),):
            return value
        if shape in ((B, count * 3), (B, count, 3)):
            return batch_rodrigues(value.reshape(B, count, 3))
        raise ValueError(f"{name} must be [B, {count * 3}] / [B, {count}, 3] axis-angle or [B, {count}, 3, 3] "
                         f"rotation matrices (B={B}), got {list(shape)}")
