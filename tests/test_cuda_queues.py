"""CUDA_DEVICE_MAX_CONNECTIONS: importing pyposefast raises CUDA's hardware queues to 32 unless set."""

import os
import subprocess
import sys

import pyposefast._cuda_queues as cq


def _imported_env(value=None):
    env = {k: v for k, v in os.environ.items() if k != cq.ENV}
    if value is not None:
        env[cq.ENV] = value
    code = ("import os, pyposefast, pyposefast._cuda_queues as q; "
            "print(os.environ.get(q.ENV), q.queues_limited())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_import_sets_32_unless_the_user_set_it():
    assert _imported_env() == ["32", "False"]
    assert _imported_env("4") == ["4", "True"]  # the user's value is kept, and reported as limiting
    assert _imported_env("32") == ["32", "False"]


def test_configure_leaves_a_set_value_and_an_initialised_cuda(monkeypatch):
    monkeypatch.setenv(cq.ENV, "1")
    assert not cq.configure() and os.environ[cq.ENV] == "1" and cq.queues_limited()
    monkeypatch.delenv(cq.ENV)
    monkeypatch.setattr("torch.cuda.is_initialized", lambda: True)
    monkeypatch.setitem(cq._state, "initialized_before", False)
    assert not cq.configure() and cq.ENV not in os.environ and cq.queues_limited()
    monkeypatch.setattr("torch.cuda.is_initialized", lambda: False)
    monkeypatch.setitem(cq._state, "initialized_before", False)
    assert cq.configure() and os.environ[cq.ENV] == "32" and not cq.queues_limited()
    monkeypatch.setenv(cq.ENV, "lots")
    assert cq.queues_limited()
