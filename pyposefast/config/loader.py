"""Reading YAML configs: one optional ``base:`` file, command-line overrides, nothing else.

A config is a plain YAML mapping. A file may name one other file as its ``base:`` (a path relative
to the file); the file's own keys are merged into the base's, mappings key by key, everything
else (lists, scalars) replaced whole. There is no other inheritance, no interpolation and no code.

Overrides are ``dotted.key=value`` strings (``train.optimizer.lr=1e-3``, ``data.batch_size=32``,
``model.input_size=[96,128]``, ``data.val.bbox_file=null``); the value is read as YAML, so numbers,
booleans, ``null``, lists and mappings keep their types. Scientific notation without a dot
(``1e-3``) is read as a float, which plain YAML 1.1 would leave a string.
"""

from __future__ import annotations

import copy
import os
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence

import yaml

__all__ = ["ConfigError", "load_config", "load_yaml", "parse_value", "apply_overrides", "merge", "dump_config"]


class ConfigError(ValueError):
    """A config mistake, naming the key path (``data.train.ann_file``) and what is allowed."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that also reads ``1e-3`` / ``5E+4`` as floats."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                   |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)
                   |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def parse_value(text: str) -> Any:
    """A command-line value read as YAML (``'1e-3'`` -> 0.001, ``'[96,128]'`` -> [96, 128],
    ``'null'`` -> None, ``'adamw'`` -> 'adamw')."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as e:
        raise ConfigError(f"cannot read value {text!r} as YAML: {e}") from None


def load_yaml(path: str) -> Dict[str, Any]:
    """One YAML file as a dict (an empty file gives {}); errors name the file."""
    if not os.path.isfile(path):
        raise ConfigError(f"config file {path} does not exist")
    with open(path, "r", encoding="utf-8") as f:
        try:
            data = yaml.load(f, Loader=_Loader)
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a YAML mapping at the top level, got {type(data).__name__}")
    return data


def merge(base: Dict[str, Any], update: Dict[str, Any]) -> Dict[str, Any]:
    """``update`` merged into a copy of ``base``: mappings recursively, other values replaced.
    A mapping in ``update`` with ``_replace_: true`` replaces the base's mapping whole."""
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and value.get("_replace_"):
            out[key] = {k: copy.deepcopy(v) for k, v in value.items() if k != "_replace_"}
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _strip_replace_markers(value: Any) -> Any:
    """``value`` without the ``_replace_`` keys (they only steer :func:`merge`)."""
    if isinstance(value, dict):
        return {k: _strip_replace_markers(v) for k, v in value.items() if k != "_replace_"}
    if isinstance(value, list):
        return [_strip_replace_markers(v) for v in value]
    return value


def _load_with_base(path: str, seen: List[str]) -> Dict[str, Any]:
    real = os.path.realpath(path)
    if real in seen:
        raise ConfigError(f"config {path}: base chain loops back to itself ({' -> '.join(seen + [real])})")
    data = load_yaml(path)
    base = data.pop("base", None)
    if base is None:
        return data
    if not isinstance(base, str):
        raise ConfigError(f"{path}: 'base' must be one file path (str), got {type(base).__name__}")
    base_path = base if os.path.isabs(base) else os.path.join(os.path.dirname(path), base)
    return merge(_load_with_base(base_path, seen + [real]), data)


def apply_overrides(cfg: Dict[str, Any], overrides: Iterable[str]) -> Dict[str, Any]:
    """A copy of ``cfg`` with ``dotted.key=value`` overrides applied (values read as YAML).

    Intermediate mappings are created when missing; setting a key below a non-mapping value is an
    error naming the key.
    """
    out = copy.deepcopy(cfg)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} must look like key.path=value (e.g. train.optimizer.lr=1e-3)")
        key, _, text = item.partition("=")
        key = key.strip()
        parts = key.split(".")
        if not key or any(not p for p in parts):
            raise ConfigError(f"override {item!r}: bad key path {key!r}")
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                where = ".".join(parts[:i + 1])
                raise ConfigError(f"override {item!r}: {where} is a {type(nxt).__name__} ({nxt!r}), not a mapping")
            node = nxt
        node[parts[-1]] = parse_value(text)
    return out


def load_config(path: str, overrides: Optional[Sequence[str]] = None) -> Dict[str, Any]:
    """Read a config file (following its ``base:`` chain) and apply ``overrides``.

    Args:
        path (str): the YAML file.
        overrides (sequence of str, optional): ``dotted.key=value`` strings.

    Returns:
        dict: the merged config (not yet checked against the registries: see
        :func:`pyposefast.config.resolve_config`). ``_config_path`` holds ``path``.

    Raises:
        ConfigError: a missing or malformed file, a bad override.
    """
    cfg = _strip_replace_markers(_load_with_base(path, []))
    cfg = apply_overrides(cfg, overrides or ())
    cfg["_config_path"] = os.path.abspath(path)
    return cfg


def dump_config(cfg: Dict[str, Any]) -> str:
    """The config as YAML text (keys in their order, tuples as lists)."""
    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return yaml.dump(plain(cfg), Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=110)


class _Dumper(yaml.SafeDumper):
    """Mappings in block style; lists of scalars on one line (``input_size: [192, 256]``)."""


def _represent_list(dumper: yaml.SafeDumper, data: list) -> Any:
    flow = all(not isinstance(v, (dict, list)) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)
