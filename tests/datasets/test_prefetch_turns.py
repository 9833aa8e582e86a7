"""DevicePrefetcher's ordered multi-thread decoding: threads take the loader's batches in turn."""

import threading

import pytest

from pyposefast.datasets.prefetch import DevicePrefetcher, _Turns


@pytest.mark.parametrize("n,total", [(2, 7), (3, 9), (3, 1), (2, 0)])
def test_threads_take_batches_in_turn_with_a_slot_each(n, total):
    slots = threading.Semaphore(n + 1)
    stop = threading.Event()
    turns = _Turns(iter(range(total)), n, slots, stop)
    got = [[] for _ in range(n)]

    def take(k):
        for b in turns.batches(k):
            got[k].append(b)
            slots.release()  # the consumer is done with it

    threads = [threading.Thread(target=take, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert got == [list(range(k, total, n)) for k in range(n)]


def test_stop_releases_a_thread_waiting_for_its_turn_or_a_slot():
    slots = threading.Semaphore(0)  # no slot: thread 0 waits holding the turn, thread 1 for its turn
    stop = threading.Event()
    turns = _Turns(iter(range(10)), 2, slots, stop)
    out = []
    threads = [threading.Thread(target=lambda k=k: out.extend(turns.batches(k))) for k in range(2)]
    for t in threads:
        t.start()
    stop.set()
    for t in threads:
        t.join(timeout=5)
    assert not any(t.is_alive() for t in threads) and out == []


def test_decode_threads_arguments():
    with pytest.raises(ValueError, match="decode_threads must be >= 1"):
        DevicePrefetcher([], "cpu", decode_threads=0)
    with pytest.raises(ValueError, match="decode_jpeg=True and a single loader"):
        DevicePrefetcher([], "cpu", decode_threads=2)
    assert DevicePrefetcher([], "cpu", max_device_batches=2).max_device_batches == 2
