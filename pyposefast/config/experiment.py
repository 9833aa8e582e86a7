"""From a config to the objects the trainer, ``evaluate`` and the inferencer take.

The config's sections (every key is checked; unknown ones are errors that list the allowed ones)::

    model:   {type: <models name>, <entry-point arguments: input_size (w, h), num_keypoints, flip_test>}
    codec:   null (the model head's own codec, ``model.head.decoder``) or {type: <codecs name>, ...}
    data:
      metainfo: <dataset_meta name>          # coco, mpii, coco_wholebody, onehand10k, wflw, ap10k ...
      data_root: data/coco                   # relative ann_file / img_prefix / bbox_file are joined to it
      train: {type: <datasets name>, <reader arguments>}
      val:   {type: <datasets name>, <reader arguments>, bbox_file: null, bbox_score_thr: null}
      batch_size: 64, val_batch_size: 64, num_workers: 2, augment: true
      augmentation:                          # arguments of each random transform, or false to leave it out
        flip: {prob: 0.5}                    # RandomFlip
        half_body: {...}                     # RandomHalfBody
        bbox_transform: {rotate_factor: 80}  # RandomBBoxTransform
    metric:  {type: <metrics name>, <arguments>}   # CocoMetric's ann_file defaults to the val split's file
    train:   <pyposefast.engine.Trainer keyword arguments>: work_dir, max_epochs, optimizer, scheduler, amp ...

The input size the data pipeline crops to is the model's ``input_size``. :func:`resolve_config`
checks every name against the registries and signatures and fills in every default, which is what
``pyposefast print-config`` prints.
"""

from __future__ import annotations

import copy
import inspect
import os
from typing import Any, Dict, Optional, Tuple

from .loader import ConfigError
from .registry import build, check_arguments, join_root, lookup, metainfo_names, signature_defaults

__all__ = ["resolve_config", "build_model", "build_codec", "build_records", "build_train_data", "build_val_data",
           "build_metric", "trainer_arguments", "input_size_of", "augmentation_arguments", "SECTIONS", "DATA_KEYS"]

SECTIONS = ("model", "codec", "data", "metric", "train")
DATA_KEYS = ("metainfo", "data_root", "train", "val", "batch_size", "val_batch_size", "num_workers", "augment",
             "augmentation")
AUGMENTATIONS = ("flip", "half_body", "bbox_transform")
_VAL_EXTRA = ("bbox_file", "bbox_score_thr")  # val-split keys that are not reader arguments
_PATH_KEYS = ("ann_file", "img_prefix", "bbox_file", "headbox_file", "root", "camera_param_file",
              "keypoint_2d_det_file", "factor_file")
_EMPTY = inspect.Parameter.empty


def _trainer_class() -> Any:
    try:
        from ..engine import Trainer
    except ImportError:  # the trainer is not there: the train section is passed through unchecked
        return None
    return Trainer


def _filled(family: str, spec: Any, key: str, skip: Tuple[str, ...] = ()) -> Dict[str, Any]:
    """``spec`` with its callable's defaults filled in (required arguments checked)."""
    fn, name, args = lookup(family, spec, key)
    own = {k: v for k, v in args.items() if k not in skip}
    check_arguments(fn, own, key, f"{family[:-1]} {name!r}")
    out: Dict[str, Any] = {"type": name}
    for arg, default in signature_defaults(fn).items():
        if arg in own:
            out[arg] = own[arg]
        elif default is not _EMPTY:
            out[arg] = list(default) if isinstance(default, tuple) else default
    for k in skip:
        if k in args:
            out[k] = args[k]
    return out


def _check_keys(section: Dict[str, Any], allowed: Tuple[str, ...], key: str) -> None:
    unknown = [k for k in section if k not in allowed]
    if unknown:
        raise ConfigError(f"{key}: unknown key(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(allowed)}")


def resolve_config(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """Check a loaded config against the registries and fill in every default.

    Args:
        cfg (dict): from :func:`pyposefast.config.load_config`.

    Returns:
        dict: the resolved config (a new dict): each component with all its arguments, ``data`` with
        its defaults, ``train`` with the Trainer's defaults (``work_dir`` defaulting to
        ``work_dirs/<config file stem>``).

    Raises:
        ConfigError: an unknown section or key, an unknown component name, a wrong argument name, a
            missing required argument; the message names the key path and lists the allowed values.
    """
    cfg = copy.deepcopy(cfg)
    path = cfg.pop("_config_path", None)
    _check_keys(cfg, SECTIONS, "config")
    if "model" not in cfg:
        raise ConfigError("config: missing 'model' (e.g. model: {type: resnet50_coco_256x192})")
    out: Dict[str, Any] = {"model": _filled("models", cfg["model"], "model")}
    codec = cfg.get("codec")
    out["codec"] = None if codec is None else _filled("codecs", codec, "codec")

    data = cfg.get("data") or {}
    if not isinstance(data, dict):
        raise ConfigError(f"data: expected a mapping, got {type(data).__name__}")
    _check_keys(data, DATA_KEYS, "data")
    meta = data.get("metainfo", "coco")
    names = metainfo_names()
    if meta not in names:
        raise ConfigError(f"data.metainfo: unknown dataset {meta!r}; allowed: {', '.join(names)}")
    batch_size = data.get("batch_size", 64)
    resolved_data: Dict[str, Any] = {"metainfo": meta, "data_root": data.get("data_root"), "batch_size": batch_size,
                                     "val_batch_size": data.get("val_batch_size", batch_size),
                                     "num_workers": data.get("num_workers", 2), "augment": data.get("augment", True)}
    for split in ("train", "val"):
        if data.get(split) is not None:
            skip = _VAL_EXTRA if split == "val" else ()
            spec = _filled("datasets", data[split], f"data.{split}", skip)
            if split == "val":
                for k in _VAL_EXTRA:
                    spec.setdefault(k, None)
            resolved_data[split] = spec
        else:
            resolved_data[split] = None
    resolved_data["augmentation"] = _resolve_augmentation(data.get("augmentation") or {})
    out["data"] = resolved_data

    metric = cfg.get("metric")
    out["metric"] = None if metric is None else _filled("metrics", metric, "metric")

    train = dict(cfg.get("train") or {})
    if not isinstance(train, dict):
        raise ConfigError(f"train: expected a mapping, got {type(train).__name__}")
    if "work_dir" not in train or train["work_dir"] is None:
        stem = os.path.splitext(os.path.basename(path))[0] if path else "run"
        train["work_dir"] = os.path.join("work_dirs", stem)
    trainer = _trainer_class()
    if trainer is not None:
        params = signature_defaults(trainer)
        fixed = ("model", "train_data", "val_data", "metric")
        allowed = [p for p in params if p not in fixed]
        unknown = [k for k in train if k not in allowed]
        if unknown:
            raise ConfigError(f"train: unknown key(s) {', '.join(map(repr, unknown))}; allowed (Trainer arguments): "
                              f"{', '.join(allowed)}")
        first = [k for k in ("work_dir", "max_epochs") if k in train]
        full = {k: train[k] for k in first}
        full.update({k: (train[k] if k in train else d) for k, d in params.items()
                     if k not in fixed and k not in first and (k in train or d is not _EMPTY)})
        train = full
    out["train"] = train
    return out


def _augmentation_classes() -> Dict[str, Any]:
    from ..datasets.augment import RandomBBoxTransform, RandomFlip, RandomHalfBody

    return {"flip": RandomFlip, "half_body": RandomHalfBody, "bbox_transform": RandomBBoxTransform}


def _resolve_augmentation(aug: Any) -> Dict[str, Any]:
    """``data.augmentation`` with every transform's arguments filled in (false: left out)."""
    if not isinstance(aug, dict):
        raise ConfigError(f"data.augmentation: expected a mapping of {', '.join(AUGMENTATIONS)}, got "
                          f"{type(aug).__name__}")
    _check_keys(aug, AUGMENTATIONS, "data.augmentation")
    out: Dict[str, Any] = {}
    for name, cls in _augmentation_classes().items():
        args = aug.get(name, {})
        if args is False or args is None:
            out[name] = False
            continue
        if args is True:
            args = {}
        if not isinstance(args, dict):
            raise ConfigError(f"data.augmentation.{name}: expected arguments (a mapping) or false, got {args!r}")
        check_arguments(cls, args, f"data.augmentation.{name}", cls.__name__)
        out[name] = {k: (list(v) if isinstance(v, tuple) else v)
                     for k, v in {**signature_defaults(cls), **args}.items() if v is not _EMPTY}
    return out


def augmentation_arguments(cfg: Dict[str, Any]) -> Dict[str, Any]:
    """``TopdownTrainData`` keyword arguments for ``data.augmentation``: the transforms built (None
    for the ones switched off)."""
    aug = cfg["data"].get("augmentation") or {}
    out: Dict[str, Any] = {}
    for name, cls in _augmentation_classes().items():
        args = aug.get(name, {})
        if args is False:
            out[name] = None
        else:
            args = {k: (tuple(v) if isinstance(v, list) else v) for k, v in (args or {}).items()}
            try:
                out[name] = cls(**args)
            except (TypeError, ValueError) as e:
                raise ConfigError(f"data.augmentation.{name} ({cls.__name__}): {e}") from e
    return out


# ---------------------------------------------------------------- builders (take a resolved config)

def input_size_of(cfg: Dict[str, Any]) -> Tuple[int, int]:
    """The (w, h) the model takes, from ``model.input_size``."""
    size = cfg["model"].get("input_size")
    if size is None:
        raise ConfigError(f"model: {cfg['model']['type']!r} has no input_size: only top-down image models train here")
    w, h = (int(v) for v in size)
    return w, h


def build_model(cfg: Dict[str, Any]) -> Any:
    """The model of ``cfg['model']`` (random weights). A top-down model whose keypoint count is the
    dataset's (``data.metainfo``) takes the dataset's ``flip_indices`` for its flip test (the zoo's
    entry points only know COCO's)."""
    model = build("models", cfg["model"], "model")
    if hasattr(model, "flip_indices") and cfg.get("data"):
        meta = _meta(cfg)
        if int(meta["num_keypoints"]) == _num_keypoints(model):
            model.flip_indices = [int(i) for i in meta["flip_indices"]]
    return model


def _num_keypoints(model: Any) -> int:
    head = getattr(model, "head", None)
    for attr in ("num_keypoints", "out_channels", "num_joints"):
        value = getattr(head, attr, None)
        if isinstance(value, int):
            return value
    return -1


def build_codec(cfg: Dict[str, Any], model: Any) -> Any:
    """The training codec: ``cfg['codec']``, or the model head's own (``model.head.decoder``)."""
    if cfg.get("codec") is not None:
        return build("codecs", cfg["codec"], "codec")
    codec = getattr(getattr(model, "head", None), "decoder", None)
    if codec is None:
        raise ConfigError("codec: the model's head has no codec (decoder); give one in the config's 'codec'")
    return codec


def build_records(cfg: Dict[str, Any], split: str) -> Any:
    """The records of split ``'train'`` or ``'val'`` (``data.<split>``, paths joined to ``data.data_root``).

    Returns:
        CocoKeypoints (or the reader's result: ``.records``, ``.ann_file`` when it has one).
    """
    spec = cfg["data"].get(split)
    if spec is None:
        raise ConfigError(f"data.{split}: not set in this config")
    root = cfg["data"].get("data_root")
    args = {k: (join_root(root, v) if k in _PATH_KEYS and isinstance(v, str) else v)
            for k, v in spec.items() if k not in _VAL_EXTRA}
    return build("datasets", args, f"data.{split}")


def _meta(cfg: Dict[str, Any]) -> Dict[str, Any]:
    from ..datasets import dataset_meta

    return dataset_meta(cfg["data"]["metainfo"])


def build_train_data(cfg: Dict[str, Any], model: Any, *, records: Any = None, device: Any = None) -> Any:
    """``pyposefast.engine.TopdownTrainData`` of ``data.train`` with the model's codec and input size."""
    from ..engine import TopdownTrainData
    from .lifting import build_lifting_train_data, is_lifting_config

    d = cfg["data"]
    recs = records if records is not None else build_records(cfg, "train")
    if is_lifting_config(cfg):  # a 2D-to-3D lifter: LiftingTrainData (pyposefast.engine.lifting)
        return build_lifting_train_data(cfg, build_codec(cfg, model), recs, device)
    extra = augmentation_arguments(cfg) if d["augment"] else {}
    return TopdownTrainData(recs, _meta(cfg), build_codec(cfg, model), input_size_of(cfg), d["batch_size"],
                            num_workers=d["num_workers"], device=device, augment=d["augment"],
                            seed=int(cfg["train"].get("seed", 0) or 0), **extra)


def build_val_data(cfg: Dict[str, Any], model: Any = None, *, records: Any = None, bbox_file: Optional[str] = None,
                   device: Any = None) -> Any:
    """``pyposefast.engine.TopdownValData`` of ``data.val`` (ground-truth boxes, or ``bbox_file`` /
    ``data.val.bbox_file`` detections); UDP warps when the codec (``codec`` or the model's) is UDP."""
    from ..engine import TopdownValData
    from .lifting import build_lifting_val_data, is_lifting_config

    d = cfg["data"]
    recs = records if records is not None else build_records(cfg, "val")
    if is_lifting_config(cfg):  # a 2D-to-3D lifter: LiftingValData (pyposefast.engine.lifting)
        return build_lifting_val_data(cfg, build_codec(cfg, model), recs, device)
    val = d["val"]
    root = d.get("data_root")
    bbox_file = bbox_file if bbox_file is not None else join_root(root, val.get("bbox_file"))
    ann_file = getattr(recs, "ann_file", None)
    kwargs: Dict[str, Any] = dict(ann_file=ann_file, bbox_file=bbox_file, num_workers=d["num_workers"], device=device)
    if val.get("bbox_score_thr") is not None:
        kwargs["bbox_score_thr"] = val["bbox_score_thr"]
    if "use_udp" in signature_defaults(TopdownValData):
        kwargs["use_udp"] = _uses_udp(cfg, model)
    return TopdownValData(recs, _meta(cfg), input_size_of(cfg), d["val_batch_size"], **kwargs)


def _uses_udp(cfg: Dict[str, Any], model: Any) -> bool:
    """Whether the training codec is a UDPHeatmap (its crops use UDP warps)."""
    codec = cfg.get("codec")
    if codec is not None:
        return codec["type"] == "UDPHeatmap"
    from ..codecs import UDPHeatmap

    model = model if model is not None else build_model(cfg)
    return isinstance(getattr(getattr(model, "head", None), "decoder", None), UDPHeatmap)


def build_metric(cfg: Dict[str, Any], val_records: Any = None) -> Any:
    """The metric of ``cfg['metric']`` with ``dataset_meta`` set; a metric taking ``ann_file`` whose
    config leaves it null gets the val split's annotation file (relative paths join ``data_root``)."""
    spec = cfg.get("metric")
    if spec is None:
        raise ConfigError("metric: not set in this config (e.g. metric: {type: CocoMetric})")
    spec = dict(spec)
    if "ann_file" in spec:
        if spec["ann_file"] is None and val_records is not None:
            spec["ann_file"] = getattr(val_records, "ann_file", None)
        elif isinstance(spec["ann_file"], str):
            spec["ann_file"] = join_root(cfg["data"].get("data_root"), spec["ann_file"])
    metric = build("metrics", spec, "metric")
    metric.dataset_meta = _meta(cfg)
    return metric


def trainer_arguments(cfg: Dict[str, Any], *, work_dir: Optional[str] = None) -> Dict[str, Any]:
    """The ``train`` section as Trainer keyword arguments (``work_dir`` overridable)."""
    args = dict(cfg["train"])
    if work_dir is not None:
        args["work_dir"] = work_dir
    return args
