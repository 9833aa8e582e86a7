"""Parametric human mesh recovery: the SMPL body model layer (user-supplied model file), HMR's
iterative regressor head, the ``ParametricMesh`` estimator, the adversarial SMPL discriminator, rotation
and camera helpers, and mesh metrics (MPJPE / PA-MPJPE / PVE).

The SMPL model cannot be shipped: register at https://smpl.is.tue.mpg.de, download "SMPL for Python",
and pass the ``.pkl`` as ``SMPL(model_path=...)`` or put it as ``SMPL_NEUTRAL.pkl`` in the folder named
by ``PYPOSEFAST_SMPL_DIR``. ``write_synthetic_smpl(path)`` writes a small stand-in with the same structure.

Example (MMPose 0.x ``hmr_res50`` loss weights)::

    smpl = SMPL("/models/smpl")                       # or SMPL() with PYPOSEFAST_SMPL_DIR set
    backbone = ResNet(depth=50)
    model = ParametricMesh(backbone, HMRMeshHead(backbone.feat_dim), smpl,
                           MeshLoss(joints_2d_loss_weight=100, joints_3d_loss_weight=1000, vertex_loss_weight=20,
                                    smpl_pose_loss_weight=30, smpl_beta_loss_weight=0.2, img_res=224))
    losses = model.loss(crops, pose=..., beta=..., has_smpl=..., joints_3d=..., joints_3d_visible=...,
                        joints_2d=..., joints_2d_visible=...)
    result = model.eval().predict(crops)              # vertices, keypoints_3d, keypoints_2d, smpl_pose, ...
    draw_mesh_result(crop_bgr, result, out_file="mesh.png")   # pyposefast.visualization.mesh
"""

from .camera import camera_to_pixels, perspective_projection, project_points, weak_perspective_translation
from .discriminator import SMPLDiscriminator
from .evaluation import LSP14_FROM_MESH24, mesh_joint_error, mesh_mpjpe, mesh_pve
from .geometry import batch_rodrigues, rot6d_to_rotmat, rotmat_to_axis_angle, rotmat_to_rot6d
from .hmr import ParametricMesh, hmr_res50_mixed_224x224
from .hmr_head import HMRMeshHead
from .smpl import SMPL, linear_blend_skinning
from .smpl_file import (SMPL_DIR_ENV, SMPL_DOWNLOAD_URL, SMPLModelNotFoundError, load_smpl_model_file,
                        resolve_smpl_path, write_synthetic_smpl)

__all__ = [
    "LSP14_FROM_MESH24", "SMPL", "SMPL_DIR_ENV", "SMPL_DOWNLOAD_URL", "SMPLDiscriminator", "SMPLModelNotFoundError",
    "HMRMeshHead", "ParametricMesh", "batch_rodrigues", "camera_to_pixels", "hmr_res50_mixed_224x224",
    "linear_blend_skinning", "load_smpl_model_file", "mesh_joint_error", "mesh_mpjpe", "mesh_pve",
    "perspective_projection", "project_points", "resolve_smpl_path", "rot6d_to_rotmat", "rotmat_to_axis_angle",
    "rotmat_to_rot6d", "weak_perspective_translation", "write_synthetic_smpl",
]
