"""pytest-benchmark suites for the warp cases of ``pyposefast bench`` (cv2 path, CPU, CUDA)."""

from __future__ import annotations

import pytest
import torch

import pyposefast
from pyposefast import ops
from pyposefast.benchmark import MEAN, STD, WARP_CASES, cv2_topdown, make_warp_inputs

IDS = [c.name.replace(" ", "-") for c in WARP_CASES]


@pytest.mark.parametrize("case", WARP_CASES[:1], ids=IDS[:1])
def test_cv2_path(benchmark, case):
    images, index, mats = make_warp_inputs(case)
    benchmark.pedantic(cv2_topdown, args=(images, index, mats.numpy(), case.crop_size), rounds=5, iterations=1)


@pytest.mark.parametrize("case", WARP_CASES[:1], ids=IDS[:1])
def test_cpu_warp(benchmark, case):
    images, index, mats = make_warp_inputs(case)
    dense, idx = torch.from_numpy(images), torch.from_numpy(index)
    benchmark.pedantic(lambda: ops.warp_affine(dense, mats, case.crop_size, image_index=idx, mean=MEAN, std=STD,
                                               bgr_to_rgb=True), rounds=5, iterations=1)


@pytest.mark.skipif(not pyposefast.cuda_available(), reason="needs CUDA kernels and a GPU")
@pytest.mark.parametrize("case", WARP_CASES, ids=IDS)
def test_cuda_warp(benchmark, case):
    images, index, mats = make_warp_inputs(case)
    dense, idx, mats = torch.from_numpy(images).cuda(), torch.from_numpy(index).cuda(), mats.cuda()

    def call():
        ops.warp_affine(dense, mats, case.crop_size, image_index=idx, mean=MEAN, std=STD, bgr_to_rgb=True)
        torch.cuda.synchronize()

    benchmark(call)
