"""HMR's iterative SMPL parameter regressor (Kanazawa et al., "End-to-end Recovery of Human Shape and
Pose", CVPR 2018), MMPose 0.x's ``HMRMeshHead``.

From the globally averaged backbone feature, ``n_iter`` times: concatenate the feature with the current
pose (6D per joint), shape and camera, run ``fc1 -> dropout -> fc2 -> dropout`` and add the decoded
corrections (``decpose``, ``decshape``, ``deccam``). The estimate starts at the mean parameters.

Symbols: B batch, C feature channels, J pose joints (24 for SMPL, root first), S shape components.
"""

from __future__ import annotations

import os
from typing import Mapping, Optional, Union

import numpy as np
import torch
from torch import Tensor, nn

from .geometry import rot6d_to_rotmat

__all__ = ["HMRMeshHead"]


class HMRMeshHead(nn.Module):
    """Iterative regressor of SMPL pose (6D -> rotation matrices), shape and weak-perspective camera.

    Args:
        in_channels (int): C of the backbone's last feature map.
        smpl_mean_params (str | PathLike | Mapping, optional): the mean parameters (an ``.npz`` such as
            SPIN's ``smpl_mean_params.npz``, or a mapping) with ``pose`` [J*6] (6D rotations),
            ``shape`` [S] and ``cam`` [3]. ``None``: identity rotations, zero shape and camera
            ``(1, 0, 0)``. (MMPose 0.x starts from a zero 6D pose there, which is no rotation at all;
            the identity is the usable equivalent.)
        n_iter (int): refinement iterations (MMPose: 3).
        num_joints (int): J (24 for SMPL).
        num_betas (int): S (10).
        hidden_dim (int): width of ``fc1`` / ``fc2`` (MMPose: 1024).

    The decoder layers start from Xavier-normal weights with gain 0.01 and zero biases (MMPose's
    ``init_weights``), so the first estimate stays close to the mean.
    """

    def __init__(self, in_channels: int, smpl_mean_params: Optional[Union[str, os.PathLike, Mapping]] = None,
                 n_iter: int = 3, num_joints: int = 24, num_betas: int = 10, hidden_dim: int = 1024) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("n_iter", n_iter), ("num_joints", num_joints),
                            ("num_betas", num_betas), ("hidden_dim", hidden_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.in_channels = in_channels
        self.n_iter = n_iter
        self.num_joints = num_joints
        self.num_betas = num_betas
        npose, ncam = num_joints * 6, 3
        self.fc1 = nn.Linear(in_channels + npose + num_betas + ncam, hidden_dim)
        self.drop1 = nn.Dropout()
        self.fc2 = nn.Linear(hidden_dim, hidden_dim)
        self.drop2 = nn.Dropout()
        self.decpose = nn.Linear(hidden_dim, npose)
        self.decshape = nn.Linear(hidden_dim, num_betas)
        self.deccam = nn.Linear(hidden_dim, ncam)
        if smpl_mean_params is None:
            init_pose = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.0, 0.0]).repeat(num_joints)
            init_shape = torch.zeros(num_betas)
            init_cam = torch.tensor([1.0, 0.0, 0.0])
        else:
            params = np.load(smpl_mean_params) if isinstance(smpl_mean_params, (str, os.PathLike)) \
                else smpl_mean_params
            missing = [k for k in ("pose", "shape", "cam") if k not in params]
            if missing:
                raise ValueError(f"smpl_mean_params lacks {missing}: it needs 'pose' [J*6], 'shape' [S], 'cam' [3]")
            init_pose = torch.as_tensor(np.asarray(params["pose"]), dtype=torch.float32).reshape(-1)
            init_shape = torch.as_tensor(np.asarray(params["shape"]), dtype=torch.float32).reshape(-1)
            init_cam = torch.as_tensor(np.asarray(params["cam"]), dtype=torch.float32).reshape(-1)
            for name, value, size in (("pose", init_pose, npose), ("shape", init_shape, num_betas),
                                      ("cam", init_cam, ncam)):
                if value.numel() != size:
                    raise ValueError(f"smpl_mean_params[{name!r}] must have {size} values, got {value.numel()}")
        self.register_buffer("init_pose", init_pose[None])
        self.register_buffer("init_shape", init_shape[None])
        self.register_buffer("init_cam", init_cam[None])
        self.init_weights()

    def init_weights(self) -> None:
        """Xavier-normal (gain 0.01) decoders with zero bias, as MMPose 0.x."""
        for layer in (self.decpose, self.decshape, self.deccam):
            nn.init.xavier_normal_(layer.weight, gain=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Regress SMPL parameters.

        Args:
            x (Tensor[B, C, H, W] | Tensor[B, C] | tuple): the last feature map (a tuple of maps: the last
                one is used); it is averaged over H and W.

        Returns:
            tuple: ``pred_rotmat`` Tensor[B, J, 3, 3] (joint rotations, root first), ``pred_shape``
            Tensor[B, S] and ``pred_cam`` Tensor[B, 3] ``(s, tx, ty)``.
        """
        if isinstance(x, (tuple, list)):
            x = x[-1]
        if x.dim() == 4:
            x = x.mean(dim=(-2, -1))
        if x.dim() != 2 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must be [B, {self.in_channels}, H, W] or [B, {self.in_channels}], got "
                             f"{tuple(x.shape)}")
        B = x.shape[0]
        pred_pose = self.init_pose.expand(B, -1)
        pred_shape = self.init_shape.expand(B, -1)
        pred_cam = self.init_cam.expand(B, -1)
        for _ in range(self.n_iter):
            hidden = torch.cat([x, pred_pose, pred_shape, pred_cam], dim=1)
            hidden = self.drop2(self.fc2(self.drop1(self.fc1(hidden))))
            pred_pose = self.decpose(hidden) + pred_pose
            pred_shape = self.decshape(hidden) + pred_shape
            pred_cam = self.deccam(hidden) + pred_cam
        with torch.autocast(x.device.type, enabled=False):  # Gram-Schmidt in float32 at least
            pred_rotmat = rot6d_to_rotmat(pred_pose.float() if pred_pose.dtype in (torch.float16, torch.bfloat16)
                                          else pred_pose).reshape(B, self.num_joints, 3, 3)
        return pred_rotmat, pred_shape, pred_cam
