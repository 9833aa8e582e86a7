"""The flat registries a config names components from: one plain dict ``name -> callable`` per family.

=========  ==========================================================================================
family     what a name builds
=========  ==========================================================================================
models     ``pyposefast.models.MODELS`` (the zoo's entry points) plus the demo's small model
codecs     the codec classes (``MSRAHeatmap``, ``UDPHeatmap``, ``SimCCLabel`` ...)
datasets   annotation readers returning top-down records: ``coco`` (any COCO-style keypoint file:
           COCO, AP-10K, OneHand10K, WFLW ...), ``coco_wholebody`` (133 keypoints), ``synthetic``
           (generated and cached), ``mpii`` (:func:`pyposefast.datasets.load_mpii`); lifting
           records: ``h36m`` (:func:`pyposefast.datasets.load_h36m`), ``synthetic3d`` (see :mod:`.lifting`)
metainfo   dataset names of :func:`pyposefast.datasets.dataset_meta` (``coco``, ``mpii`` ...)
metrics    the metric classes (``CocoMetric``, ``PCKAccuracy``, ``NME`` ...)
=========  ==========================================================================================

A component is a mapping ``{type: <name>, <argument>: <value>, ...}``; :func:`build` looks the name
up, checks the arguments against the callable's signature (``inspect``) and calls it. Mistakes name
the config key and list what is allowed. Optimiser and schedule settings are not built here: they go
as dicts to :class:`pyposefast.engine.Trainer`.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from typing import Any, Callable, Dict, Iterator, List, Optional

from .loader import ConfigError

__all__ = ["MODELS", "CODECS", "DATASETS", "METRICS", "metainfo_names", "registry", "build", "check_arguments",
           "signature_defaults", "synthetic_coco", "coco_keypoints", "coco_wholebody_keypoints"]


def _models() -> Dict[str, Callable[..., Any]]:
    from .. import demo
    from ..models import MODELS as ZOO
    from .lifting import videopose3d

    out = dict(ZOO)
    out[demo.DEMO_MODEL] = demo.demo_model
    out["videopose3d"] = videopose3d
    return out


def _codecs() -> Dict[str, Callable[..., Any]]:
    from .. import codecs
    from ..codecs.image_pose_lifting import ImagePoseLifting
    from ..codecs.video_pose_lifting import VideoPoseLifting

    names = ["MSRAHeatmap", "UDPHeatmap", "MegviiHeatmap", "SimCCLabel", "RegressionLabel",
             "IntegralRegressionLabel", "AssociativeEmbedding"]

    out = {n: getattr(codecs, n) for n in names if hasattr(codecs, n)}
    out.update(ImagePoseLifting=ImagePoseLifting, VideoPoseLifting=VideoPoseLifting)
    return out


def _metrics() -> Dict[str, Callable[..., Any]]:
    from .. import evaluation
    from ..engine.lifting import LiftingMetrics

    names = ["CocoMetric", "CocoWholeBodyMetric", "PCKAccuracy", "MpiiPCKAccuracy", "JhmdbPCKAccuracy", "AUC", "EPE",
             "NME", "MPJPE"]

    out = {n: getattr(evaluation, n) for n in names if hasattr(evaluation, n)}
    out["LiftingMetrics"] = LiftingMetrics
    return out


def coco_keypoints(ann_file: str, img_prefix: str = "", *, num_keypoints: Optional[int] = None,
                   filter_invalid: bool = True, check_images: bool = False, skip_bad: bool = False,
                   sample_interval: int = 1) -> Any:
    """Top-down records of a COCO-style keypoint file (``load_coco_keypoints(..., mode='topdown')``):
    COCO, AP-10K, OneHand10K, WFLW, CrowdPose ... all ship this format."""
    from ..datasets import load_coco_keypoints

    return load_coco_keypoints(ann_file, img_prefix, "topdown", num_keypoints=num_keypoints,
                               filter_invalid=filter_invalid, check_images=check_images, skip_bad=skip_bad,
                               sample_interval=sample_interval)


_WHOLEBODY_PARTS = ("keypoints", "foot_kpts", "face_kpts", "lefthand_kpts", "righthand_kpts")  # 17+6+68+21+21


def coco_wholebody_keypoints(ann_file: str, img_prefix: str = "", *, filter_invalid: bool = True,
                             check_images: bool = False, skip_bad: bool = False) -> Any:
    """Top-down records of a COCO-WholeBody file: the 133 keypoints of MMPose's
    ``CocoWholeBodyDataset`` (body 17, feet 6, face 68, left hand 21, right hand 21, in that order),
    read from each annotation's ``keypoints``, ``foot_kpts``, ``face_kpts``, ``lefthand_kpts`` and
    ``righthand_kpts``; validity as COCO's (the body's ``num_keypoints``).

    Raises:
        ConfigError: an annotation lacks one of the parts (not a COCO-WholeBody file).
    """
    import numpy as np

    data = coco_keypoints(ann_file, img_prefix, num_keypoints=17, filter_invalid=filter_invalid,
                          check_images=check_images, skip_bad=skip_bad)
    for rec in data.records:
        raw = rec.get("raw_ann_info") or {}
        missing = [k for k in _WHOLEBODY_PARTS if k not in raw]
        if missing:
            raise ConfigError(f"{ann_file}: annotation id={rec.get('id')} has no {', '.join(missing)}: "
                              "not a COCO-WholeBody file (use the 'coco' reader for COCO-17)")
        kpts = np.concatenate([np.asarray(raw[k], np.float32).reshape(-1, 3) for k in _WHOLEBODY_PARTS])
        rec["keypoints"] = kpts[None, :, :2].copy()
        rec["keypoints_visible"] = np.minimum(1, kpts[None, :, 2]).astype(np.float32)
    return data


@contextlib.contextmanager
def _file_lock(path: str) -> Iterator[None]:
    """An exclusive advisory lock on ``path`` (``fcntl.flock``; no lock where fcntl is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def synthetic_coco(split: str = "train", *, root: Optional[str] = None, num_train: int = 200, num_val: int = 50,
                   image_size: tuple = (640, 480), max_people: int = 6, crowd_prob: float = 0.1,
                   seed: int = 0) -> Any:
    """Top-down records of the synthetic COCO-17 dataset, generated on first use and cached.

    Args:
        split (str): ``'train'`` or ``'val'``.
        root (str, optional): dataset folder; default a folder under ``$PYPOSEFAST_CACHE`` (or
            ``~/.cache/pyposefast``) named by the other arguments, so different sizes and seeds
            never overwrite each other.
        num_train, num_val, image_size, max_people, crowd_prob, seed: as
            :func:`pyposefast.datasets.generate_synthetic_coco`.

    Returns:
        CocoKeypoints: with ``ann_file`` the split's annotation file (the metric's ground truth).
    """
    from ..datasets import load_coco_keypoints
    from ..datasets.synthetic import default_root, generate_synthetic_coco

    if split not in ("train", "val"):
        raise ConfigError(f"synthetic split must be 'train' or 'val', got {split!r}")
    w, h = (int(v) for v in image_size)
    if root is None:
        root = f"{default_root()}_{num_train}-{num_val}_{w}x{h}_p{max_people}_c{crowd_prob:g}_s{seed}"
    os.makedirs(root, exist_ok=True)
    with _file_lock(os.path.join(root, ".lock")):  # one writer when several processes start (torchrun)
        paths = generate_synthetic_coco(root, num_train=num_train, num_val=num_val, image_size=(w, h),
                                        max_people=max_people, crowd_prob=crowd_prob, seed=seed)
    return load_coco_keypoints(paths[f"{split}_ann"], paths[f"{split}_img_prefix"], "topdown")


def _datasets() -> Dict[str, Callable[..., Any]]:
    from .. import datasets
    from .lifting import synthetic3d

    out: Dict[str, Callable[..., Any]] = {"coco": coco_keypoints, "coco_wholebody": coco_wholebody_keypoints,
                                          "synthetic": synthetic_coco, "synthetic3d": synthetic3d}
    for name, attr in (("mpii", "load_mpii"), ("h36m", "load_h36m")):
        fn = getattr(datasets, attr, None)
        if callable(fn):
            out[name] = fn
    return out


def metainfo_names() -> List[str]:
    """Names accepted by ``data.metainfo`` (:func:`pyposefast.datasets.list_datasets`)."""
    from ..datasets import list_datasets

    return list_datasets()


class _LazyRegistry(dict):
    """A plain dict filled on first use (imports models and metrics only when a config needs them)."""

    def __init__(self, fill: Callable[[], Dict[str, Callable[..., Any]]]) -> None:
        super().__init__()
        self._fill = fill
        self._filled = False

    def _ensure(self) -> None:
        if not self._filled:
            self._filled = True
            self.update(self._fill())

    def __getitem__(self, key):  # noqa: D105
        self._ensure()
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:  # noqa: D105
        self._ensure()
        return super().__contains__(key)

    def __iter__(self):  # noqa: D105
        self._ensure()
        return super().__iter__()

    def __len__(self) -> int:  # noqa: D105
        self._ensure()
        return super().__len__()

    def keys(self):  # noqa: D102
        self._ensure()
        return super().keys()

    def items(self):  # noqa: D102
        self._ensure()
        return super().items()

    def get(self, key, default=None):  # noqa: D102
        self._ensure()
        return super().get(key, default)


#: model name -> entry point (``pyposefast.models.MODELS`` + the demo's model)
MODELS: Dict[str, Callable[..., Any]] = _LazyRegistry(_models)
#: codec class name -> class
CODECS: Dict[str, Callable[..., Any]] = _LazyRegistry(_codecs)
#: dataset reader name -> function returning top-down records
DATASETS: Dict[str, Callable[..., Any]] = _LazyRegistry(_datasets)
#: metric class name -> class
METRICS: Dict[str, Callable[..., Any]] = _LazyRegistry(_metrics)

_FAMILIES = {"models": MODELS, "codecs": CODECS, "datasets": DATASETS, "metrics": METRICS}


def registry(family: str) -> Dict[str, Callable[..., Any]]:
    """The registry of one family: ``models``, ``codecs``, ``datasets`` or ``metrics``."""
    if family not in _FAMILIES:
        raise KeyError(f"unknown registry {family!r}; one of {', '.join(_FAMILIES)}")
    return _FAMILIES[family]


def _parameters(fn: Callable[..., Any]) -> Dict[str, inspect.Parameter]:
    target = fn.__init__ if inspect.isclass(fn) else fn
    params = dict(inspect.signature(target).parameters)
    if inspect.isclass(fn):
        params.pop("self", None)
    return params


def signature_defaults(fn: Callable[..., Any]) -> Dict[str, Any]:
    """The keyword arguments of ``fn`` (a function or class) with their defaults (``inspect.Parameter.empty``
    for required ones); ``**kwargs`` and ``*args`` are left out."""
    return {n: p.default for n, p in _parameters(fn).items()
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def check_arguments(fn: Callable[..., Any], args: Dict[str, Any], key: str, what: str) -> None:
    """Raise :class:`ConfigError` naming ``key`` when ``args`` has a name ``fn`` does not take, or
    lacks one it requires; the message lists the accepted arguments."""
    params = _parameters(fn)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    accepted = signature_defaults(fn)
    unknown = [a for a in args if a not in accepted]
    if unknown:
        raise ConfigError(f"{key}: {what} has no argument(s) {', '.join(map(repr, unknown))}; "
                          f"allowed: {', '.join(accepted) or '(none)'}")
    missing = [n for n, d in accepted.items() if d is inspect.Parameter.empty and n not in args]
    if missing:
        raise ConfigError(f"{key}: {what} needs argument(s) {', '.join(map(repr, missing))}; "
                          f"allowed: {', '.join(accepted)}")


def lookup(family: str, spec: Any, key: str) -> tuple:
    """``(callable, name, arguments)`` of a component spec ``{type: name, ...}`` at config ``key``."""
    reg = registry(family)
    if isinstance(spec, str):
        spec = {"type": spec}
    if not isinstance(spec, dict):
        raise ConfigError(f"{key}: expected a mapping with 'type' (one of {', '.join(sorted(reg))}), "
                          f"got {type(spec).__name__}")
    if "type" not in spec:
        raise ConfigError(f"{key}: missing 'type'; one of {', '.join(sorted(reg))}")
    name = spec["type"]
    if name not in reg:
        raise ConfigError(f"{key}.type: unknown {family[:-1]} {name!r}; allowed: {', '.join(sorted(reg))}")
    args = {k: v for k, v in spec.items() if k != "type"}
    return reg[name], name, args


def build(family: str, spec: Any, key: str, **extra: Any) -> Any:
    """Build the component ``spec`` (``{type: name, **arguments}``) of ``family``.

    Args:
        family (str): ``models`` | ``codecs`` | ``datasets`` | ``metrics``.
        spec (dict or str): the config entry (a bare string is ``{type: <string>}``).
        key (str): its config key path, for messages (``model``, ``data.train`` ...).
        **extra: arguments the caller adds (they override the spec's).

    Raises:
        ConfigError: unknown ``type`` (lists the registered names), an argument the callable does
            not take or a required one missing (lists the accepted ones), or the constructor's own
            ValueError/TypeError (prefixed with ``key``).
    """
    fn, name, args = lookup(family, spec, key)
    args.update(extra)
    args = {k: (tuple(v) if isinstance(v, list) and k.endswith("size") else v) for k, v in args.items()}
    check_arguments(fn, args, key, f"{family[:-1]} {name!r}")
    try:
        return fn(**args)
    except ConfigError:
        raise
    except (ValueError, TypeError, KeyError, FileNotFoundError) as e:
        raise ConfigError(f"{key} ({name}): {e}") from e


def join_root(root: Optional[str], path: Optional[str]) -> Optional[str]:
    """``path`` joined to ``root`` unless it is absolute or None (MMPose's ``data_root``); an empty
    path is ``root`` itself (MMPose's ``data_prefix=dict(img='')``)."""
    if path is None or root is None or os.path.isabs(path):
        return path
    return os.path.join(root, path) if path else root
