"""``python -m pyposefast.engine [--model NAME] [--amp bf16] ...``: training throughput of the model
alone, fed by the device pipeline, and inside the Trainer (see :mod:`.throughput`)."""

from .throughput import _main

_main()
