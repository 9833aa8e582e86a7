"""Dataset metainfo, Animal 2D: keypoints, skeletons, flip pairs, OKS sigmas and colours.

Transcribed from MMPose 1.x's dataset configs (``configs/_base_/datasets/<name>.py``); the values are
facts about the datasets and are kept exactly as published there (including their quirks). Fields
are described in :class:`pyposefast.datasets.metainfo._base.RawMeta`.
"""

from ._base import RawMeta


AP10K = RawMeta(
    dataset_name='ap10k',
    names=[
        'L_Eye', 'R_Eye', 'Nose', 'Neck', 'Root of tail', 'L_Shoulder', 'L_Elbow', 'L_F_Paw', 'R_Shoulder',
        'R_Elbow', 'R_F_Paw', 'L_Hip', 'L_Knee', 'L_B_Paw', 'R_Hip', 'R_Knee', 'R_B_Paw',
    ],
    types=(
        'uuuuluuuuulllllll'
    ),
    swaps=[
        1, 0, -1, -1, -1, 8, 9, 10, 5, 6, 7, 14, 15, 16, 11, 12, 13,
    ],
    colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 1, 2, 2, 2, 2, 2, 0, 0, 1, 0, 1, 1, 0, 0, 0, 0],
    ),
    links=[
        (0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (3, 5), (5, 6), (6, 7), (3, 8), (8, 9), (9, 10), (4, 11), (11, 12),
        (12, 13), (4, 14), (14, 15), (15, 16),
    ],
    link_colors=RawMeta.palette(
        [[0, 0, 255], [0, 255, 0], [0, 255, 255], [6, 156, 250]],
        [0, 0, 0, 1, 1, 2, 2, 2, 3, 3, 3, 2, 2, 2, 3, 3, 3],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5, 1.0, 1.0, 1.2, 1.2, 1.5, 1.5,
    ],
    sigmas=[
        0.025, 0.025, 0.026, 0.035, 0.035, 0.079, 0.072, 0.062, 0.079, 0.072, 0.062, 0.107, 0.087, 0.089, 0.107,
        0.087, 0.089,
    ],
)

ANIMALPOSE = RawMeta(
    dataset_name='animalpose',
    names=[
        'L_Eye', 'R_Eye', 'L_EarBase', 'R_EarBase', 'Nose', 'Throat', 'TailBase', 'Withers', 'L_F_Elbow',
        'R_F_Elbow', 'L_B_Elbow', 'R_B_Elbow', 'L_F_Knee', 'R_F_Knee', 'L_B_Knee', 'R_B_Knee', 'L_F_Paw', 'R_F_Paw',
        'L_B_Paw', 'R_B_Paw',
    ],
    types=(
        'uuuuuuluuulluulluull'
    ),
    swaps=[
        1, 0, 3, 2, -1, -1, -1, -1, 9, 8, 11, 10, 13, 12, 15, 14, 17, 16, 19, 18,
    ],
    colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 1, 0, 1, 2, 2, 2, 2, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
    ),
    links=[
        (0, 1), (0, 2), (1, 3), (0, 4), (1, 4), (4, 5), (5, 7), (6, 7), (5, 8), (8, 12), (12, 16), (5, 9), (9, 13),
        (13, 17), (6, 10), (10, 14), (14, 18), (6, 11), (11, 15), (15, 19),
    ],
    link_colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 1, 2, 1, 2, 0, 0, 0, 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.2, 1.2, 1.2, 1.5, 1.5, 1.5, 1.5,
    ],
    sigmas=[
        0.025, 0.025, 0.026, 0.035, 0.035, 0.1, 0.1, 0.1, 0.107, 0.107, 0.107, 0.107, 0.087, 0.087, 0.087, 0.087,
        0.089, 0.089, 0.089, 0.089,
    ],
)

AK = RawMeta(
    dataset_name='Animal Kingdom',
    names=[
        'Head_Mid_Top', 'Eye_Left', 'Eye_Right', 'Mouth_Front_Top', 'Mouth_Back_Left', 'Mouth_Back_Right',
        'Mouth_Front_Bottom', 'Shoulder_Left', 'Shoulder_Right', 'Elbow_Left', 'Elbow_Right', 'Wrist_Left',
        'Wrist_Right', 'Torso_Mid_Back', 'Hip_Left', 'Hip_Right', 'Knee_Left', 'Knee_Right', 'Ankle_Left',
        'Ankle_Right', 'Tail_Top_Back', 'Tail_Mid_Back', 'Tail_End_Back',
    ],
    types=(
        'uuuuuuuuuuuuuulllllllll'
    ),
    swaps=[
        -1, 2, 1, -1, 5, 4, -1, 8, 7, 10, 9, 12, 11, -1, 15, 14, 17, 16, 19, 18, -1, -1, -1,
    ],
    colors=[
        [225, 0, 255], [220, 20, 60], [0, 255, 255], [0, 255, 42], [221, 160, 221], [135, 206, 250], [50, 205, 50],
        [255, 182, 193], [0, 191, 255], [255, 105, 180], [30, 144, 255], [255, 20, 147], [0, 0, 255], [185, 3, 221],
        [255, 215, 0], [147, 112, 219], [255, 165, 0], [138, 43, 226], [255, 140, 0], [128, 0, 128], [0, 251, 255],
        [32, 178, 170], [0, 102, 102],
    ],
    links=[
        (1, 0), (2, 0), (3, 4), (3, 5), (6, 4), (6, 5), (0, 13), (13, 20), (20, 21), (21, 22), (0, 7), (0, 8),
        (7, 9), (8, 10), (9, 11), (10, 12), (20, 14), (20, 15), (14, 16), (15, 17), (16, 18), (17, 19),
    ],
    link_colors=[
        [220, 20, 60], [0, 255, 255], [221, 160, 221], [135, 206, 250], [221, 160, 221], [135, 206, 250],
        [225, 0, 255], [185, 3, 221], [0, 251, 255], [32, 178, 170], [255, 182, 193], [0, 191, 255],
        [255, 105, 180], [30, 144, 255], [255, 20, 147], [0, 0, 255], [255, 215, 0], [147, 112, 219], [255, 165, 0],
        [138, 43, 226], [255, 140, 0], [128, 0, 128],
    ],
    joint_weights=[1.0] * 23,
    sigmas=[0.025] * 23,
)

ATRW = RawMeta(
    dataset_name='atrw',
    names=[
        'left_ear', 'right_ear', 'nose', 'right_shoulder', 'right_front_paw', 'left_shoulder', 'left_front_paw',
        'right_hip', 'right_knee', 'right_back_paw', 'left_hip', 'left_knee', 'left_back_paw', 'tail', 'center',
    ],
    types=(
        'uuuuuuullllllll'
    ),
    swaps=[
        1, 0, -1, 5, 6, 3, 4, 10, 11, 12, 7, 8, 9, -1, -1,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [255, 128, 0], [0, 255, 0]],
        [0, 0, 0, 1, 1, 2, 2, 1, 1, 1, 2, 2, 2, 0, 0],
    ),
    links=[
        (0, 2), (1, 2), (2, 14), (5, 6), (5, 14), (3, 4), (3, 14), (13, 14), (9, 8), (8, 7), (7, 13), (12, 11),
        (11, 10), (10, 13),
    ],
    link_colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 0, 1, 1, 2, 2, 0, 2, 2, 2, 1, 1, 1],
    ),
    joint_weights=[1.0] * 15,
    sigmas=[
        0.0277, 0.0823, 0.0831, 0.0202, 0.0716, 0.0263, 0.0646, 0.0302, 0.044, 0.0316, 0.0333, 0.0547, 0.0263,
        0.0683, 0.0539,
    ],
)

FLY = RawMeta(
    dataset_name='fly',
    names=[
        'head', 'eyeL', 'eyeR', 'neck', 'thorax', 'abdomen', 'forelegR1', 'forelegR2', 'forelegR3', 'forelegR4',
        'midlegR1', 'midlegR2', 'midlegR3', 'midlegR4', 'hindlegR1', 'hindlegR2', 'hindlegR3', 'hindlegR4',
        'forelegL1', 'forelegL2', 'forelegL3', 'forelegL4', 'midlegL1', 'midlegL2', 'midlegL3', 'midlegL4',
        'hindlegL1', 'hindlegL2', 'hindlegL3', 'hindlegL4', 'wingL', 'wingR',
    ],
    types=(
        '................................'
    ),
    swaps=[
        -1, 2, 1, -1, -1, -1, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
        16, 17, 31, 30,
    ],
    colors=RawMeta.palette(
        [[255, 255, 255]],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ),
    links=[
        (1, 0), (2, 0), (3, 0), (4, 3), (5, 4), (7, 6), (8, 7), (9, 8), (11, 10), (12, 11), (13, 12), (15, 14),
        (16, 15), (17, 16), (19, 18), (20, 19), (21, 20), (23, 22), (24, 23), (25, 24), (27, 26), (28, 27),
        (29, 28), (30, 3), (31, 3),
    ],
    link_colors=RawMeta.palette(
        [[255, 255, 255]],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ),
    joint_weights=[1.0] * 32,
    sigmas=[],
)

HORSE10 = RawMeta(
    dataset_name='horse10',
    names=[
        'Nose', 'Eye', 'Nearknee', 'Nearfrontfetlock', 'Nearfrontfoot', 'Offknee', 'Offfrontfetlock',
        'Offfrontfoot', 'Shoulder', 'Midshoulder', 'Elbow', 'Girth', 'Wither', 'Nearhindhock', 'Nearhindfetlock',
        'Nearhindfoot', 'Hip', 'Stifle', 'Offhindhock', 'Offhindfetlock', 'Offhindfoot', 'Ischium',
    ],
    types=(
        'uuuuuuuuuuuuulllllllll'
    ),
    swaps=[
        -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 153, 255], [255, 102, 255], [255, 51, 255]],
        [0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 2, 2, 2, 0, 0, 2, 2, 2, 0],
    ),
    links=[
        (0, 1), (1, 12), (12, 16), (16, 21), (21, 17), (17, 11), (11, 10), (10, 8), (8, 9), (9, 12), (2, 3), (3, 4),
        (5, 6), (6, 7), (13, 14), (14, 15), (18, 19), (19, 20),
    ],
    link_colors=RawMeta.palette(
        [[255, 153, 255], [255, 102, 255], [255, 51, 255]],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2],
    ),
    joint_weights=[1.0] * 22,
    sigmas=[],
)

LOCUST = RawMeta(
    dataset_name='locust',
    names=[
        'head', 'neck', 'thorax', 'abdomen1', 'abdomen2', 'anttipL', 'antbaseL', 'eyeL', 'forelegL1', 'forelegL2',
        'forelegL3', 'forelegL4', 'midlegL1', 'midlegL2', 'midlegL3', 'midlegL4', 'hindlegL1', 'hindlegL2',
        'hindlegL3', 'hindlegL4', 'anttipR', 'antbaseR', 'eyeR', 'forelegR1', 'forelegR2', 'forelegR3', 'forelegR4',
        'midlegR1', 'midlegR2', 'midlegR3', 'midlegR4', 'hindlegR1', 'hindlegR2', 'hindlegR3', 'hindlegR4',
    ],
    types=(
        '...................................'
    ),
    swaps=[
        -1, -1, -1, -1, -1, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 5, 6, 7, 8, 9, 10, 11, 12,
        13, 14, 15, 16, 17, 18, 19,
    ],
    colors=RawMeta.palette(
        [[255, 255, 255]],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ),
    links=[
        (1, 0), (2, 1), (3, 2), (4, 3), (6, 5), (7, 6), (9, 8), (10, 9), (11, 10), (13, 12), (14, 13), (15, 14),
        (17, 16), (18, 17), (19, 18), (21, 20), (22, 21), (24, 23), (25, 24), (26, 25), (28, 27), (29, 28),
        (30, 29), (32, 31), (33, 32), (34, 33),
    ],
    link_colors=RawMeta.palette(
        [[255, 255, 255]],
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ),
    joint_weights=[1.0] * 35,
    sigmas=[],
)

MACAQUE = RawMeta(
    dataset_name='macaque',
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

ZEBRA = RawMeta(
    dataset_name='zebra',
    names=[
        'snout', 'head', 'neck', 'forelegL1', 'forelegR1', 'hindlegL1', 'hindlegR1', 'tailbase', 'tailtip',
    ],
    types=(
        '.........'
    ),
    swaps=[
        -1, -1, -1, 4, 3, 6, 5, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 255, 255]],
        [0, 0, 0, 0, 0, 0, 0, 0, 0],
    ),
    links=[
        (1, 0), (2, 1), (3, 2), (4, 2), (5, 7), (6, 7), (7, 2), (8, 7),
    ],
    link_colors=[
        [255, 255, 255], [255, 255, 255], [255, 255, 255], [255, 255, 255], [255, 255, 255], [255, 255, 255],
        [255, 255, 255], [255, 255, 255],
    ],
    joint_weights=[1.0] * 9,
    sigmas=[],
)

DATASETS = {
    'ap10k': AP10K,
    'animalpose': ANIMALPOSE,
    'ak': AK,
    'atrw': ATRW,
    'fly': FLY,
    'horse10': HORSE10,
    'locust': LOCUST,
    'macaque': MACAQUE,
    'zebra': ZEBRA,
}
