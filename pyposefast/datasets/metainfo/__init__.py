"""Metainfo of every dataset family MMPose 1.x supports, under MMPose's parsed-metainfo keys.

``dataset_meta("coco")`` returns what MMPose's ``parse_pose_metainfo(dict(from_file=
"configs/_base_/datasets/coco.py"))`` returns: names are MMPose's config file stems (``coco``,
``coco_wholebody``, ``mpii``, ``ap10k``, ``onehand10k``, ``wflw``, ``deepfashion2``, ``h36m``, ...).
The values are transcribed into the family modules (``body2d``, ``wholebody``, ``face``, ``hand``,
``animal``, ``fashion``, ``body3d``); nothing is read from MMPose at runtime.
"""

from __future__ import annotations

from typing import Any, Dict, List

from . import animal, body2d, body3d, face, fashion, hand, wholebody
from ._base import RawMeta

__all__ = ["RawMeta", "dataset_meta", "list_datasets", "raw_meta", "FAMILIES"]

#: family name -> {config stem -> RawMeta}
FAMILIES: Dict[str, Dict[str, RawMeta]] = {
    "body2d": body2d.DATASETS,
    "wholebody": wholebody.DATASETS,
    "face": face.DATASETS,
    "hand": hand.DATASETS,
    "animal": animal.DATASETS,
    "fashion": fashion.DATASETS,
    "body3d": body3d.DATASETS,
}

_ALL: Dict[str, RawMeta] = {name: meta for fam in FAMILIES.values() for name, meta in fam.items()}


def list_datasets(family: str = "") -> List[str]:
    """Names accepted by :func:`dataset_meta` (MMPose config stems), sorted.

    Args:
        family (str): only this family (``body2d``, ``wholebody``, ``face``, ``hand``, ``animal``,
            ``fashion``, ``body3d``); empty for all.
    """
    if family:
        if family not in FAMILIES:
            raise ValueError(f"unknown dataset family {family!r}; known: {sorted(FAMILIES)}")
        return sorted(FAMILIES[family])
    return sorted(_ALL)


def raw_meta(name: str) -> RawMeta:
    """The transcribed (unparsed) metainfo of dataset ``name``."""
    try:
        return _ALL[name]
    except KeyError:
        raise KeyError(f"unknown dataset {name!r}; known datasets: {', '.join(sorted(_ALL))}") from None


def dataset_meta(name: str) -> Dict[str, Any]:
    """Parsed metainfo of dataset ``name`` (an MMPose config stem), as MMPose's
    ``parse_pose_metainfo`` gives it: see :meth:`RawMeta.parse` for the keys. A fresh dict each call.

    Raises:
        KeyError: an unknown name (the message lists the known ones).
    """
    return raw_meta(name).parse()
