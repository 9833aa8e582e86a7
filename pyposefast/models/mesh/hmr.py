"""HMR-style parametric mesh estimator (MMPose 0.x ``ParametricMesh``): backbone -> ``HMRMeshHead``
(SMPL pose, shape, weak-perspective camera) -> ``SMPL`` (vertices, joints) -> projection to 2D.

``model(x)`` returns the raw regressor outputs; ``model.loss(x, **targets)`` a dict of losses (the
trainer's contract); ``model.predict(x)`` vertices, 3D joints, 2D keypoints and the parameters.

Symbols: B batch, V vertices, K joints of the SMPL layer's output, J SMPL pose joints (24), S shape
components. Inputs are normalised square crops ``Tensor[B, 3, img_res, img_res]``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Dict, Optional, Union

import torch
from torch import Tensor, nn
from torch.func import functional_call

from .camera import camera_to_pixels, project_points, weak_perspective_translation
from .discriminator import SMPLDiscriminator
from .hmr_head import HMRMeshHead
from .smpl import SMPL

if TYPE_CHECKING:  # the losses import this package's geometry; annotations only here
    from ...losses.mesh import GANLoss, MeshLoss

__all__ = ["ParametricMesh", "hmr_res50_mixed_224x224"]


def _trainer_key(name: str) -> str:
    """MMPose 0.x's ``<term>_loss`` as the trainer's ``loss_<term>`` (``disc_real_loss`` -> ``loss_disc_real``)."""
    return "loss_" + name[:-len("_loss")] if name.endswith("_loss") else name


class ParametricMesh(nn.Module):
    """Model-based 3D human mesh estimator (HMR, Kanazawa et al. 2018).

    Args:
        backbone (nn.Module): image -> feature map(s) (e.g. ``ResNet``); the last map feeds the head.
        mesh_head (HMRMeshHead): the iterative SMPL parameter regressor.
        smpl (SMPL): the body model (user-supplied model file).
        loss_mesh (MeshLoss, optional): needed by ``loss``; its ``img_res`` and ``focal_length`` are the
            camera's.
        neck (nn.Module, optional): between backbone and head.
        disc (SMPLDiscriminator, optional) and loss_gan (GANLoss, optional): the adversarial prior; both
            or neither.
        img_res (int): input side in pixels, when there is no ``loss_mesh`` (MMPose: 224).
        focal_length (float): camera focal length in pixels, when there is no ``loss_mesh`` (5000).

    With the adversarial prior, ``loss`` returns ``loss_adv`` (the generator's term; its gradient
    reaches only the generator) and, when ``mosh_theta`` (real SMPL parameters) is given, the
    discriminator's ``loss_disc_real`` / ``loss_disc_fake`` (on detached predictions; their gradient
    reaches only the discriminator). One optimizer over all parameters then trains both sides at once,
    MMPose's ``disc_step=1`` schedule with simultaneous updates.
    """

    def __init__(self, backbone: nn.Module, mesh_head: HMRMeshHead, smpl: SMPL, loss_mesh: Optional["MeshLoss"] = None,
                 neck: Optional[nn.Module] = None, disc: Optional[SMPLDiscriminator] = None,
                 loss_gan: Optional["GANLoss"] = None, img_res: int = 224, focal_length: float = 5000.0) -> None:
        super().__init__()
        if (disc is None) != (loss_gan is None):
            raise ValueError("disc and loss_gan come together: give both for the adversarial prior, or neither")
        if mesh_head.num_joints != smpl.num_model_joints:
            raise ValueError(f"mesh_head regresses {mesh_head.num_joints} joint rotations but the SMPL model has "
                             f"{smpl.num_model_joints} joints")
        if mesh_head.num_betas > smpl.num_betas:
            raise ValueError(f"mesh_head regresses {mesh_head.num_betas} betas, the SMPL layer uses {smpl.num_betas}")
        self.backbone = backbone
        if neck is not None:
            self.neck = neck
        self.mesh_head = mesh_head
        self.smpl = smpl
        self.loss_mesh = loss_mesh
        self.with_gan = disc is not None
        if self.with_gan:
            self.discriminator = disc
            self.loss_gan = loss_gan
        self.img_res = loss_mesh.img_res if loss_mesh is not None else img_res
        self.focal_length = loss_mesh.focal_length if loss_mesh is not None else focal_length

    def extract_feat(self, x: Tensor) -> Tensor:
        """The last backbone (and neck) feature map."""
        feats = self.backbone(x)
        if hasattr(self, "neck"):
            feats = self.neck(feats)
        return feats[-1] if isinstance(feats, (tuple, list)) else feats

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Raw regressor outputs (MMPose's ``generator``).

        Args:
            x (Tensor[B, 3, img_res, img_res]): normalised crops.

        Returns:
            tuple: ``pred_rotmat`` Tensor[B, J, 3, 3], ``pred_beta`` Tensor[B, S], ``pred_camera`` Tensor[B, 3].
        """
        return self.mesh_head(self.extract_feat(x))

    def _mesh(self, rotmat: Tensor, beta: Tensor) -> Dict[str, Tensor]:
        return self.smpl(betas=beta, body_pose=rotmat[:, 1:], global_orient=rotmat[:, :1])

    def loss(self, x: Tensor, pose: Tensor, beta: Tensor, has_smpl: Tensor, joints_3d: Tensor,
             joints_3d_visible: Tensor, joints_2d: Tensor, joints_2d_visible: Tensor,
             vertices: Optional[Tensor] = None, mosh_theta: Optional[Tensor] = None) -> Dict[str, Tensor]:
        """Losses of a batch (MMPose 0.x ``ParametricMesh.train_step`` targets).

        Args:
            x (Tensor[B, 3, img_res, img_res]): normalised crops.
            pose (Tensor[B, J*3]): ground-truth axis-angle pose (root first).
            beta (Tensor[B, S]): ground-truth shape.
            has_smpl (Tensor[B]): 1 where ``pose`` / ``beta`` are real annotations.
            joints_3d (Tensor[B, K, 3]), joints_3d_visible (Tensor[B, K, 1]): 3D joints (model units).
            joints_2d (Tensor[B, K, 2]), joints_2d_visible (Tensor[B, K, 1]): 2D joints in input pixels.
            vertices (Tensor[B, V, 3], optional): ground-truth vertices; default: SMPL of ``pose``, ``beta``.
            mosh_theta (Tensor[B, 3 + J*3 + S], optional): real (camera, pose, shape) samples for the
                discriminator.

        Returns:
            dict[str, Tensor]: the ``MeshLoss`` terms renamed ``loss_<term>`` (``vertex_loss`` ->
            ``loss_vertex``, ``smpl_pose_loss`` -> ``loss_smpl_pose``, ...: the trainer optimises the
            ``loss*`` entries), plus ``loss_adv`` (and ``loss_disc_real``, ``loss_disc_fake``) with the
            adversarial prior.
        """
        if self.loss_mesh is None:
            raise RuntimeError("ParametricMesh.loss needs loss_mesh (a MeshLoss) at construction")
        pred_rotmat, pred_beta, pred_camera = self(x)
        pred = self._mesh(pred_rotmat, pred_beta)
        if vertices is None:
            with torch.no_grad():
                vertices = self.smpl(betas=beta, body_pose=pose[:, 3:], global_orient=pose[:, :3])["vertices"]
        output = {"pose": pred_rotmat, "beta": pred_beta, "camera": pred_camera, "vertices": pred["vertices"],
                  "joints_3d": pred["joints"]}
        target = {"pose": pose, "beta": beta, "has_smpl": has_smpl, "joints_3d": joints_3d, "joints_2d": joints_2d,
                  "joints_3d_visible": joints_3d_visible, "joints_2d_visible": joints_2d_visible,
                  "vertices": vertices}
        losses = self.loss_mesh(output, target)
        if self.with_gan:
            frozen = {k: v.detach() for k, v in self.discriminator.named_parameters()}
            score = functional_call(self.discriminator, frozen, ((pred_camera, pred_rotmat, pred_beta),))
            losses["adv_loss"] = self.loss_gan(score, target_is_real=True, is_disc=False)
            if mosh_theta is not None:
                losses.update(self.discriminator_loss((pred_camera, pred_rotmat, pred_beta), mosh_theta))
        return {_trainer_key(name): value for name, value in losses.items()}

    def discriminator_loss(self, pred_smpl: tuple[Tensor, Tensor, Tensor], mosh_theta: Tensor) -> Dict[str, Tensor]:
        """The discriminator's losses (MMPose's ``real_loss`` / ``fake_loss``, prefixed ``disc_``).

        Args:
            pred_smpl (tuple): predicted ``(camera [B, 3], rotmat [B, J, 3, 3], beta [B, S])`` (detached here).
            mosh_theta (Tensor[B', 3 + J*3 + S]): real samples: camera, axis-angle pose, shape.

        Returns:
            dict[str, Tensor]: ``disc_real_loss`` and ``disc_fake_loss``.
        """
        if not self.with_gan:
            raise RuntimeError("discriminator_loss needs disc and loss_gan at construction")
        J3 = self.mesh_head.num_joints * 3
        if mosh_theta.dim() != 2 or mosh_theta.shape[1] != 3 + J3 + self.mesh_head.num_betas:
            raise ValueError(f"mosh_theta must be [B, {3 + J3 + self.mesh_head.num_betas}] (camera, pose, shape), "
                             f"got {tuple(mosh_theta.shape)}")
        fake = tuple(t.detach() for t in pred_smpl)
        real = (mosh_theta[:, :3], mosh_theta[:, 3:3 + J3], mosh_theta[:, 3 + J3:])
        return {"disc_real_loss": self.loss_gan(self.discriminator(real), target_is_real=True, is_disc=True),
                "disc_fake_loss": self.loss_gan(self.discriminator(fake), target_is_real=False, is_disc=True)}

    @torch.no_grad()
    def predict(self, x: Tensor, input_center: Optional[Tensor] = None,
                input_scale: Optional[Tensor] = None) -> Dict[str, Any]:
        """Meshes, joints and parameters of a batch of crops.

        Args:
            x (Tensor[B, 3, img_res, img_res]): normalised crops.
            input_center (Tensor[B, 2], optional), input_scale (Tensor[B, 2], optional): crop centres and
                sizes in image pixels; when given, ``keypoints_2d`` are in image pixels
                (``center + (p / img_res - 0.5) * scale``), else in input pixels.

        Returns:
            dict: ``vertices`` Tensor[B, V, 3] and ``keypoints_3d`` Tensor[B, K, 3] (model frame, root not
            subtracted), ``keypoints_2d`` Tensor[B, K, 2], ``vertices_cam`` Tensor[B, V, 3] (camera frame
            of the crop: x right, y down, z forward; see ``camera_translation``), ``smpl_pose``
            Tensor[B, J, 3, 3], ``smpl_beta`` Tensor[B, S], ``camera`` Tensor[B, 3] ``(s, tx, ty)``,
            ``camera_translation`` Tensor[B, 3], ``faces`` ndarray[F, 3], ``focal_length`` and ``img_res``.
        """
        pred_rotmat, pred_beta, pred_camera = self(x)
        mesh = self._mesh(pred_rotmat, pred_beta)
        keypoints_2d = camera_to_pixels(project_points(mesh["joints"], pred_camera, self.focal_length, self.img_res),
                                        self.img_res)
        if (input_center is None) != (input_scale is None):
            raise ValueError("input_center and input_scale come together")
        if input_center is not None:
            keypoints_2d = input_center[:, None] + (keypoints_2d / self.img_res - 0.5) * input_scale[:, None]
        translation = weak_perspective_translation(pred_camera, self.focal_length, self.img_res)
        return {"vertices": mesh["vertices"], "keypoints_3d": mesh["joints"], "keypoints_2d": keypoints_2d,
                "vertices_cam": mesh["vertices"] + translation[:, None], "smpl_pose": pred_rotmat,
                "smpl_beta": pred_beta, "camera": pred_camera, "camera_translation": translation,
                "faces": self.smpl.get_faces(), "focal_length": self.focal_length, "img_res": self.img_res}


def hmr_res50_mixed_224x224(smpl: Union[SMPL, str, os.PathLike, None] = None, joints_regressor: Optional[Any] = None,
                            smpl_mean_params: Optional[Any] = None, with_gan: bool = True) -> ParametricMesh:
    """MMPose 0.x's ``hmr/mixed/res50_mixed_224x224`` model: ResNet-50, ``HMRMeshHead`` (3 iterations),
    ``MeshLoss(joints_2d 100, joints_3d 1000, vertex 20, smpl_pose 30, smpl_beta 0.2, focal_length 5000,
    img_res 224)`` and the ``lsgan`` adversarial prior with the default ``SMPLDiscriminator``.

    MMPose trains it with Adam (generator lr 2.5e-4, discriminator 1e-4, fixed), batch 32 per GPU,
    100 epochs, on H36M / MPI-INF-3DHP / LSP / LSPET / MPII / COCO with CMU MoSh for the prior.

    Args:
        smpl (SMPL | str | PathLike, optional): the body model, or its file / folder for ``SMPL(smpl,
            joints_regressor)`` (``None``: the ``PYPOSEFAST_SMPL_DIR`` folder). A missing file raises
            ``SMPLModelNotFoundError`` saying where to obtain it.
        joints_regressor (str | ndarray, optional): when ``smpl`` is a path: MMPose uses
            ``joints_regressor_cmr.npy`` (24 joints, hips at 2 and 3, as ``MeshLoss`` centres on).
        smpl_mean_params (str | Mapping, optional): SPIN's ``smpl_mean_params.npz`` (see ``HMRMeshHead``).
        with_gan (bool): include the discriminator and ``GANLoss``.

    Returns:
        ParametricMesh: untrained (no weights are downloaded).
    """
    from ...losses.mesh import GANLoss, MeshLoss  # the losses import this package: resolved at call time
    from ..backbones.resnet import ResNet

    if not isinstance(smpl, SMPL):
        smpl = SMPL(smpl, joints_regressor=joints_regressor)
    elif joints_regressor is not None:
        raise ValueError("joints_regressor goes with an SMPL path; an SMPL layer already has its regressor")
    backbone = ResNet(depth=50)
    head = HMRMeshHead(backbone.feat_dim, smpl_mean_params=smpl_mean_params, n_iter=3,
                       num_joints=smpl.num_model_joints)
    loss = MeshLoss(joints_2d_loss_weight=100, joints_3d_loss_weight=1000, vertex_loss_weight=20,
                    smpl_pose_loss_weight=30, smpl_beta_loss_weight=0.2, img_res=224, focal_length=5000)
    gan = dict(disc=SMPLDiscriminator(), loss_gan=GANLoss("lsgan", real_label_val=1.0, fake_label_val=0.0,
                                                           loss_weight=1.0)) if with_gan else {}
    return ParametricMesh(backbone, head, smpl, loss, **gan)
