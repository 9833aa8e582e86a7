"""The transcribed form of a dataset's metainfo and its parsing into MMPose's parsed-metainfo dict."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

Color = Sequence[int]

_TYPES = {"u": "upper", "l": "lower", ".": ""}


@dataclass(frozen=True)
class RawMeta:
    """One dataset's metainfo, as published in MMPose's ``configs/_base_/datasets/<name>.py``.

    Attributes:
        dataset_name (str): the config's ``dataset_name`` (not always the file stem).
        names (list[str]): keypoint names, by keypoint id (K of them).
        types (str): one character per keypoint: ``u`` upper body, ``l`` lower body, ``.`` neither.
        swaps (list[int]): each keypoint's mirror twin id, ``-1`` for a keypoint that is its own twin.
        colors (list[[r, g, b]]): keypoint colours (as published: MMPose calls them BGR-ordered).
        links (list[tuple[int, int]]): skeleton links as keypoint-id pairs.
        link_colors (list[[r, g, b]]): one colour per link.
        joint_weights (list[float]): loss weight per keypoint (may be shorter than K where the
            config's is, e.g. ``coco_aic``).
        sigmas (list[float]): OKS sigmas per keypoint (empty where the dataset has none).
        stats_info (dict, optional): extra statistics (Human3.6M's mean box).
    """

    dataset_name: str
    names: List[str]
    types: str
    swaps: List[int]
    colors: List[Color]
    links: List[Tuple[int, int]]
    link_colors: List[Color]
    joint_weights: List[float]
    sigmas: List[float]
    stats_info: Optional[Dict[str, Any]] = field(default=None)

    def __post_init__(self) -> None:
        k = len(self.names)
        if not (len(self.types) == len(self.swaps) == len(self.colors) == k):
            raise ValueError(f"{self.dataset_name}: names/types/swaps/colors lengths differ")
        if len(self.links) != len(self.link_colors):
            raise ValueError(f"{self.dataset_name}: links and link_colors lengths differ")

    @staticmethod
    def palette(colors: Sequence[Color], index: Union[str, Sequence[int]]) -> List[List[int]]:
        """Expand a palette: ``index`` (a digit string or a list of ints) picks ``colors`` entries."""
        return [list(colors[int(i)]) for i in index]

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    def parse(self) -> Dict[str, Any]:
        """MMPose's ``parse_pose_metainfo`` result for this dataset (a fresh dict each call).

        Returns:
            dict: ``dataset_name``, ``num_keypoints``, ``keypoint_id2name``, ``keypoint_name2id``,
            ``upper_body_ids``, ``lower_body_ids``, ``flip_indices`` (list[int], K),
            ``flip_pairs`` (list of (swap_id, id) tuples, both orders as MMPose lists them),
            ``keypoint_colors`` (ndarray[K, 3] uint8), ``num_skeleton_links``,
            ``skeleton_links`` (list of (i, j) tuples), ``skeleton_link_colors`` (ndarray[L, 3]
            uint8), ``dataset_keypoint_weights`` (ndarray float32), ``sigmas`` (ndarray float32)
            and, where the dataset has them, ``stats_info`` (dict of float32 arrays).
        """
        k = len(self.names)
        upper = [i for i in range(k) if self.types[i] == "u"]
        lower = [i for i in range(k) if self.types[i] == "l"]
        flip_indices: List[int] = []
        flip_pairs: List[Tuple[int, int]] = []
        for i, s in enumerate(self.swaps):
            if s < 0:
                flip_indices.append(i)
                continue
            flip_indices.append(int(s))
            pair = (int(s), i)
            if pair not in flip_pairs:
                flip_pairs.append(pair)
        parsed: Dict[str, Any] = dict(
            dataset_name=self.dataset_name,
            num_keypoints=k,
            keypoint_id2name={i: n for i, n in enumerate(self.names)},
            keypoint_name2id={n: i for i, n in enumerate(self.names)},
            upper_body_ids=upper,
            lower_body_ids=lower,
            flip_indices=flip_indices,
            flip_pairs=flip_pairs,
            keypoint_colors=np.array([list(c) for c in self.colors], dtype=np.uint8),
            num_skeleton_links=len(self.links),
            skeleton_links=[(int(a), int(b)) for a, b in self.links],
            skeleton_link_colors=np.array([list(c) for c in self.link_colors], dtype=np.uint8),
            dataset_keypoint_weights=np.array(self.joint_weights, dtype=np.float32),
            sigmas=np.array(self.sigmas, dtype=np.float32),
        )
        if self.stats_info is not None:
            parsed["stats_info"] = {n: np.array(v, dtype=np.float32) for n, v in copy.deepcopy(self.stats_info).items()}
        return parsed
