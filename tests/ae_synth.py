"""Synthetic bottom-up network outputs for the associative-embedding tests (the generator lives with the
benchmark: pyposefast.benchmark_group)."""

from pyposefast.benchmark_group import random_people, synth_ae_batch as synth_batch, synth_ae_outputs as synth_outputs

__all__ = ["random_people", "synth_batch", "synth_outputs"]
