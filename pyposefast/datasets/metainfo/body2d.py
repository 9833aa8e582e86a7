"""Dataset metainfo, Body 2D: keypoints, skeletons, flip pairs, OKS sigmas and colours.

Transcribed from MMPose 1.x's dataset configs (``configs/_base_/datasets/<name>.py``); the values are
facts about the datasets and are kept exactly as published there (including their quirks). Fields
are described in :class:`pyposefast.datasets.metainfo._base.RawMeta`.
"""

from ._base import RawMeta


COCO = RawMeta(
    dataset_name='coco',
    names=[
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
        'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
        'left_ankle', 'right_ankle',
    ],
    types=(
        'uuuuuuuuuuullllll'
    ),
    swaps=[
        -1, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
    ),
    links=[
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
        (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 2, 2, 2, 2, 2, 2],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5,
    ],
    sigmas=[
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089,
    ],
)

COCO_AIC = RawMeta(
    dataset_name='coco',
    names=[
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
        'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
        'left_ankle', 'right_ankle', 'head_top', 'neck',
    ],
    types=(
        'uuuuuuuuuuulllllluu'
    ),
    swaps=[
        -1, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, -1, -1,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 0, 0],
    ),
    links=[
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
        (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (17, 18),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.5,
    ],
    sigmas=[
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089, 0.026, 0.026,
    ],
)

COCO_OPENPOSE = RawMeta(
    dataset_name='coco_openpose',
    names=[
        'nose', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder', 'left_elbow', 'left_wrist',
        'right_hip', 'right_knee', 'right_ankle', 'left_hip', 'left_knee', 'left_ankle', 'right_eye', 'left_eye',
        'right_ear', 'left_ear',
    ],
    types=(
        'uuuuuuuulllllluuuu'
    ),
    swaps=[
        -1, -1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, 15, 14, 17, 16,
    ],
    colors=[
        [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
        [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255],
        [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85],
    ],
    links=[
        (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11), (11, 12), (12, 13),
        (1, 0), (0, 14), (14, 16), (0, 15), (15, 17),
    ],
    link_colors=[
        [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
        [0, 255, 85], [0, 255, 170], [0, 255, 225], [0, 170, 255], [0, 85, 255], [0, 0, 255], [255, 0, 170],
        [170, 0, 255], [255, 0, 255], [255, 0, 170],
    ],
    joint_weights=[1.0] * 18,
    sigmas=[
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089, 0.082,
    ],
)

MPII = RawMeta(
    dataset_name='mpii',
    names=[
        'right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee', 'left_ankle', 'pelvis', 'thorax',
        'upper_neck', 'head_top', 'right_wrist', 'right_elbow', 'right_shoulder', 'left_shoulder', 'left_elbow',
        'left_wrist',
    ],
    types=(
        'llllllluuuuuuuuu'
    ),
    swaps=[
        5, 4, 3, 2, 1, 0, -1, -1, -1, -1, 15, 14, 13, 12, 11, 10,
    ],
    colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 1, 1, 1],
    ),
    links=[
        (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9), (8, 12), (12, 11), (11, 10),
        (8, 13), (13, 14), (14, 15),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1],
    ),
    joint_weights=[
        1.5, 1.2, 1.0, 1.0, 1.2, 1.5, 1.0, 1.0, 1.0, 1.0, 1.5, 1.2, 1.0, 1.0, 1.2, 1.5,
    ],
    sigmas=[
        0.089, 0.083, 0.107, 0.107, 0.083, 0.089, 0.026, 0.026, 0.026, 0.026, 0.062, 0.072, 0.179, 0.179, 0.072,
        0.062,
    ],
)

MPII_TRB = RawMeta(
    dataset_name='mpii_trb',
    names=[
        'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
        'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle', 'head', 'neck', 'right_neck',
        'left_neck', 'medial_right_shoulder', 'lateral_right_shoulder', 'medial_right_bow', 'lateral_right_bow',
        'medial_right_wrist', 'lateral_right_wrist', 'medial_left_shoulder', 'lateral_left_shoulder',
        'medial_left_bow', 'lateral_left_bow', 'medial_left_wrist', 'lateral_left_wrist', 'medial_right_hip',
        'lateral_right_hip', 'medial_right_knee', 'lateral_right_knee', 'medial_right_ankle', 'lateral_right_ankle',
        'medial_left_hip', 'lateral_left_hip', 'medial_left_knee', 'lateral_left_knee', 'medial_left_ankle',
        'lateral_left_ankle',
    ],
    types=(
        'uuuuuulllllluuuuuuuuuuuuuuuullllllllllll'
    ),
    swaps=[
        1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, -1, -1, 15, 14, 22, 23, 24, 25, 26, 27, 16, 17, 18, 19, 20, 21, 34,
        35, 36, 37, 38, 39, 28, 29, 30, 31, 32, 33,
    ],
    colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255], [255, 255, 255]],
        '0101010101012233333333333333333333333333',
    ),
    links=[
        (12, 13), (13, 0), (13, 1), (0, 2), (1, 3), (2, 4), (3, 5), (0, 6), (1, 7), (6, 7), (6, 8), (7, 9), (8, 10),
        (9, 11), (14, 15), (16, 17), (18, 19), (20, 21), (22, 23), (24, 25), (26, 27), (28, 29), (30, 31), (32, 33),
        (34, 35), (36, 37), (38, 39),
    ],
    link_colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0], [255, 255, 255]],
        [0, 0, 0, 1, 2, 1, 2, 0, 0, 0, 1, 2, 1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3],
    ),
    joint_weights=[1.0] * 40,
    sigmas=[],
)

AIC = RawMeta(
    dataset_name='aic',
    names=[
        'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder', 'left_elbow', 'left_wrist', 'right_hip',
        'right_knee', 'right_ankle', 'left_hip', 'left_knee', 'left_ankle', 'head_top', 'neck',
    ],
    types=(
        'uuuuuulllllluu'
    ),
    swaps=[
        3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2, 2],
    ),
    links=[
        (2, 1), (1, 0), (0, 13), (13, 3), (3, 4), (4, 5), (8, 7), (7, 6), (6, 9), (9, 10), (10, 11), (12, 13),
        (0, 6), (3, 9),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [51, 153, 255], [0, 255, 0]],
        [0, 0, 1, 1, 2, 2, 0, 0, 1, 2, 2, 1, 1, 1],
    ),
    joint_weights=[
        1.0, 1.2, 1.5, 1.0, 1.2, 1.5, 1.0, 1.2, 1.5, 1.0, 1.2, 1.5, 1.0, 1.0,
    ],
    sigmas=[
        0.01388152, 0.01515228, 0.01057665, 0.01417709, 0.01497891, 0.01402144, 0.03909642, 0.03686941, 0.01981803,
        0.03843971, 0.03412318, 0.02415081, 0.01291456, 0.01236173,
    ],
)

CROWDPOSE = RawMeta(
    dataset_name='crowdpose',
    names=[
        'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
        'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle', 'top_head', 'neck',
    ],
    types=(
        'uuuuuulllllluu'
    ),
    swaps=[
        1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, -1, -1,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2, 1],
    ),
    links=[
        (10, 8), (8, 6), (11, 9), (9, 7), (6, 7), (0, 6), (1, 7), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (12, 13),
        (1, 13), (0, 13),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 2, 2],
    ),
    joint_weights=[
        0.2, 0.2, 0.2, 1.3, 1.5, 0.2, 1.3, 1.5, 0.2, 0.2, 0.5, 0.2, 0.2, 0.5,
    ],
    sigmas=[
        0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079,
    ],
)

OCHUMAN = RawMeta(
    dataset_name='ochuman',
    names=[
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
        'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
        'left_ankle', 'right_ankle',
    ],
    types=(
        'uuuuuuuuuuullllll'
    ),
    swaps=[
        -1, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
    ),
    links=[
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
        (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 2, 2, 2, 2, 2, 2],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5,
    ],
    sigmas=[
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089,
    ],
)

POSETRACK18 = RawMeta(
    dataset_name='posetrack18',
    names=[
        'nose', 'head_bottom', 'head_top', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
        'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
        'left_ankle', 'right_ankle',
    ],
    types=(
        'uuuuuuuuuuullllll'
    ),
    swaps=[
        -1, -1, -1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
    ),
    links=[
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
        (0, 1), (0, 2), (1, 5), (1, 6),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 2, 2, 2],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5,
    ],
    sigmas=[
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089,
    ],
)

JHMDB = RawMeta(
    dataset_name='jhmdb',
    names=[
        'neck', 'belly', 'head', 'right_shoulder', 'left_shoulder', 'right_hip', 'left_hip', 'right_elbow',
        'left_elbow', 'right_knee', 'left_knee', 'right_wrist', 'left_wrist', 'right_ankle', 'left_ankle',
    ],
    types=(
        'uuuuulluulluull'
    ),
    swaps=[
        -1, -1, -1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13,
    ],
    colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 1, 1],
    ),
    links=[
        (13, 9), (9, 5), (5, 1), (1, 6), (6, 10), (10, 14), (1, 0), (0, 2), (0, 3), (3, 7), (7, 11), (0, 4), (4, 8),
        (8, 12),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 2, 2, 0, 0, 0, 1, 1, 1],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.2, 1.2, 1.5, 1.5, 1.5, 1.5,
    ],
    sigmas=[
        0.025, 0.107, 0.025, 0.079, 0.079, 0.107, 0.107, 0.072, 0.072, 0.087, 0.087, 0.062, 0.062, 0.089, 0.089,
    ],
)

MHP = RawMeta(
    dataset_name='mhp',
    names=[
        'right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee', 'left_ankle', 'pelvis', 'thorax',
        'upper_neck', 'head_top', 'right_wrist', 'right_elbow', 'right_shoulder', 'left_shoulder', 'left_elbow',
        'left_wrist',
    ],
    types=(
        'llllllluuuuuuuuu'
    ),
    swaps=[
        5, 4, 3, 2, 1, 0, -1, -1, -1, -1, 15, 14, 13, 12, 11, 10,
    ],
    colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 1, 1, 1],
    ),
    links=[
        (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9), (8, 12), (12, 11), (11, 10),
        (8, 13), (13, 14), (14, 15),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 1, 1, 1],
    ),
    joint_weights=[
        1.5, 1.2, 1.0, 1.0, 1.2, 1.5, 1.0, 1.0, 1.0, 1.0, 1.5, 1.2, 1.0, 1.0, 1.2, 1.5,
    ],
    sigmas=[
        0.089, 0.083, 0.107, 0.107, 0.083, 0.089, 0.026, 0.026, 0.026, 0.026, 0.062, 0.072, 0.179, 0.179, 0.072,
        0.062,
    ],
)

HUMANART = RawMeta(
    dataset_name='Human-Art',
    names=[
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
        'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
        'left_ankle', 'right_ankle',
    ],
    types=(
        'uuuuuuuuuuullllll'
    ),
    swaps=[
        -1, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
    ),
    links=[
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
        (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 2, 2, 2, 2, 2, 2],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5,
    ],
    sigmas=[
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089,
    ],
)

HUMANART21 = RawMeta(
    dataset_name='Human-Art',
    names=[
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
        'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
        'left_ankle', 'right_ankle', 'left_finger', 'right_finger', 'left_toe', 'right_toe',
    ],
    types=(
        'uuuuuuuuuuullllllllll'
    ),
    swaps=[
        -1, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2],
    ),
    links=[
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
        (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (15, 19), (16, 20), (9, 17), (10, 18),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 2, 2, 2, 2, 2, 2, 0, 1, 0, 1],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.0, 1.0,
    ],
    sigmas=[
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089, 0.089, 0.089, 0.089, 0.089,
    ],
)

HUMANART_AIC = RawMeta(
    dataset_name='humanart',
    names=[
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
        'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
        'left_ankle', 'right_ankle', 'head_top', 'neck',
    ],
    types=(
        'uuuuuuuuuuulllllluu'
    ),
    swaps=[
        -1, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, -1, -1,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 0, 0, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 0, 0],
    ),
    links=[
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
        (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (17, 18),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 2, 2, 2, 0, 1, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.5,
    ],
    sigmas=[
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089, 0.026, 0.026,
    ],
)

EXLPOSE = RawMeta(
    dataset_name='exlpose',
    names=[
        'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist', 'left_hip',
        'right_hip', 'left_knee', 'right_knee', 'left_ankle', 'right_ankle', 'head', 'neck',
    ],
    types=(
        'uuuuuulllllluu'
    ),
    swaps=[
        1, 0, 3, 2, 5, 4, 7, 6, 9, 8, 11, 10, -1, -1,
    ],
    colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 2, 2],
    ),
    links=[
        (12, 13), (13, 0), (13, 1), (0, 2), (2, 4), (1, 3), (3, 5), (13, 7), (13, 6), (7, 9), (9, 11), (6, 8),
        (8, 10),
    ],
    link_colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 1, 1, 2, 2, 0, 0, 2, 2, 1, 1],
    ),
    joint_weights=[
        0.2, 0.2, 0.2, 1.3, 1.5, 0.2, 1.3, 1.5, 0.2, 0.2, 0.5, 0.2, 0.2, 0.5,
    ],
    sigmas=[
        0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.079, 0.079,
    ],
)

DATASETS = {
    'coco': COCO,
    'coco_aic': COCO_AIC,
    'coco_openpose': COCO_OPENPOSE,
    'mpii': MPII,
    'mpii_trb': MPII_TRB,
    'aic': AIC,
    'crowdpose': CROWDPOSE,
    'ochuman': OCHUMAN,
    'posetrack18': POSETRACK18,
    'jhmdb': JHMDB,
    'mhp': MHP,
    'humanart': HUMANART,
    'humanart21': HUMANART21,
    'humanart_aic': HUMANART_AIC,
    'exlpose': EXLPOSE,
}
