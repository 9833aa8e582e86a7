"""RunAheadLimit: the host at most N training steps ahead of the GPU."""

import pytest
import torch

from pyposefast.engine import RunAheadLimit
from tests.conftest import requires_cuda


def test_cpu_is_a_no_op_and_arguments_are_checked():
    limit = RunAheadLimit("cpu", 2)
    for _ in range(5):
        limit()
    assert not limit.enabled and limit.in_flight == 0
    with pytest.raises(ValueError, match="max_steps"):
        RunAheadLimit("cpu", -1)
    assert not RunAheadLimit("cuda", 0).enabled  # 0: no limit


@requires_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("max_steps", [1, 2])
def test_waits_for_the_step_max_steps_back(max_steps):
    stream = torch.cuda.Stream()
    limit = RunAheadLimit("cuda", max_steps)
    ends = []
    with torch.cuda.stream(stream):
        for i in range(max_steps + 3):
            torch.cuda._sleep(20_000_000)  # ~10 ms of GPU time: a "step"
            end = torch.cuda.Event()
            end.record()
            ends.append(end)
            limit()
            assert limit.in_flight <= max_steps
            # every step launched more than max_steps ago has finished when the call returns
            assert all(e.query() for e in ends[:max(0, i + 1 - max_steps)])
        limit.reset()
        assert limit.in_flight == 0
    stream.synchronize()
