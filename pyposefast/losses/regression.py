"""Coordinate regression losses: RLE (with its RealNVP flow), smooth L1, wing, soft wing, L1, MSE,
bone length and MPJPE.

Symbols: B batch, K keypoints, D coordinate dimensions (2 or 3). Weights ``Tensor[B, K]`` or
``Tensor[B, K, 1]`` multiply the inputs unless said otherwise. All losses are differentiable,
deterministic and give MMPose 1.x's numbers on the same inputs.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "RealNVP", "RLELoss", "SmoothL1Loss", "WingLoss", "SoftWingLoss", "L1Loss", "MSELoss",
    "BoneLoss", "MPJPELoss",
]


def _unsqueeze_to(w: Tensor, ndim: int) -> Tensor:
    while w.dim() < ndim:
        w = w.unsqueeze(-1)
    return w


class RealNVP(nn.Module):
    """2-D RealNVP flow of RLE: 6 affine coupling layers (masks [[0, 1], [1, 0]] x 3), s-nets
    ``2 -> 64 -> 64 -> 2`` with LeakyReLU and a final Tanh, t-nets the same without Tanh, a standard
    normal prior. Parameter names match MMPose's (``s.*``, ``t.*``, buffers ``loc``, ``cov``, ``mask``).
    """

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("loc", torch.zeros(2))
        self.register_buffer("cov", torch.eye(2))
        self.register_buffer("mask", torch.tensor([[0, 1], [1, 0]] * 3, dtype=torch.float32))
        self.s = nn.ModuleList([self._net(True) for _ in range(6)])
        self.t = nn.ModuleList([self._net(False) for _ in range(6)])
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight, gain=0.01)

    @staticmethod
    def _net(tanh: bool) -> nn.Sequential:
        layers = [nn.Linear(2, 64), nn.LeakyReLU(), nn.Linear(64, 64), nn.LeakyReLU(), nn.Linear(64, 2)]
        return nn.Sequential(*(layers + [nn.Tanh()] if tanh else layers))

    def backward_p(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Maps samples x [N, 2] to the prior's space: (z [N, 2], log|det J| [N])."""
        log_det = x.new_zeros(x.shape[0])
        z = x
        for i in reversed(range(len(self.t))):
            m = self.mask[i]
            z_ = m * z
            s = self.s[i](z_) * (1 - m)
            t = self.t[i](z_) * (1 - m)
            z = (1 - m) * (z - t) * torch.exp(-s) + z_
            log_det = log_det - s.sum(dim=1)
        return z, log_det

    def log_prob(self, x: Tensor) -> Tensor:
        """Log density of x [N, 2] under the flow: Tensor[N]."""
        z, log_det = self.backward_p(x)
        chol = torch.linalg.cholesky(self.cov)
        diff = (z - self.loc).unsqueeze(-1)
        sol = torch.linalg.solve_triangular(chol, diff, upper=False).squeeze(-1)
        log_norm = chol.diagonal().log().sum() + math.log(2 * math.pi)
        return -0.5 * sol.pow(2).sum(-1) - log_norm + log_det


class RLELoss(nn.Module):
    """Residual log-likelihood estimation loss (Li et al., ICCV 2021).

    ``sigma = sigmoid(sigma_raw)``, ``e = (mu_hat - mu) / (sigma + 1e-9)``; per (b, k, d):
    ``log sigma - log phi(e_bk) + log(2 sigma) + |e|`` (Laplace residual; Gaussian:
    ``log(sigma sqrt(2 pi)) + e^2 / 2``), times the weights, divided by B, summed.

    Args:
        use_target_weight (bool): multiply the per-element loss by the weights.
        size_average (bool): divide by the batch size.
        residual (bool): add the residual log-likelihood term.
        q_distribution (str): ``'laplace'`` or ``'gaussian'``.
    """

    def __init__(self, use_target_weight: bool = False, size_average: bool = True, residual: bool = True,
                 q_distribution: str = "laplace") -> None:
        super().__init__()
        if q_distribution not in ("laplace", "gaussian"):
            raise ValueError(f"q_distribution must be 'laplace' or 'gaussian', got {q_distribution!r}")
        self.use_target_weight = use_target_weight
        self.size_average = size_average
        self.residual = residual
        self.q_distribution = q_distribution
        self.flow_model = RealNVP()

    def forward(self, pred: Tensor, sigma: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        """Args:
            pred (Tensor[B, K, 2]): predicted coordinates. sigma (Tensor[B, K, 2]): raw sigmas.
            target (Tensor[B, K, 2]): target coordinates. target_weight (Tensor[B, K, 1]): weights.
        """
        B, K = target.shape[:2]
        sigma = sigma.sigmoid()
        error = (pred - target) / (sigma + 1e-9)
        log_phi = self.flow_model.log_prob(error.reshape(-1, 2)).reshape(B, K, 1)
        loss = torch.log(sigma).reshape(B, K, 2) - log_phi
        if self.residual:
            if self.q_distribution == "laplace":
                loss = loss + torch.log(sigma * 2) + error.abs()
            else:
                loss = loss + torch.log(sigma * math.sqrt(2 * math.pi)) + 0.5 * error ** 2
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError("RLELoss(use_target_weight=True) needs target_weight")
            loss = loss * target_weight
        if self.size_average:
            loss = loss / B
        return loss.sum()


class _WeightedLoss(nn.Module):
    def __init__(self, use_target_weight: bool = False, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.use_target_weight = use_target_weight
        self.loss_weight = loss_weight

    def _weighted(self, output: Tensor, target: Tensor, target_weight: Optional[Tensor], pad: bool):
        if not self.use_target_weight:
            return output, target
        if target_weight is None:
            raise ValueError(f"{type(self).__name__}(use_target_weight=True) needs target_weight")
        w = _unsqueeze_to(target_weight, output.dim()) if pad else target_weight
        return output * w, target * w


class SmoothL1Loss(_WeightedLoss):
    """``smooth_l1(w*p, w*t)`` (beta 1, mean) times ``loss_weight``.

    Args:
        use_target_weight (bool): multiply inputs by the weights (padded to the inputs' rank).
        loss_weight (float): multiplier of the loss.
    """

    def forward(self, output: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        o, t = self._weighted(output, target, target_weight, pad=True)
        return F.smooth_l1_loss(o, t) * self.loss_weight


class L1Loss(_WeightedLoss):
    """``l1(w*p, w*t)`` with the given reduction, times ``loss_weight``.

    Args:
        reduction (str): ``'mean'``, ``'sum'`` or ``'none'``.
        use_target_weight (bool): multiply inputs by the weights (padded to the inputs' rank).
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, reduction: str = "mean", use_target_weight: bool = False, loss_weight: float = 1.0) -> None:
        super().__init__(use_target_weight, loss_weight)
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.reduction = reduction

    def forward(self, output: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        o, t = self._weighted(output, target, target_weight, pad=True)
        return F.l1_loss(o, t, reduction=self.reduction) * self.loss_weight


class MSELoss(_WeightedLoss):
    """``mse(w*p, w*t)`` (mean) times ``loss_weight``; the weights must broadcast as given.

    Args:
        use_target_weight (bool): multiply inputs by the weights.
        loss_weight (float): multiplier of the loss.
    """

    def forward(self, output: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        o, t = self._weighted(output, target, target_weight, pad=False)
        return F.mse_loss(o, t) * self.loss_weight


class WingLoss(_WeightedLoss):
    """Wing loss (Feng et al., CVPR 2018): ``omega ln(1 + |d|/epsilon)`` for ``|d| < omega``, else
    ``|d| - C``; summed over keypoints and dims, averaged over the batch.

    Args:
        omega (float), epsilon (float): the loss's parameters.
        use_target_weight (bool): multiply inputs by the weights (Tensor[B, K, 1]).
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, omega: float = 10.0, epsilon: float = 2.0, use_target_weight: bool = False,
                 loss_weight: float = 1.0) -> None:
        super().__init__(use_target_weight, loss_weight)
        self.omega, self.epsilon = omega, epsilon
        self.C = omega * (1.0 - math.log(1.0 + omega / epsilon))

    def forward(self, output: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        o, t = self._weighted(output, target, target_weight, pad=False)
        d = (t - o).abs()
        losses = torch.where(d < self.omega, self.omega * torch.log(1.0 + d / self.epsilon), d - self.C)
        return losses.sum(dim=[1, 2]).mean(dim=0) * self.loss_weight


class SoftWingLoss(_WeightedLoss):
    """Soft wing loss: ``|d|`` for ``|d| < omega1``, else ``omega2 ln(1 + |d|/epsilon) + B``;
    summed over keypoints and dims, averaged over the batch.

    Args:
        omega1 (float), omega2 (float), epsilon (float): the loss's parameters.
        use_target_weight (bool): multiply inputs by the weights (Tensor[B, K, 1]).
        loss_weight (float): multiplier of the loss.
    """

    def __init__(self, omega1: float = 2.0, omega2: float = 20.0, epsilon: float = 0.5,
                 use_target_weight: bool = False, loss_weight: float = 1.0) -> None:
        super().__init__(use_target_weight, loss_weight)
        self.omega1, self.omega2, self.epsilon = omega1, omega2, epsilon
        self.B = omega1 - omega2 * math.log(1.0 + omega1 / epsilon)

    def forward(self, output: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        o, t = self._weighted(output, target, target_weight, pad=False)
        d = (t - o).abs()
        losses = torch.where(d < self.omega1, d, self.omega2 * torch.log(1.0 + d / self.epsilon) + self.B)
        return losses.sum(dim=[1, 2]).mean(dim=0) * self.loss_weight


class MPJPELoss(_WeightedLoss):
    """Mean per-joint position error: ``mean ||(p - g) * w||_2`` over the last dimension.

    Args:
        use_target_weight (bool): multiply the differences by the weights.
        loss_weight (float): multiplier of the loss.
    """

    def forward(self, output: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        d = output - target
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError("MPJPELoss(use_target_weight=True) needs target_weight")
            d = d * target_weight
        return torch.norm(d, dim=-1).mean() * self.loss_weight


class BoneLoss(_WeightedLoss):
    """Bone-length loss: ``mean_j |mean_b(b_hat_j w) - mean_b(b_j w)|`` over non-root joints (batch-mean
    lengths, not per sample).

    Args:
        joint_parents (Sequence[int]): parent of each joint (a root is its own parent).
        use_target_weight (bool): weight the bone lengths (Tensor[B, K]).
        loss_weight (float): multiplier of the loss.
        loss_name (str): name of the loss in the loss dict.
    """

    def __init__(self, joint_parents: Sequence[int], use_target_weight: bool = False, loss_weight: float = 1.0,
                 loss_name: str = "loss_bone") -> None:
        super().__init__(use_target_weight, loss_weight)
        self.joint_parents = list(joint_parents)
        self.non_root_indices = [i for i, p in enumerate(self.joint_parents) if i != p]
        self.loss_name = loss_name

    def forward(self, output: Tensor, target: Tensor, target_weight: Optional[Tensor] = None) -> Tensor:
        idx = self.non_root_indices
        ob = torch.norm(output - output[:, self.joint_parents, :], dim=-1)[:, idx]
        tb = torch.norm(target - target[:, self.joint_parents, :], dim=-1)[:, idx]
        if self.use_target_weight:
            if target_weight is None:
                raise ValueError("BoneLoss(use_target_weight=True) needs target_weight")
            w = target_weight[:, idx]
            ob, tb = ob * w, tb * w
        return (ob.mean(dim=0) - tb.mean(dim=0)).abs().mean() * self.loss_weight
