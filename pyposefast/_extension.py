"""Loading the compiled extension ``pyposefast._C`` and the build facts it reports.

The extension is compiled against one torch; loading it under another torch either fails with an
unreadable "undefined symbol" or, worse, misbehaves. We compare the versions before loading and say
what was built against what, and how to rebuild.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import torch

REBUILD_HINT = (
    "Rebuild pyposefast against the torch you import: from the pyposefast source folder run\n"
    "    pip install --no-build-isolation --no-deps --force-reinstall .\n"
    "(add -e for a development install)."
)


def _release(version: str) -> str:
    """'2.13.0+cpu' -> '2.13.0' (the ABI-relevant part of a torch version)."""
    return version.split("+", 1)[0]


def check_torch_version(built: str, imported: str) -> None:
    """Raise ImportError when the extension's torch (``built``) is not the ``imported`` torch."""
    if _release(built) != _release(imported):
        raise ImportError(
            f"pyposefast._C was built against torch {built}, but torch {imported} is imported. "
            f"Compiled torch extensions only work with the torch they were built against.\n{REBUILD_HINT}"
        )


@functools.lru_cache(maxsize=None)
def load_extension() -> Any:
    """Import ``pyposefast._C`` (which registers ``torch.ops.pyposefast.*``) and return it.

    Raises:
        ImportError: the extension is missing, or was built against another torch than the one
            imported; the message names both versions and how to rebuild.
    """
    try:
        build_config = importlib.import_module("pyposefast._build_config")
    except ImportError:
        build_config = None
    if build_config is not None:
        check_torch_version(build_config.TORCH_VERSION, torch.__version__)
    try:
        module = importlib.import_module("pyposefast._C")
    except ImportError as exc:
        built = f"torch {build_config.TORCH_VERSION}" if build_config is not None else "an unknown torch"
        raise ImportError(
            f"pyposefast's compiled extension (pyposefast._C) could not be loaded: {exc}\n"
            f"It was built against {built}; torch {torch.__version__} is imported. If you run from "
            f"the source folder without a development install, Python may be importing the source "
            f"tree instead of the installed package.\n{REBUILD_HINT}"
        ) from exc
    check_torch_version(module.build_info()["torch"], torch.__version__)
    return module


def build_info() -> dict[str, Any]:
    """Facts fixed when the extension was compiled.

    Returns:
        dict with keys ``pyposefast`` (version), ``torch`` (torch version built against),
        ``torch_cuda`` (CUDA version of that torch, '' for a CPU build), ``with_cuda`` (CUDA kernels
        compiled in), ``cuda`` (CUDA toolkit version the kernels were compiled with, '' if none),
        ``cuda_architectures`` (e.g. '75;80;86;89;90', '' if none), ``compiler``.
    """
    return dict(load_extension().build_info())


def cuda_available() -> bool:
    """True when the CUDA kernels are compiled in *and* torch sees a GPU."""
    return bool(build_info()["with_cuda"]) and torch.cuda.is_available()
