"""Models: backbones, necks, heads, estimators (top-down, bottom-up, lifting, multi-task, mesh recovery); named entry points (``list_models``,
``build_model``), MMPose checkpoint loading (``load_checkpoint``) and conversion
(``convert_mmpose_checkpoint``); device-side inference helpers (``TopdownInference``,
``StaticGraph``, ``bottomup_inputs``)."""

from .checkpoint import CheckpointMismatchError, load_checkpoint, read_checkpoint
from .estimators import BottomupPoseEstimator, MultiTaskPoseEstimator, PoseLifter, TopdownPoseEstimator
from .mesh import (SMPL, HMRMeshHead, ParametricMesh, SMPLDiscriminator, SMPLModelNotFoundError,
                   hmr_res50_mixed_224x224, write_synthetic_smpl)
from .zoo import MODELS, build_model, list_models, model_complexity
from .inference import TopdownInference
from .cuda_graph import StaticGraph
from .bottomup_inputs import bottomup_inputs
from .convert import convert_mmpose_checkpoint

__all__ = ["TopdownPoseEstimator", "BottomupPoseEstimator", "PoseLifter", "MODELS", "list_models", "build_model",
           "model_complexity", "load_checkpoint", "read_checkpoint", "CheckpointMismatchError",
           "convert_mmpose_checkpoint", "TopdownInference", "StaticGraph", "bottomup_inputs", "MultiTaskPoseEstimator",
           "SMPL", "HMRMeshHead", "ParametricMesh", "SMPLDiscriminator", "SMPLModelNotFoundError",
           "hmr_res50_mixed_224x224", "write_synthetic_smpl"]
