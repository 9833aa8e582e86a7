"""Dataset metainfo, Hand 2D and 3D: keypoints, skeletons, flip pairs, OKS sigmas and colours.

Transcribed from MMPose 1.x's dataset configs (``configs/_base_/datasets/<name>.py``); the values are
facts about the datasets and are kept exactly as published there (including their quirks). Fields
are described in :class:`pyposefast.datasets.metainfo._base.RawMeta`.
"""

from ._base import RawMeta


ONEHAND10K = RawMeta(
    dataset_name='onehand10k',
    names=[
        'wrist', 'thumb1', 'thumb2', 'thumb3', 'thumb4', 'forefinger1', 'forefinger2', 'forefinger3', 'forefinger4',
        'middle_finger1', 'middle_finger2', 'middle_finger3', 'middle_finger4', 'ring_finger1', 'ring_finger2',
        'ring_finger3', 'ring_finger4', 'pinky_finger1', 'pinky_finger2', 'pinky_finger3', 'pinky_finger4',
    ],
    types=(
        '.....................'
    ),
    swaps=[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 255, 255], [255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5],
    ),
    links=[
        (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
        (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4],
    ),
    joint_weights=[1.0] * 21,
    sigmas=[],
)

FREIHAND2D = RawMeta(
    dataset_name='freihand',
    names=[
        'wrist', 'thumb1', 'thumb2', 'thumb3', 'thumb4', 'forefinger1', 'forefinger2', 'forefinger3', 'forefinger4',
        'middle_finger1', 'middle_finger2', 'middle_finger3', 'middle_finger4', 'ring_finger1', 'ring_finger2',
        'ring_finger3', 'ring_finger4', 'pinky_finger1', 'pinky_finger2', 'pinky_finger3', 'pinky_finger4',
    ],
    types=(
        '.....................'
    ),
    swaps=[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 255, 255], [255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5],
    ),
    links=[
        (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
        (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4],
    ),
    joint_weights=[1.0] * 21,
    sigmas=[],
)

PANOPTIC_HAND2D = RawMeta(
    dataset_name='panoptic_hand2d',
    names=[
        'wrist', 'thumb1', 'thumb2', 'thumb3', 'thumb4', 'forefinger1', 'forefinger2', 'forefinger3', 'forefinger4',
        'middle_finger1', 'middle_finger2', 'middle_finger3', 'middle_finger4', 'ring_finger1', 'ring_finger2',
        'ring_finger3', 'ring_finger4', 'pinky_finger1', 'pinky_finger2', 'pinky_finger3', 'pinky_finger4',
    ],
    types=(
        '.....................'
    ),
    swaps=[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 255, 255], [255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5],
    ),
    links=[
        (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
        (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4],
    ),
    joint_weights=[1.0] * 21,
    sigmas=[],
)

RHD2D = RawMeta(
    dataset_name='rhd2d',
    names=[
        'wrist', 'thumb4', 'thumb3', 'thumb2', 'thumb1', 'forefinger4', 'forefinger3', 'forefinger2', 'forefinger1',
        'middle_finger4', 'middle_finger3', 'middle_finger2', 'middle_finger1', 'ring_finger4', 'ring_finger3',
        'ring_finger2', 'ring_finger1', 'pinky_finger4', 'pinky_finger3', 'pinky_finger2', 'pinky_finger1',
    ],
    types=(
        '.....................'
    ),
    swaps=[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 255, 255], [255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5],
    ),
    links=[
        (0, 4), (4, 3), (3, 2), (2, 1), (0, 8), (8, 7), (7, 6), (6, 5), (0, 12), (12, 11), (11, 10), (10, 9),
        (0, 16), (16, 15), (15, 14), (14, 13), (0, 20), (20, 19), (19, 18), (18, 17),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4],
    ),
    joint_weights=[1.0] * 21,
    sigmas=[],
)

COCO_WHOLEBODY_HAND = RawMeta(
    dataset_name='coco_wholebody_hand',
    names=[
        'wrist', 'thumb1', 'thumb2', 'thumb3', 'thumb4', 'forefinger1', 'forefinger2', 'forefinger3', 'forefinger4',
        'middle_finger1', 'middle_finger2', 'middle_finger3', 'middle_finger4', 'ring_finger1', 'ring_finger2',
        'ring_finger3', 'ring_finger4', 'pinky_finger1', 'pinky_finger2', 'pinky_finger3', 'pinky_finger4',
    ],
    types=(
        '.....................'
    ),
    swaps=[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 255, 255], [255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5],
    ),
    links=[
        (0, 1), (1, 2), (2, 3), (3, 4), (0, 5), (5, 6), (6, 7), (7, 8), (0, 9), (9, 10), (10, 11), (11, 12),
        (0, 13), (13, 14), (14, 15), (15, 16), (0, 17), (17, 18), (18, 19), (19, 20),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4],
    ),
    joint_weights=[1.0] * 21,
    sigmas=[
        0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024, 0.022, 0.026, 0.017, 0.021,
        0.021, 0.032, 0.02, 0.019, 0.022, 0.031,
    ],
)

INTERHAND2D = RawMeta(
    dataset_name='interhand2d',
    names=[
        'thumb4', 'thumb3', 'thumb2', 'thumb1', 'forefinger4', 'forefinger3', 'forefinger2', 'forefinger1',
        'middle_finger4', 'middle_finger3', 'middle_finger2', 'middle_finger1', 'ring_finger4', 'ring_finger3',
        'ring_finger2', 'ring_finger1', 'pinky_finger4', 'pinky_finger3', 'pinky_finger2', 'pinky_finger1', 'wrist',
    ],
    types=(
        '.....................'
    ),
    swaps=[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0], [255, 255, 255]],
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5],
    ),
    links=[
        (20, 3), (3, 2), (2, 1), (1, 0), (20, 7), (7, 6), (6, 5), (5, 4), (20, 11), (11, 10), (10, 9), (9, 8),
        (20, 15), (15, 14), (14, 13), (13, 12), (20, 19), (19, 18), (18, 17), (17, 16),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4],
    ),
    joint_weights=[1.0] * 21,
    sigmas=[],
)

INTERHAND3D = RawMeta(
    dataset_name='interhand3d',
    names=[
        'right_thumb4', 'right_thumb3', 'right_thumb2', 'right_thumb1', 'right_forefinger4', 'right_forefinger3',
        'right_forefinger2', 'right_forefinger1', 'right_middle_finger4', 'right_middle_finger3',
        'right_middle_finger2', 'right_middle_finger1', 'right_ring_finger4', 'right_ring_finger3',
        'right_ring_finger2', 'right_ring_finger1', 'right_pinky_finger4', 'right_pinky_finger3',
        'right_pinky_finger2', 'right_pinky_finger1', 'right_wrist', 'left_thumb4', 'left_thumb3', 'left_thumb2',
        'left_thumb1', 'left_forefinger4', 'left_forefinger3', 'left_forefinger2', 'left_forefinger1',
        'left_middle_finger4', 'left_middle_finger3', 'left_middle_finger2', 'left_middle_finger1',
        'left_ring_finger4', 'left_ring_finger3', 'left_ring_finger2', 'left_ring_finger1', 'left_pinky_finger4',
        'left_pinky_finger3', 'left_pinky_finger2', 'left_pinky_finger1', 'left_wrist',
    ],
    types=(
        '..........................................'
    ),
    swaps=[
        21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 0, 1, 2, 3, 4, 5, 6, 7,
        8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    ],
    colors=RawMeta.palette(
        [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0], [255, 255, 255]],
        '000011112222333344445000011112222333344445',
    ),
    links=[
        (20, 3), (3, 2), (2, 1), (1, 0), (20, 7), (7, 6), (6, 5), (5, 4), (20, 11), (11, 10), (10, 9), (9, 8),
        (20, 15), (15, 14), (14, 13), (13, 12), (20, 19), (19, 18), (18, 17), (17, 16), (41, 24), (24, 23),
        (23, 22), (22, 21), (41, 28), (28, 27), (27, 26), (26, 25), (41, 32), (32, 31), (31, 30), (30, 29),
        (41, 36), (36, 35), (35, 34), (34, 33), (41, 40), (40, 39), (39, 38), (38, 37),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [255, 153, 255], [102, 178, 255], [255, 51, 51], [0, 255, 0]],
        '0000111122223333444400001111222233334444',
    ),
    joint_weights=[1.0] * 42,
    sigmas=[],
)

DATASETS = {
    'onehand10k': ONEHAND10K,
    'freihand2d': FREIHAND2D,
    'panoptic_hand2d': PANOPTIC_HAND2D,
    'rhd2d': RHD2D,
    'coco_wholebody_hand': COCO_WHOLEBODY_HAND,
    'interhand2d': INTERHAND2D,
    'interhand3d': INTERHAND3D,
}
