"""What the trainer reports: a JSON-lines log, TensorBoard scalars and a tqdm progress bar.

All three are no-ops off rank 0. ``log.jsonl`` gets one object per log interval
(``{"type": "train", "epoch", "iter", "global_iter", "loss", ..., "lr", "samples_per_s", "eta_s"}``)
and one per validation (``{"type": "val", "epoch", "global_iter", <metrics>}``).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import warnings
from typing import Any, Dict, Optional

__all__ = ["JsonlLogger", "ScalarWriter", "ProgressBar", "format_eta"]

_TB_WARNED = False


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v)  # JSON has no NaN/inf
    return v


class JsonlLogger:
    """Append one JSON object per line to ``path`` (flushed at every line), when ``enabled``."""

    def __init__(self, path: str, enabled: bool = True) -> None:
        self.path, self.enabled = path, bool(enabled)
        self._f = None
        if self.enabled:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            self._f = open(path, "a", encoding="utf-8")

    def write(self, record: Dict[str, Any]) -> None:
        if self._f is None:
            return
        self._f.write(json.dumps({k: _clean(v) for k, v in record.items()}) + "\n")
        self._f.flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None


class ScalarWriter:
    """TensorBoard scalars in ``log_dir`` when ``tensorboard`` is installed and ``enabled``; otherwise
    nothing (with one warning per process when TensorBoard was asked for but is missing)."""

    def __init__(self, log_dir: str, enabled: bool = True) -> None:
        global _TB_WARNED
        self._w = None
        if not enabled:
            return
        try:
            from torch.utils.tensorboard import SummaryWriter
        except Exception as e:  # tensorboard not installed
            if not _TB_WARNED:
                warnings.warn(f"TensorBoard scalars are off: the tensorboard package is not available ({e}); "
                              "pip install tensorboard to get them", stacklevel=2)
                _TB_WARNED = True
            return
        self._w = SummaryWriter(log_dir=log_dir)

    @property
    def active(self) -> bool:
        return self._w is not None

    def scalars(self, values: Dict[str, float], step: int, prefix: str = "") -> None:
        if self._w is None:
            return
        for k, v in values.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                self._w.add_scalar(f"{prefix}{k}", float(v), step)

    def close(self) -> None:
        if self._w is not None:
            self._w.flush()
            self._w.close()
            self._w = None


def format_eta(seconds: float) -> str:
    """``h:mm:ss`` (or ``?`` when unknown)."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class ProgressBar:
    """A tqdm bar over one epoch with loss, lr, samples/s and the run's ETA; off when ``enabled``
    is False or stderr is not a terminal."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = bool(enabled) and sys.stderr.isatty()
        self._bar = None

    def start(self, epoch: int, max_epochs: int, total: int, initial: int = 0) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        self.close()
        columns = shutil.get_terminal_size((120, 20)).columns  # a 0-wide pseudo-terminal falls back to 120
        self._bar = tqdm(total=total, initial=initial, desc=f"epoch {epoch}/{max_epochs}", ncols=columns,
                         leave=True, file=sys.stderr)

    def update(self, n: int = 1, postfix: Optional[Dict[str, Any]] = None) -> None:
        if self._bar is None:
            return
        if postfix:
            self._bar.set_postfix(postfix, refresh=False)
        self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
