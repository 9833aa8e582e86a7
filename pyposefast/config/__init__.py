"""YAML configs: components named by short registered names and their constructor arguments.

``load_config(path, overrides)`` reads a file (and its single ``base:`` file) and applies
``dotted.key=value`` overrides; ``resolve_config(cfg)`` checks every name and argument against the
flat registries (``MODELS``, ``CODECS``, ``DATASETS``, ``METRICS``; see :mod:`.registry`) and fills in
every default; the ``build_*`` functions turn a resolved config into the model, the training and
validation data and the metric that :class:`pyposefast.engine.Trainer` and
:func:`pyposefast.engine.evaluate` take. See :mod:`.experiment` for the sections of a config.
"""

from .experiment import (build_codec, build_metric, build_model, build_records, build_train_data, build_val_data,
                         input_size_of, resolve_config, trainer_arguments)
from .loader import ConfigError, apply_overrides, dump_config, load_config, load_yaml, merge, parse_value
from .registry import CODECS, DATASETS, METRICS, MODELS, build, metainfo_names, registry

__all__ = ["ConfigError", "load_config", "load_yaml", "apply_overrides", "merge", "parse_value", "dump_config",
           "resolve_config", "build_model", "build_codec", "build_records", "build_train_data", "build_val_data",
           "build_metric", "trainer_arguments", "input_size_of", "MODELS", "CODECS", "DATASETS", "METRICS",
           "build", "registry", "metainfo_names"]
