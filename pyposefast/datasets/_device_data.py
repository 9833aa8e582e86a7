"""``DeviceData``: the ``device`` property of in-memory training data (CPU until set; the trainer
sets it to the model's device)."""

from __future__ import annotations

from typing import Optional, Union

import torch


class DeviceData:
    """Mixin: ``device`` (get: ``self._device`` or the CPU; set: any device spec)."""

    _device: Optional[torch.device] = None

    @property
    def device(self) -> torch.device:
        """The device batches are produced on (CPU until set)."""
        return self._device if self._device is not None else torch.device("cpu")

    @device.setter
    def device(self, device: Union[str, torch.device]) -> None:
        self._device = torch.device(device)
