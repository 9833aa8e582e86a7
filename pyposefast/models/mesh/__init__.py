"""Parametric human mesh recovery: the SMPL body model layer (user-supplied model file), HMR's
iterative regressor head, the ``ParametricMesh`` estimator, the adversarial SMPL discriminator, rotation
and camera helpers, and mesh metrics (MPJPE / PA-MPJPE / PVE)."""

from .camera import camera_to_pixels, perspective_projection, project_points, weak_perspective_translation
from .discriminator import SMPLDiscriminator
from .evaluation import mesh_mpjpe, mesh_pve
from .geometry import batch_rodrigues, rot6d_to_rotmat, rotmat_to_rot6d
from .hmr import ParametricMesh
from .hmr_head import HMRMeshHead
from .smpl import SMPL, linear_blend_skinning
from .smpl_file import (SMPL_DIR_ENV, SMPL_DOWNLOAD_URL, SMPLModelNotFoundError, load_smpl_model_file,
                        resolve_smpl_path, write_synthetic_smpl)

__all__ = [
    "SMPL", "SMPL_DIR_ENV", "SMPL_DOWNLOAD_URL", "SMPLDiscriminator", "SMPLModelNotFoundError", "HMRMeshHead",
    "ParametricMesh", "batch_rodrigues", "camera_to_pixels", "linear_blend_skinning", "load_smpl_model_file",
    "mesh_mpjpe", "mesh_pve", "perspective_projection", "project_points", "resolve_smpl_path",
    "rot6d_to_rotmat", "rotmat_to_rot6d", "weak_perspective_translation", "write_synthetic_smpl",
]
