"""pytest-benchmark suites for the heatmap-target cases of ``pyposefast bench``.

Run: ``python -m pytest benchmarks --benchmark-only`` (add ``-k cuda`` or ``-k cpu``). The single
table with ratios comes from ``pyposefast bench``; these give pytest-benchmark's statistics per case.
"""

from __future__ import annotations

import pytest
import torch

import pyposefast
from pyposefast.benchmark import CASES, make_inputs, run_baseline, run_op

SMALL_CASES = [c for c in CASES if c.name != "large batch"]
IDS = [f"{c.name.replace(' ', '-')}-{c.method}" for c in SMALL_CASES]


@pytest.mark.parametrize("case", SMALL_CASES, ids=IDS)
def test_baseline(benchmark, case):
    kp, vis = make_inputs(case)
    benchmark.pedantic(run_baseline, args=(case, kp.numpy(), vis.numpy()), rounds=3, iterations=1)


@pytest.mark.parametrize("case", SMALL_CASES, ids=IDS)
def test_cpu_kernel(benchmark, case):
    kp, vis = make_inputs(case)
    benchmark(run_op, case, kp, vis)


@pytest.mark.skipif(not pyposefast.cuda_available(), reason="needs CUDA kernels and a GPU")
@pytest.mark.parametrize("case", CASES, ids=IDS + ["large-batch-msra"])
def test_cuda_kernel(benchmark, case):
    kp, vis = (t.cuda() for t in make_inputs(case))

    def call():
        run_op(case, kp, vis)
        torch.cuda.synchronize()

    benchmark(call)
