"""Losses of parametric human mesh recovery: MMPose 0.x's ``MeshLoss`` (vertices, 3D joints, 2D
re-projected joints, SMPL pose and shape) and ``GANLoss`` (the adversarial prior of HMR).

Symbols: B batch, V vertices, K joints, J SMPL pose joints (24), S shape components (10). Input
images are square with side ``img_res`` pixels. All losses are differentiable and deterministic.
"""

from __future__ import annotations

from typing import Dict, Mapping, Sequence

import torch
from torch import Tensor, nn

from ..models.mesh.camera import project_points
from ..models.mesh.geometry import batch_rodrigues

__all__ = ["MeshLoss", "GANLoss"]

_JOINT_CRITERIA = {"smooth_l1": nn.SmoothL1Loss, "l1": nn.L1Loss, "mse": nn.MSELoss}


def _full(value: Tensor) -> Tensor:
    """Half-precision tensors as float32; others unchanged."""
    return value.float() if isinstance(value, Tensor) and value.dtype in (torch.float16, torch.bfloat16) else value


def _weights(name: str, value: Tensor, batch: int) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
    if value.shape[0] != batch:
        raise ValueError(f"{name} must have batch size {batch}, got shape {tuple(value.shape)}")
    return value.float()


class MeshLoss(nn.Module):
    """Mixed loss of a 3D human mesh (MMPose 0.x ``MeshLoss``): losses on the vertices, the 3D joints,
    the 2D joints re-projected with the predicted camera and the SMPL parameters, each times its weight.

    - ``vertex_loss``: L1 between vertices, samples weighted by ``has_smpl``; mean over all elements.
    - ``smpl_pose_loss``: MSE between the predicted rotation matrices and those of the ground-truth
      axis-angle pose; ``smpl_beta_loss``: MSE between shapes; both weighted by ``has_smpl``.
    - ``joints_3d_loss``: smooth L1 between pelvis-centred joints (pelvis = mean of ``pelvis_indices``,
      MMPose: joints 2 and 3, the hips of its 24-joint regressor), weighted by ``joints_3d_visible``.
    - ``joints_2d_loss``: smooth L1 between 2D joints normalised to [-1, 1] (prediction: the 3D joints
      projected with the predicted camera, centre origin; ground truth: input pixels, top-left origin),
      weighted by ``joints_2d_visible``.
    - ``camera_loss`` (only when ``camera_loss_weight > 0``; not in MMPose, SPIN's regulariser):
      ``mean(exp(-10 s)^2)``, keeping the camera scale ``s`` positive.

    Args:
        joints_2d_loss_weight (float), joints_3d_loss_weight (float), vertex_loss_weight (float),
        smpl_pose_loss_weight (float), smpl_beta_loss_weight (float): weights of each term.
        img_res (int): side of the square network input in pixels.
        focal_length (float): focal length of the camera model in pixels (MMPose: 5000).
        camera_loss_weight (float): weight of the camera-scale regulariser (0: off, as MMPose).
        pelvis_indices (Sequence[int]): joints averaged into the pelvis for the 3D joint loss.
        joints_criterion (str): ``'smooth_l1'`` (MMPose), ``'l1'`` or ``'mse'`` for the joint losses.
    """

    def __init__(self, joints_2d_loss_weight: float, joints_3d_loss_weight: float, vertex_loss_weight: float,
                 smpl_pose_loss_weight: float, smpl_beta_loss_weight: float, img_res: int,
                 focal_length: float = 5000.0, camera_loss_weight: float = 0.0,
                 pelvis_indices: Sequence[int] = (2, 3), joints_criterion: str = "smooth_l1") -> None:
        super().__init__()
        if not isinstance(img_res, int) or img_res < 2:
            raise ValueError(f"img_res must be an int >= 2, got {img_res!r}")
        if joints_criterion not in _JOINT_CRITERIA:
            raise ValueError(f"joints_criterion must be one of {sorted(_JOINT_CRITERIA)}, got {joints_criterion!r}")
        if len(pelvis_indices) < 1:
            raise ValueError("pelvis_indices must name at least one joint")
        self.criterion_vertex = nn.L1Loss(reduction="none")
        self.criterion_joints_2d = _JOINT_CRITERIA[joints_criterion](reduction="none")
        self.criterion_joints_3d = _JOINT_CRITERIA[joints_criterion](reduction="none")
        self.criterion_regr = nn.MSELoss(reduction="none")
        self.joints_2d_loss_weight = joints_2d_loss_weight
        self.joints_3d_loss_weight = joints_3d_loss_weight
        self.vertex_loss_weight = vertex_loss_weight
        self.smpl_pose_loss_weight = smpl_pose_loss_weight
        self.smpl_beta_loss_weight = smpl_beta_loss_weight
        self.camera_loss_weight = camera_loss_weight
        self.img_res = img_res
        self.focal_length = focal_length
        self.pelvis_indices = list(pelvis_indices)

    def joints_2d_loss(self, pred_joints_2d: Tensor, gt_joints_2d: Tensor, joints_2d_visible: Tensor) -> Tensor:
        """Re-projection loss: Tensor[B, K, 2] normalised points, visibility Tensor[B, K, 1] or [B, K]."""
        conf = _weights("joints_2d_visible", joints_2d_visible, pred_joints_2d.shape[0])
        if conf.dim() == 2:
            conf = conf[..., None]
        return (conf * self.criterion_joints_2d(pred_joints_2d, gt_joints_2d)).mean()

    def joints_3d_loss(self, pred_joints_3d: Tensor, gt_joints_3d: Tensor, joints_3d_visible: Tensor) -> Tensor:
        """Pelvis-centred 3D joint loss: Tensor[B, K, 3], visibility Tensor[B, K, 1] or [B, K]."""
        if len(gt_joints_3d) == 0:
            return pred_joints_3d.sum() * 0.0
        conf = _weights("joints_3d_visible", joints_3d_visible, pred_joints_3d.shape[0])
        if conf.dim() == 2:
            conf = conf[..., None]
        gt_centred = gt_joints_3d - gt_joints_3d[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        pred_centred = pred_joints_3d - pred_joints_3d[:, self.pelvis_indices].mean(dim=1, keepdim=True)
        return (conf * self.criterion_joints_3d(pred_centred, gt_centred)).mean()

    def vertex_loss(self, pred_vertices: Tensor, gt_vertices: Tensor, has_smpl: Tensor) -> Tensor:
        """L1 vertex loss: Tensor[B, V, 3], ``has_smpl`` Tensor[B]."""
        conf = _weights("has_smpl", has_smpl, pred_vertices.shape[0])
        return (conf[:, None, None] * self.criterion_vertex(pred_vertices, gt_vertices)).mean()

    def smpl_losses(self, pred_rotmat: Tensor, pred_betas: Tensor, gt_pose: Tensor, gt_betas: Tensor,
                    has_smpl: Tensor) -> tuple[Tensor, Tensor]:
        """SMPL parameter losses.

        Args:
            pred_rotmat (Tensor[B, J, 3, 3]), pred_betas (Tensor[B, S]): predictions.
            gt_pose (Tensor[B, J*3]): ground-truth axis-angle pose; gt_betas (Tensor[B, S]).
            has_smpl (Tensor[B]): 1 where the sample has SMPL ground truth.

        Returns:
            tuple: the pose loss and the shape loss (scalars).
        """
        B, J = pred_rotmat.shape[:2]
        conf = _weights("has_smpl", has_smpl, B)
        if gt_pose.numel() != B * J * 3:
            raise ValueError(f"pose must be [B={B}, {J * 3}] axis-angle, got {tuple(gt_pose.shape)}")
        gt_rotmat = batch_rodrigues(gt_pose.reshape(B, J, 3))
        loss_pose = (conf[:, None, None, None] * self.criterion_regr(pred_rotmat, gt_rotmat)).mean()
        loss_betas = (conf[:, None] * self.criterion_regr(pred_betas, gt_betas)).mean()
        return loss_pose, loss_betas

    def project_points(self, points_3d: Tensor, camera: Tensor) -> Tensor:
        """Project Tensor[B, N, 3] with the camera Tensor[B, 3] ``(s, tx, ty)``: Tensor[B, N, 2] pixels
        about the input's centre."""
        return project_points(points_3d, camera, self.focal_length, self.img_res)

    def forward(self, output: Mapping[str, Tensor], target: Mapping[str, Tensor]) -> Dict[str, Tensor]:
        """All terms.

        Args:
            output (dict): ``vertices`` [B, V, 3], ``joints_3d`` [B, K, 3], ``camera`` [B, 3], and optionally
                ``pose`` [B, J, 3, 3] rotation matrices with ``beta`` [B, S].
            target (dict): ``vertices`` [B, V, 3], ``joints_3d`` [B, K, 3], ``joints_3d_visible``
                [B, K, 1], ``joints_2d`` [B, K, 2] (input pixels), ``joints_2d_visible`` [B, K, 1],
                ``pose`` [B, J*3] axis-angle, ``beta`` [B, S], ``has_smpl`` [B].

        Returns:
            dict[str, Tensor]: ``vertex_loss``, (``smpl_pose_loss``, ``smpl_beta_loss``),
            ``joints_3d_loss``, ``joints_2d_loss`` (and ``camera_loss``), each already weighted.
        """
        for key in ("vertices", "joints_3d", "camera"):
            if key not in output:
                raise KeyError(f"output lacks {key!r} (has {sorted(output)})")
        for key in ("vertices", "has_smpl", "joints_3d", "joints_3d_visible", "joints_2d", "joints_2d_visible"):
            if key not in target:
                raise KeyError(f"target lacks {key!r} (has {sorted(target)})")
        device = output["vertices"].device.type
        with torch.autocast(device, enabled=False):  # float32 at least: projections divide by depths of ~50
            return self._terms({k: _full(v) for k, v in output.items()}, {k: _full(v) for k, v in target.items()})

    def _terms(self, output: Mapping[str, Tensor], target: Mapping[str, Tensor]) -> Dict[str, Tensor]:
        losses: Dict[str, Tensor] = {}
        has_smpl = target["has_smpl"]
        losses["vertex_loss"] = self.vertex_loss(output["vertices"], target["vertices"], has_smpl) \
            * self.vertex_loss_weight
        if "pose" in output and "beta" in output:
            loss_pose, loss_betas = self.smpl_losses(output["pose"], output["beta"], target["pose"], target["beta"],
                                                     has_smpl)
            losses["smpl_pose_loss"] = loss_pose * self.smpl_pose_loss_weight
            losses["smpl_beta_loss"] = loss_betas * self.smpl_beta_loss_weight
        pred_joints_3d = output["joints_3d"]
        losses["joints_3d_loss"] = self.joints_3d_loss(pred_joints_3d, target["joints_3d"],
                                                       target["joints_3d_visible"]) * self.joints_3d_loss_weight
        pred_camera = output["camera"]
        pred_joints_2d = 2 * self.project_points(pred_joints_3d, pred_camera) / (self.img_res - 1)
        gt_joints_2d = 2 * target["joints_2d"] / (self.img_res - 1) - 1
        losses["joints_2d_loss"] = self.joints_2d_loss(pred_joints_2d, gt_joints_2d, target["joints_2d_visible"]) \
            * self.joints_2d_loss_weight
        if self.camera_loss_weight > 0:
            losses["camera_loss"] = (torch.exp(-10 * pred_camera[:, 0]) ** 2).mean() * self.camera_loss_weight
        return losses


class GANLoss(nn.Module):
    """Adversarial loss (MMPose 0.x ``GANLoss``).

    Args:
        gan_type (str): ``'vanilla'`` (BCE on logits), ``'lsgan'`` (MSE), ``'wgan'`` or ``'hinge'``.
        real_label_val (float), fake_label_val (float): targets of real and fake samples.
        loss_weight (float): multiplies the generator's loss only (discriminator losses are unweighted).
    """

    def __init__(self, gan_type: str, real_label_val: float = 1.0, fake_label_val: float = 0.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if gan_type not in ("vanilla", "lsgan", "wgan", "hinge"):
            raise ValueError(f"gan_type must be 'vanilla', 'lsgan', 'wgan' or 'hinge', got {gan_type!r}")
        self.gan_type = gan_type
        self.real_label_val = real_label_val
        self.fake_label_val = fake_label_val
        self.loss_weight = loss_weight

    def forward(self, input: Tensor, target_is_real: bool, is_disc: bool = False) -> Tensor:  # noqa: A002
        """The loss of discriminator scores.

        Args:
            input (Tensor[B, ...]): discriminator outputs (logits for ``'vanilla'``).
            target_is_real (bool): whether the samples should be judged real.
            is_disc (bool): the discriminator's loss (unweighted; hinge on both sides) rather than the
                generator's.

        Returns:
            Tensor: scalar loss.
        """
        if self.gan_type == "wgan":
            loss = -input.mean() if target_is_real else input.mean()
        elif self.gan_type == "hinge":
            if is_disc:
                loss = torch.relu(1 - input if target_is_real else 1 + input).mean()
            else:
                loss = -input.mean()
        else:
            label = torch.full_like(input, self.real_label_val if target_is_real else self.fake_label_val)
            if self.gan_type == "vanilla":
                loss = nn.functional.binary_cross_entropy_with_logits(input, label)
            else:
                loss = nn.functional.mse_loss(input, label)
        return loss if is_disc else loss * self.loss_weight
