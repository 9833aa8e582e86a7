"""Rotation conversions of MMPose 0.x's mesh models (``models/utils/geometry.py``): axis-angle
(Rodrigues) and the continuous 6D representation (Zhou et al., CVPR 2019) to rotation matrices.

Symbols: N rotations. Rotation matrices act on column vectors (``x' = R x``). All functions are
differentiable and deterministic, work on any float dtype and device, and keep the input's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["batch_rodrigues", "rot6d_to_rotmat", "rotmat_to_rot6d", "rotmat_to_axis_angle"]


def _check_last_dim(name: str, value: Tensor, size: int) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if not value.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {value.dtype}")
    if value.dim() < 1 or value.shape[-1] != size:
        raise ValueError(f"{name} must have last dimension {size}, got shape {tuple(value.shape)}")


def batch_rodrigues(theta: Tensor) -> Tensor:
    """Axis-angle vectors to rotation matrices (Rodrigues' formula).

    The angle is ``|theta + 1e-8|`` as in MMPose 0.x / SPIN, so a zero vector gives the identity with
    finite gradients.

    Args:
        theta (Tensor[..., 3]): axis-angle vectors (direction = axis, length = angle in radians).

    Returns:
        Tensor[..., 3, 3]: rotation matrices, same dtype and device as ``theta``.
    """
    _check_last_dim("theta", theta, 3)
    angle = torch.norm(theta + 1e-8, p=2, dim=-1, keepdim=True)  # [..., 1]
    axis = theta / angle
    x, y, z = axis.unbind(-1)
    zeros = torch.zeros_like(x)
    skew = torch.stack([zeros, -z, y, z, zeros, -x, -y, x, zeros], dim=-1).reshape(*theta.shape[:-1], 3, 3)
    eye = torch.eye(3, dtype=theta.dtype, device=theta.device).expand_as(skew)
    sin = torch.sin(angle)[..., None]
    cos = torch.cos(angle)[..., None]
    return eye + sin * skew + (1.0 - cos) * (skew @ skew)


def rot6d_to_rotmat(x: Tensor) -> Tensor:
    """6D rotation representation to rotation matrices (Gram-Schmidt on two 3-vectors).

    ``x`` is read as a ``3 x 2`` matrix per rotation (row-major, MMPose's ``x.view(-1, 3, 2)``); its two
    columns are orthonormalised into the first two columns of the rotation, the third is their cross
    product. The identity is ``[1, 0, 0, 1, 0, 0]``.

    Args:
        x (Tensor[..., 6]): 6D rotations (or ``Tensor[B, 6 * J]``, read as ``B * J`` rotations).

    Returns:
        Tensor[N, 3, 3]: rotation matrices, ``N`` = number of 6-vectors in ``x``.
    """
    if not isinstance(x, Tensor) or x.numel() % 6 != 0 or x.dim() < 1:
        raise ValueError(f"x must be a tensor with a multiple of 6 elements per row, got "
                         f"{tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__}")
    m = x.reshape(-1, 3, 2)
    b1 = F.normalize(m[:, :, 0], dim=1)
    a2 = m[:, :, 1]
    b2 = F.normalize(a2 - (b1 * a2).sum(dim=1, keepdim=True) * b1, dim=1)
    b3 = torch.linalg.cross(b1, b2, dim=1)
    return torch.stack((b1, b2, b3), dim=-1)


def rotmat_to_rot6d(rotmat: Tensor) -> Tensor:
    """Rotation matrices to the 6D representation read by ``rot6d_to_rotmat`` (its first two columns).

    Args:
        rotmat (Tensor[..., 3, 3]): rotation matrices.

    Returns:
        Tensor[..., 6]: ``rot6d_to_rotmat(rotmat_to_rot6d(R)) == R`` for rotations ``R``.
    """
    if not isinstance(rotmat, Tensor) or rotmat.dim() < 2 or tuple(rotmat.shape[-2:]) != (3, 3):
        raise ValueError(f"rotmat must be [..., 3, 3], got "
                         f"{tuple(rotmat.shape) if isinstance(rotmat, Tensor) else type(rotmat).__name__}")
    return rotmat[..., :, :2].reshape(*rotmat.shape[:-2], 6)


def rotmat_to_axis_angle(rotmat: Tensor) -> Tensor:
    """Rotation matrices to axis-angle vectors (the inverse of ``batch_rodrigues``), e.g. to store a
    predicted ``smpl_pose`` in SMPL's 72-value form.

    Goes through the unit quaternion (Shepperd's method: the best-conditioned of four formulas per
    matrix), with its scalar part made non-negative, so the angle lies in [0, pi].

    Args:
        rotmat (Tensor[..., 3, 3]): rotation matrices.

    Returns:
        Tensor[..., 3]: axis-angle vectors (length = angle in radians).
    """
    if not isinstance(rotmat, Tensor) or rotmat.dim() < 2 or tuple(rotmat.shape[-2:]) != (3, 3):
        raise ValueError(f"rotmat must be [..., 3, 3], got "
                         f"{tuple(rotmat.shape) if isinstance(rotmat, Tensor) else type(rotmat).__name__}")
    m = rotmat
    m00, m01, m02 = m[..., 0, 0], m[..., 0, 1], m[..., 0, 2]
    m10, m11, m12 = m[..., 1, 0], m[..., 1, 1], m[..., 1, 2]
    m20, m21, m22 = m[..., 2, 0], m[..., 2, 1], m[..., 2, 2]
    trace = m00 + m11 + m22
    # 4 * (w, x, y, z) * (the component the formula is built on), for each of the four formulas
    candidates = torch.stack([
        torch.stack([1 + trace, m21 - m12, m02 - m20, m10 - m01], dim=-1),
        torch.stack([m21 - m12, 1 + m00 - m11 - m22, m01 + m10, m02 + m20], dim=-1),
        torch.stack([m02 - m20, m01 + m10, 1 - m00 + m11 - m22, m12 + m21], dim=-1),
        torch.stack([m10 - m01, m02 + m20, m12 + m21, 1 - m00 - m11 + m22], dim=-1),
    ], dim=-2)  # [..., 4, 4]
    best = torch.stack([trace, m00, m11, m22], dim=-1).argmax(dim=-1)  # [...]
    quat = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4))[..., 0, :]
    quat = F.normalize(quat, dim=-1)
    quat = torch.where(quat[..., :1] < 0, -quat, quat)
    w, xyz = quat[..., :1], quat[..., 1:]
    sin_half = torch.linalg.norm(xyz, dim=-1, keepdim=True)
    angle = 2 * torch.atan2(sin_half, w)
    small = sin_half < 1e-6
    scale = torch.where(small, 2.0 / w.clamp_min(1e-6), angle / sin_half.clamp_min(1e-12))
    return xyz * scale
