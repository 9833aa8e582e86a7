"""Dataset metainfo, 3D (body, whole-body): keypoints, skeletons, flip pairs, OKS sigmas and colours.

Transcribed from MMPose 1.x's dataset configs (``configs/_base_/datasets/<name>.py``); the values are
facts about the datasets and are kept exactly as published there (including their quirks). Fields
are described in :class:`pyposefast.datasets.metainfo._base.RawMeta`.
"""

from ._base import RawMeta


H36M = RawMeta(
    dataset_name='h36m',
    names=[
        'root', 'right_hip', 'right_knee', 'right_foot', 'left_hip', 'left_knee', 'left_foot', 'spine', 'thorax',
        'neck_base', 'head', 'left_shoulder', 'left_elbow', 'left_wrist', 'right_shoulder', 'right_elbow',
        'right_wrist',
    ],
    types=(
        'llllllluuuuuuuuuu'
    ),
    swaps=[
        -1, 4, 5, 6, 1, 2, 3, -1, -1, -1, -1, 14, 15, 16, 11, 12, 13,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [255, 128, 0], [0, 255, 0]],
        [0, 1, 1, 1, 2, 2, 2, 0, 0, 0, 0, 2, 2, 2, 1, 1, 1],
    ),
    links=[
        (0, 4), (4, 5), (5, 6), (0, 1), (1, 2), (2, 3), (0, 7), (7, 8), (8, 9), (9, 10), (8, 11), (11, 12),
        (12, 13), (8, 14), (14, 15), (15, 16),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 0, 0, 0, 1, 1, 1],
    ),
    joint_weights=[1.0] * 17,
    sigmas=[],
    stats_info={'bbox_center': (528.0, 427.0), 'bbox_scale': 400.0},
)

MPI_INF_3DHP = RawMeta(
    dataset_name='mpi_inf_3dhp',
    names=[
        'head_top', 'neck', 'right_shoulder', 'right_elbow', 'right_wrist', 'left_shoulder', 'left_elbow',
        'left_wrist', 'right_hip', 'right_knee', 'right_ankle', 'left_hip', 'left_knee', 'left_ankle', 'root',
        'spine', 'head',
    ],
    types=(
        'uuuuuuuullllllluu'
    ),
    swaps=[
        -1, -1, 5, 6, 7, 2, 3, 4, 11, 12, 13, 8, 9, 10, -1, -1, -1,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [255, 128, 0], [0, 255, 0]],
        [0, 0, 1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 0, 0, 0],
    ),
    links=[
        (1, 2), (2, 3), (3, 4), (1, 5), (5, 6), (6, 7), (14, 8), (8, 9), (9, 10), (14, 11), (11, 12), (12, 13),
        (0, 16), (16, 1), (1, 15), (15, 14),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2, 2, 2, 2],
    ),
    joint_weights=[1.0] * 17,
    sigmas=[],
)

PANOPTIC_BODY3D = RawMeta(
    dataset_name='panoptic_pose_3d',
    names=[
        'neck', 'nose', 'mid_hip', 'left_shoulder', 'left_elbow', 'left_wrist', 'left_hip', 'left_knee',
        'left_ankle', 'right_shoulder', 'right_elbow', 'right_wrist', 'right_hip', 'right_knee', 'right_ankle',
        'left_eye', 'left_ear', 'right_eye', 'right_ear',
    ],
    types=(
        'uuluuullluuullluuuu'
    ),
    swaps=[
        -1, -1, -1, 9, 10, 11, 12, 13, 14, 3, 4, 5, 6, 7, 8, 17, 18, 15, 16,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 0, 0, 0, 0],
    ),
    links=[
        (1, 0), (0, 3), (0, 9), (3, 4), (9, 10), (4, 5), (10, 11), (8, 7), (7, 6), (14, 13), (13, 12), (2, 6),
        (2, 12), (2, 0),
    ],
    link_colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0]],
        [0, 1, 2, 1, 2, 1, 2, 1, 1, 2, 2, 1, 2, 0],
    ),
    joint_weights=[
        1.0, 1.0, 1.0, 1.0, 1.2, 1.5, 1.0, 1.2, 1.5, 1.0, 1.2, 1.5, 1.0, 1.2, 1.5, 1.0, 1.0, 1.0, 1.0,
    ],
    sigmas=[
        0.026, 0.026, 0.107, 0.079, 0.072, 0.062, 0.107, 0.087, 0.089, 0.079, 0.072, 0.062, 0.107, 0.087, 0.089,
        0.025, 0.035, 0.025, 0.035,
    ],
)

CAMPUS = RawMeta(
    dataset_name='campus',
    names=[
        'right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee', 'left_ankle', 'right_wrist',
        'right_elbow', 'right_shoulder', 'left_shoulder', 'left_elbow', 'left_wrist', 'bottom_head', 'top_head',
    ],
    types=(
        'lllllluuuuuuuu'
    ),
    swaps=[
        5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2, 2],
    ),
    links=[
        (0, 1), (1, 2), (3, 4), (4, 5), (2, 3), (6, 7), (7, 8), (9, 10), (10, 11), (2, 8), (3, 9), (8, 12), (9, 12),
        (12, 13),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 0, 0, 1, 1, 0, 1, 0, 1, 2],
    ),
    joint_weights=[
        1.5, 1.2, 1.0, 1.0, 1.2, 1.5, 1.5, 1.2, 1.0, 1.0, 1.2, 1.5, 1.0, 1.0,
    ],
    sigmas=[
        0.089, 0.087, 0.107, 0.107, 0.087, 0.089, 0.062, 0.072, 0.079, 0.079, 0.072, 0.062, 0.026, 0.026,
    ],
)

SHELF = RawMeta(
    dataset_name='shelf',
    names=[
        'right_ankle', 'right_knee', 'right_hip', 'left_hip', 'left_knee', 'left_ankle', 'right_wrist',
        'right_elbow', 'right_shoulder', 'left_shoulder', 'left_elbow', 'left_wrist', 'bottom_head', 'top_head',
    ],
    types=(
        'lllllluuuuuuuu'
    ),
    swaps=[
        5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6, -1, -1,
    ],
    colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2, 2],
    ),
    links=[
        (0, 1), (1, 2), (3, 4), (4, 5), (2, 3), (6, 7), (7, 8), (9, 10), (10, 11), (2, 8), (3, 9), (8, 12), (9, 12),
        (12, 13),
    ],
    link_colors=RawMeta.palette(
        [[255, 128, 0], [0, 255, 0], [51, 153, 255]],
        [0, 0, 1, 1, 2, 0, 0, 1, 1, 0, 1, 0, 1, 2],
    ),
    joint_weights=[
        1.5, 1.2, 1.0, 1.0, 1.2, 1.5, 1.5, 1.2, 1.0, 1.0, 1.2, 1.5, 1.0, 1.0,
    ],
    sigmas=[
        0.089, 0.087, 0.107, 0.107, 0.087, 0.089, 0.062, 0.072, 0.079, 0.079, 0.072, 0.062, 0.026, 0.026,
    ],
)

H3WB = RawMeta(
    dataset_name='h3wb',
    names=[
        'nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder', 'right_shoulder', 'left_elbow',
        'right_elbow', 'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee', 'right_knee',
        'left_ankle', 'right_ankle', 'left_big_toe', 'left_small_toe', 'left_heel', 'right_big_toe',
        'right_small_toe', 'right_heel', 'face-0', 'face-1', 'face-2', 'face-3', 'face-4', 'face-5', 'face-6',
        'face-7', 'face-8', 'face-9', 'face-10', 'face-11', 'face-12', 'face-13', 'face-14', 'face-15', 'face-16',
        'face-17', 'face-18', 'face-19', 'face-20', 'face-21', 'face-22', 'face-23', 'face-24', 'face-25',
        'face-26', 'face-27', 'face-28', 'face-29', 'face-30', 'face-31', 'face-32', 'face-33', 'face-34',
        'face-35', 'face-36', 'face-37', 'face-38', 'face-39', 'face-40', 'face-41', 'face-42', 'face-43',
        'face-44', 'face-45', 'face-46', 'face-47', 'face-48', 'face-49', 'face-50', 'face-51', 'face-52',
        'face-53', 'face-54', 'face-55', 'face-56', 'face-57', 'face-58', 'face-59', 'face-60', 'face-61',
        'face-62', 'face-63', 'face-64', 'face-65', 'face-66', 'face-67', 'left_hand_root', 'left_thumb1',
        'left_thumb2', 'left_thumb3', 'left_thumb4', 'left_forefinger1', 'left_forefinger2', 'left_forefinger3',
        'left_forefinger4', 'left_middle_finger1', 'left_middle_finger2', 'left_middle_finger3',
        'left_middle_finger4', 'left_ring_finger1', 'left_ring_finger2', 'left_ring_finger3', 'left_ring_finger4',
        'left_pinky_finger1', 'left_pinky_finger2', 'left_pinky_finger3', 'left_pinky_finger4', 'right_hand_root',
        'right_thumb1', 'right_thumb2', 'right_thumb3', 'right_thumb4', 'right_forefinger1', 'right_forefinger2',
        'right_forefinger3', 'right_forefinger4', 'right_middle_finger1', 'right_middle_finger2',
        'right_middle_finger3', 'right_middle_finger4', 'right_ring_finger1', 'right_ring_finger2',
        'right_ring_finger3', 'right_ring_finger4', 'right_pinky_finger1', 'right_pinky_finger2',
        'right_pinky_finger3', 'right_pinky_finger4',
    ],
    types=(
        'uuuuuuuuuuulllllllllllluuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu.........'
        '.................................'
    ),
    swaps=[
        -1, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 20, 21, 22, 17, 18, 19, 39, 38, 37, 36, 35, 34,
        33, 32, -1, 30, 29, 28, 27, 26, 25, 24, 23, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, -1, -1, -1, -1, 58, 57,
        -1, 55, 54, 68, 67, 66, 65, 70, 69, 62, 61, 60, 59, 64, 63, 77, 76, 75, -1, 73, 72, 71, 82, 81, -1, 79, 78,
        87, 86, -1, 84, 83, 90, -1, 88, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126,
        127, 128, 129, 130, 131, 132, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107,
        108, 109, 110, 111,
    ],
    colors=RawMeta.palette(
        [[51, 153, 255], [0, 255, 0], [255, 128, 0], [247, 34, 5], [255, 153, 255], [102, 178, 255], [255, 51, 51]],
        '0000012121212121222222233333333333333333333333333333333333333333333333333333333333333333333322224444555566661111322224444555566661111',
    ),
    links=[
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7), (6, 8), (7, 9), (8, 10),
        (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6), (15, 17), (15, 18), (15, 19), (16, 20), (16, 21),
        (16, 22), (91, 92), (92, 93), (93, 94), (94, 95), (91, 96), (96, 97), (97, 98), (98, 99), (91, 100),
        (100, 101), (101, 102), (102, 103), (91, 104), (104, 105), (105, 106), (106, 107), (91, 108), (108, 109),
        (109, 110), (110, 111), (112, 113), (113, 114), (114, 115), (115, 116), (112, 117), (117, 118), (118, 119),
        (119, 120), (112, 121), (121, 122), (122, 123), (123, 124), (112, 125), (125, 126), (126, 127), (127, 128),
        (112, 129), (129, 130), (130, 131), (131, 132),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [51, 153, 255], [255, 153, 255], [102, 178, 255], [255, 51, 51]],
        '00112222010122222220001111111333344445555000011113333444455550000',
    ),
    joint_weights=[1.0] * 133,
    sigmas=[
        0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.107, 0.107, 0.087, 0.087,
        0.089, 0.089, 0.068, 0.066, 0.066, 0.092, 0.094, 0.094, 0.042, 0.043, 0.044, 0.043, 0.04, 0.035, 0.031,
        0.025, 0.02, 0.023, 0.029, 0.032, 0.037, 0.038, 0.043, 0.041, 0.045, 0.013, 0.012, 0.011, 0.011, 0.012,
        0.012, 0.011, 0.011, 0.013, 0.015, 0.009, 0.007, 0.007, 0.007, 0.012, 0.009, 0.008, 0.016, 0.01, 0.017,
        0.011, 0.009, 0.011, 0.009, 0.007, 0.013, 0.008, 0.011, 0.012, 0.01, 0.034, 0.008, 0.008, 0.009, 0.008,
        0.008, 0.007, 0.01, 0.008, 0.009, 0.009, 0.009, 0.007, 0.007, 0.008, 0.011, 0.008, 0.008, 0.008, 0.01,
        0.008, 0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024, 0.035, 0.018, 0.024, 0.022, 0.026, 0.017,
        0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031, 0.029, 0.022, 0.035, 0.037, 0.047, 0.026, 0.025, 0.024,
        0.035, 0.018, 0.024, 0.022, 0.026, 0.017, 0.021, 0.021, 0.032, 0.02, 0.019, 0.022, 0.031,
    ],
)

UBODY3D = RawMeta(
    dataset_name='ubody3d',
    names=[
        'Pelvis', 'L_Hip', 'R_Hip', 'L_Knee', 'R_Knee', 'L_Ankle', 'R_Ankle', 'Neck', 'L_Shoulder', 'R_Shoulder',
        'L_Elbow', 'R_Elbow', 'L_Wrist', 'R_Wrist', 'L_Big_toe', 'L_Small_toe', 'L_Heel', 'R_Big_toe',
        'R_Small_toe', 'R_Heel', 'L_Ear', 'R_Ear', 'L_Eye', 'R_Eye', 'Nose', 'L_Thumb_1', 'L_Thumb_2', 'L_Thumb_3',
        'L_Thumb_4', 'L_Index_1', 'L_Index_2', 'L_Index_3', 'L_Index_4', 'L_Middle_1', 'L_Middle_2', 'L_Middle_3',
        'L_Middle_4', 'L_Ring_1', 'L_Ring_2', 'L_Ring_3', 'L_Ring_4', 'L_Pinky_1', 'L_Pinky_2', 'L_Pinky_3',
        'L_Pinky_4', 'R_Thumb_1', 'R_Thumb_2', 'R_Thumb_3', 'R_Thumb_4', 'R_Index_1', 'R_Index_2', 'R_Index_3',
        'R_Index_4', 'R_Middle_1', 'R_Middle_2', 'R_Middle_3', 'R_Middle_4', 'R_Ring_1', 'R_Ring_2', 'R_Ring_3',
        'R_Ring_4', 'R_Pinky_1', 'R_Pinky_2', 'R_Pinky_3', 'R_Pinky_4', 'Face_1', 'Face_2', 'Face_3', 'Face_4',
        'Face_5', 'Face_6', 'Face_7', 'Face_8', 'Face_9', 'Face_10', 'Face_11', 'Face_12', 'Face_13', 'Face_14',
        'Face_15', 'Face_16', 'Face_17', 'Face_18', 'Face_19', 'Face_20', 'Face_21', 'Face_22', 'Face_23',
        'Face_24', 'Face_25', 'Face_26', 'Face_27', 'Face_28', 'Face_29', 'Face_30', 'Face_31', 'Face_32',
        'Face_33', 'Face_34', 'Face_35', 'Face_36', 'Face_37', 'Face_38', 'Face_39', 'Face_40', 'Face_41',
        'Face_42', 'Face_43', 'Face_44', 'Face_45', 'Face_46', 'Face_47', 'Face_48', 'Face_49', 'Face_50',
        'Face_51', 'Face_52', 'Face_53', 'Face_54', 'Face_55', 'Face_56', 'Face_57', 'Face_58', 'Face_59',
        'Face_60', 'Face_61', 'Face_62', 'Face_63', 'Face_64', 'Face_65', 'Face_66', 'Face_67', 'Face_68',
        'Face_69', 'Face_70', 'Face_71', 'Face_72',
    ],
    types=(
        '.lllllluuuuuuulllllluu..u...........................................................................'
        '.....................................'
    ),
    swaps=[
        -1, 2, 1, 4, 3, 6, 5, -1, 9, 8, 11, 10, 13, 12, 17, 18, 19, 14, 15, 16, 21, 20, 23, 22, -1, 45, 46, 47, 48,
        49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35,
        36, 37, 38, 39, 40, 41, 42, 43, 44, -1, -1, 68, 67, 78, 77, 76, 75, 74, 73, 72, 71, 70, 69, -1, -1, -1, -1,
        87, 86, -1, 84, 83, 97, 96, 95, 94, 99, 98, 91, 90, 89, 88, 93, 92, 106, 105, 104, -1, 102, 101, 100, 111,
        110, -1, 108, 107, 116, 115, -1, 113, 112, 119, -1, 117, 136, 135, 134, 133, 132, 131, 130, 129, -1, 127,
        126, 125, 124, 123, 122, 121, 120,
    ],
    colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [255, 255, 255]],
        '00000000000000000000000001111111111111111111111111111111111111111222222222222222222222222222222222222222222222222222222222222222222222222',
    ),
    links=[
        (5, 3), (3, 1), (6, 4), (4, 2), (1, 2), (8, 1), (9, 2), (8, 9), (8, 10), (9, 11), (10, 12), (11, 13),
        (22, 23), (24, 22), (24, 23), (22, 20), (23, 21), (20, 8), (21, 9), (5, 14), (5, 15), (5, 16), (6, 17),
        (6, 18), (6, 19), (12, 25), (25, 26), (26, 27), (27, 28), (12, 29), (29, 30), (30, 31), (31, 32), (12, 33),
        (33, 34), (34, 35), (35, 36), (12, 37), (37, 38), (38, 39), (39, 40), (12, 41), (41, 42), (42, 43),
        (43, 44), (13, 45), (45, 46), (46, 47), (47, 48), (13, 49), (49, 50), (50, 51), (51, 52), (13, 53),
        (53, 54), (54, 55), (55, 56), (13, 61), (61, 62), (62, 63), (63, 64),
    ],
    link_colors=RawMeta.palette(
        [[0, 255, 0], [255, 128, 0], [255, 255, 255]],
        '0000000000011111111111111111111222222222222222222222222222222',
    ),
    joint_weights=[1.0] * 137,
    sigmas=[],
)

DATASETS = {
    'h36m': H36M,
    'mpi_inf_3dhp': MPI_INF_3DHP,
    'panoptic_body3d': PANOPTIC_BODY3D,
    'campus': CAMPUS,
    'shelf': SHELF,
    'h3wb': H3WB,
    'ubody3d': UBODY3D,
}
