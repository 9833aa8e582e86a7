"""What configs of 2D-to-3D lifters name, and how their data is built.

Registry entries (see :mod:`.registry`):

=========================  =====================================================================
``models: videopose3d``    :func:`videopose3d`: TCN + TemporalRegressionHead of any width / frames
``codecs``                 ``VideoPoseLifting``, ``ImagePoseLifting``
``datasets: h36m``         :func:`pyposefast.datasets.load_h36m` (MMPose's Human3.6M npz)
``datasets: synthetic3d``  :func:`synthetic3d`: the synthetic Human3.6M, generated on first use and cached
``metrics``                ``MPJPE`` (one mode), ``LiftingMetrics`` (MPJPE, P-MPJPE, N-MPJPE at once)
=========================  =====================================================================

A config is a lifting config when its ``codec`` is a lifting codec; its data then become
:class:`pyposefast.engine.lifting.LiftingTrainData` / ``LiftingValData`` (see
:func:`build_lifting_train_data`), with ``data.augmentation.flip.prob`` the left-right mirror
probability and the image-crop augmentations (``half_body``, ``bbox_transform``) required off.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence, Union

from .loader import ConfigError

__all__ = ["videopose3d", "synthetic3d", "LIFTING_CODECS", "is_lifting_config", "build_lifting_train_data",
           "build_lifting_val_data"]

LIFTING_CODECS = ("VideoPoseLifting", "ImagePoseLifting")


def videopose3d(num_keypoints: int = 17, num_frames: int = 243, channels: int = 1024, dropout: float = 0.25,
                causal: bool = False, use_stride_conv: bool = True, keypoint_channels: int = 2) -> Any:
    """VideoPose3D (MMPose's ``PoseLifter`` with ``TCN`` and ``TemporalRegressionHead``) of any size.

    Args:
        num_keypoints (int): K. num_frames (int): the receptive field, a power of 3 (27, 81, 243).
        channels (int): TCN width (MMPose: 1024). dropout (float): TCN dropout (MMPose: 0.25).
        causal (bool): causal convolutions. use_stride_conv (bool): strided convolutions (the input
            is exactly ``num_frames`` long, one output frame), as MMPose's configs.
        keypoint_channels (int): 2 (x, y), or 3 with the codec's ``concat_vis``.

    Returns:
        PoseLifter: input ``Tensor[B, K * keypoint_channels, num_frames]``, output ``Tensor[B, K, 3]``;
        its head's ``decoder`` is ``VideoPoseLifting(K)`` (MMPose's configs' codec, for inference).

    Raises:
        ValueError: ``num_frames`` not a power of 3 >= 9.
    """
    from ..codecs.video_pose_lifting import VideoPoseLifting
    from ..models.backbones.tcn import TCN
    from ..models.estimators.estimators import PoseLifter
    from ..models.heads.regression import TemporalRegressionHead

    blocks, n = 0, int(num_frames)
    while n > 1 and n % 3 == 0:
        n //= 3
        blocks += 1
    if n != 1 or blocks < 2:
        raise ValueError(f"num_frames must be a power of 3 (9, 27, 81, 243 ...), got {num_frames}")
    backbone = TCN(num_keypoints * keypoint_channels, channels, blocks - 1, (3,) * blocks, dropout=dropout,
                   causal=causal, use_stride_conv=use_stride_conv)
    decoder = VideoPoseLifting(num_keypoints, zero_center=True, root_index=0)  # MMPose's VideoPose3D codec
    return PoseLifter(backbone, TemporalRegressionHead(channels, num_keypoints, decoder=decoder))


def synthetic3d(split: str = "train", *, root: Optional[str] = None, seq_len: int = 27, seq_step: int = 1,
                causal: bool = False, pad_video_seq: bool = True,
                train_subjects: Union[int, Sequence[str]] = 20, val_subjects: Sequence[str] = ("S9", "S11"),
                sequences_per_action: int = 1, num_frames: int = 100, num_cameras: int = 4, noise_2d: float = 0.0,
                seed: int = 0) -> Any:
    """Lifting records of the synthetic Human3.6M (:mod:`pyposefast.datasets.synthetic3d`),
    generated on first use and cached, read by :func:`pyposefast.datasets.load_h36m`.

    Args:
        split (str): ``'train'`` or ``'val'``.
        root (str, optional): dataset folder; default a folder under ``$PYPOSEFAST_CACHE`` (or
            ``~/.cache/pyposefast``) named by the generator's arguments.
        seq_len, seq_step, causal, pad_video_seq: the windows (``load_h36m``'s).
        train_subjects (int or sequence of str): the training subjects' names, or how many
            (named ``T1`` ... ``Tn``: many subjects, each with its own cameras, generalise best).
        val_subjects, sequences_per_action, num_frames, num_cameras, noise_2d, seed:
            :func:`pyposefast.datasets.synthetic3d.write_synthetic3d`'s.

    Returns:
        CocoKeypoints: ``load_h36m``'s result (with ``camera_param`` per record).
    """
    from ..datasets.h36m import load_h36m
    from ..datasets.synthetic import default_root
    from ..datasets.synthetic3d import write_synthetic3d
    from .registry import _file_lock

    if split not in ("train", "val"):
        raise ConfigError(f"synthetic3d split must be 'train' or 'val', got {split!r}")
    if isinstance(train_subjects, int):
        train_subjects = [f"T{i}" for i in range(1, train_subjects + 1)]
    if root is None:
        name = (f"3d_{'-'.join(train_subjects)}_{'-'.join(val_subjects)}_a{sequences_per_action}_f{num_frames}"
                f"_c{num_cameras}_n{noise_2d:g}_s{seed}")
        root = os.path.join(os.path.dirname(default_root()), f"synthetic_h36m_{name}")
    os.makedirs(root, exist_ok=True)
    with _file_lock(os.path.join(root, ".lock")):  # one writer when several processes start (torchrun)
        done = os.path.join(root, ".complete")
        paths = {"train_ann": os.path.join(root, "annotation_body3d", "fps50", "h36m_train.npz"),
                 "val_ann": os.path.join(root, "annotation_body3d", "fps50", "h36m_test.npz"),
                 "cameras": os.path.join(root, "annotation_body3d", "cameras.pkl")}
        if not os.path.exists(done):
            paths = write_synthetic3d(root, train_subjects=tuple(train_subjects), val_subjects=tuple(val_subjects),
                                      sequences_per_action=sequences_per_action, num_frames=num_frames,
                                      num_cameras=num_cameras, noise_2d=noise_2d, seed=seed)
            open(done, "w").close()
    return load_h36m(paths[f"{split}_ann"], seq_len=seq_len, seq_step=seq_step, causal=causal,
                     pad_video_seq=pad_video_seq, camera_param_file=paths["cameras"])


def is_lifting_config(cfg: Dict[str, Any]) -> bool:
    """Whether a resolved config trains a lifter (its ``codec`` is a lifting codec)."""
    codec = cfg.get("codec")
    return isinstance(codec, dict) and codec.get("type") in LIFTING_CODECS


def _flip_prob(cfg: Dict[str, Any]) -> float:
    d = cfg["data"]
    if not d.get("augment", True):
        return 0.0
    aug = d.get("augmentation") or {}
    for name in ("half_body", "bbox_transform"):
        if aug.get(name) not in (False, None):
            raise ConfigError(f"data.augmentation.{name}: image-crop augmentation does not apply to a lifting config "
                              f"(codec {cfg['codec']['type']}); set it to false")
    flip = aug.get("flip")
    if flip in (False, None):
        return 0.0
    if flip.get("direction", "horizontal") != "horizontal" or flip.get("flip_indices") is not None:
        raise ConfigError("data.augmentation.flip: a lifting config mirrors left-right with the dataset's flip "
                          "indices; only 'prob' can be set")
    return float(flip.get("prob", 0.5))


def build_lifting_train_data(cfg: Dict[str, Any], codec: Any, records: Any, device: Any = None) -> Any:
    """``LiftingTrainData`` of a resolved lifting config (``data.batch_size``, the flip probability
    from ``data.augmentation.flip.prob``, ``train.seed``)."""
    from ..engine.lifting import LiftingTrainData

    d = cfg["data"]
    return LiftingTrainData(records, codec, d["batch_size"], device=device, flip_prob=_flip_prob(cfg),
                            meta=d["metainfo"], seed=int(cfg["train"].get("seed", 0) or 0))


def build_lifting_val_data(cfg: Dict[str, Any], codec: Any, records: Any, device: Any = None) -> Any:
    """``LiftingValData`` of a resolved lifting config (``data.val_batch_size``)."""
    from ..engine.lifting import LiftingValData

    return LiftingValData(records, codec, cfg["data"]["val_batch_size"], device=device)
