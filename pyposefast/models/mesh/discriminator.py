"""HMR's adversarial prior on SMPL parameters (MMPose 0.x ``SMPLDiscriminator``, after Kanazawa et
al. 2018): a shape discriminator on the betas, per-joint discriminators on each non-root joint's
rotation matrix (shared 1x1 convolutions, one linear output per joint) and a full-pose discriminator on
the concatenated per-joint features.

Symbols: B batch, J pose joints (24, root first; the root is not judged), S shape components.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn

from .geometry import batch_rodrigues

__all__ = ["SMPLDiscriminator"]


def _mlp(channels: Sequence[int]) -> nn.Sequential:
    """Linear layers with ReLU between them (none after the last)."""
    layers: list[nn.Module] = []
    for i in range(len(channels) - 1):
        layers.append(nn.Linear(channels[i], channels[i + 1]))
        if i < len(channels) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class SMPLDiscriminator(nn.Module):
    """Scores of SMPL parameters being real (logits; higher = more real).

    Args:
        beta_channel (Sequence[int]): widths of the shape discriminator, ``(S, ..., 1)``.
        per_joint_channel (Sequence[int]): widths of the per-joint discriminator, ``(9, ..., c, 1)``.
        full_pose_channel (Sequence[int]): widths of the full-pose discriminator, ``((J-1) * c, ..., 1)``.
        num_joints (int): J (24 for SMPL).
    """

    def __init__(self, beta_channel: Sequence[int] = (10, 5, 1), per_joint_channel: Sequence[int] = (9, 32, 32, 1),
                 full_pose_channel: Sequence[int] = (23 * 32, 1024, 1024, 1), num_joints: int = 24) -> None:
        super().__init__()
        self.joint_count = num_joints - 1
        if per_joint_channel[0] != 9 or per_joint_channel[-1] != 1 or len(per_joint_channel) < 3:
            raise ValueError(f"per_joint_channel must be (9, ..., c, 1), got {tuple(per_joint_channel)}")
        if beta_channel[-1] != 1 or full_pose_channel[-1] != 1:
            raise ValueError("beta_channel and full_pose_channel must end with 1")
        if full_pose_channel[0] != self.joint_count * per_joint_channel[-2]:
            raise ValueError(f"full_pose_channel[0] must be (num_joints - 1) * per_joint_channel[-2] = "
                             f"{self.joint_count * per_joint_channel[-2]}, got {full_pose_channel[0]}")
        self.beta_channel = tuple(beta_channel)
        convs: list[nn.Module] = []
        for i in range(len(per_joint_channel) - 2):
            # MMPose stacks the 1x1 convolutions without activations between them; so do we.
            convs.append(nn.Conv2d(per_joint_channel[i], per_joint_channel[i + 1], kernel_size=1))
        self.pose_convs = nn.Sequential(*convs)
        self.pose_fcs = nn.ModuleList(nn.Linear(per_joint_channel[-2], 1) for _ in range(self.joint_count))
        self.full_pose_discriminator = _mlp(full_pose_channel)
        self.shape_discriminator = _mlp(beta_channel)
        for conv in self.pose_convs:
            nn.init.normal_(conv.weight, std=0.001)
            nn.init.zeros_(conv.bias)

    def forward(self, thetas: tuple[Tensor, Tensor, Tensor]) -> Tensor:
        """Score SMPL parameters.

        Args:
            thetas (tuple): ``(camera Tensor[B, 3] (unused), pose, shape Tensor[B, S])`` with ``pose``
                Tensor[B, J*3] axis-angle or Tensor[B, J, 3, 3] rotation matrices.

        Returns:
            Tensor[B, J + 1]: per-joint scores (J - 1), the full-pose score and the shape score.
        """
        _, poses, shapes = thetas
        B = poses.shape[0]
        J = self.joint_count + 1
        if poses.dim() == 2:
            rotmats = batch_rodrigues(poses.reshape(B, J, 3))
        elif tuple(poses.shape[1:]) == (J, 3, 3):
            rotmats = poses
        else:
            raise ValueError(f"pose must be [B, {J * 3}] or [B, {J}, 3, 3], got {tuple(poses.shape)}")
        if shapes.dim() != 2 or shapes.shape[1] != self.beta_channel[0]:
            raise ValueError(f"shape must be [B, {self.beta_channel[0]}], got {tuple(shapes.shape)}")
        joints = rotmats[:, 1:].reshape(B, self.joint_count, 9)
        features = self.pose_convs(joints.transpose(1, 2)[:, :, None])  # [B, c, 1, J-1]
        per_joint = torch.cat([fc(features[:, :, 0, j]) for j, fc in enumerate(self.pose_fcs)], dim=1)
        full_pose = self.full_pose_discriminator(features.reshape(B, -1))
        return torch.cat([per_joint, full_pose, self.shape_discriminator(shapes)], dim=1)
