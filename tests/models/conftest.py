"""One intra-op thread for the model tests: many small convolutions on a shared 2-core machine run
several times faster single-threaded than with two threads contending."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
