"""Training losses with MMPose 1.x's names, arguments and numbers (plain PyTorch).

Heatmaps: KeypointMSELoss, KeypointOHKMMSELoss, CombinedTargetMSELoss, AdaptiveWingLoss.
Coordinates: RLELoss (RealNVP flow), SmoothL1Loss, WingLoss, SoftWingLoss, L1Loss, MSELoss, BoneLoss,
MPJPELoss. SimCC: KLDiscretLoss, JSDiscretLoss. Bottom-up: AssociativeEmbeddingLoss. 3D hands:
BCELoss. Mesh recovery: MeshLoss, GANLoss.
"""

from .ae import AssociativeEmbeddingLoss
from .classification import JSDiscretLoss, KLDiscretLoss
from .hand3d import BCELoss
from .heatmap import AdaptiveWingLoss, CombinedTargetMSELoss, KeypointMSELoss, KeypointOHKMMSELoss
from .regression import (BoneLoss, L1Loss, MPJPELoss, MSELoss, RealNVP, RLELoss, SmoothL1Loss, SoftWingLoss,
                         WingLoss)
from .mesh import GANLoss, MeshLoss  # last: it imports pyposefast.models, whose heads import the above

__all__ = [
    "KeypointMSELoss", "KeypointOHKMMSELoss", "CombinedTargetMSELoss", "AdaptiveWingLoss",
    "AssociativeEmbeddingLoss", "RLELoss", "RealNVP", "SmoothL1Loss", "WingLoss", "SoftWingLoss",
    "L1Loss", "MSELoss", "BoneLoss", "MPJPELoss", "KLDiscretLoss", "JSDiscretLoss",
    "BCELoss", "MeshLoss", "GANLoss",
]
