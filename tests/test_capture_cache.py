"""The server's shared capture cache: bounded in bytes, each key computed once, arrays read-only."""

import sys
import threading
import time

import numpy as np
import pytest

from attnviz.capture_cache import CaptureCache, HeavyGate, nbytes

MB = 2**20


def capture_of(mb: float, fill: float = 0.0) -> dict:
    return {"blocks.0.attn.hook_pattern": np.full(int(mb * MB) // 4, fill, dtype=np.float32)}


def waiting_in(thread: threading.Thread, function: str) -> bool:
    """Whether ``thread`` is blocked in a wait of the threading module (an Event, a Condition, a Semaphore) with
    ``function`` on its stack: it has got as far as it can until another thread lets it go on."""
    frame = sys._current_frames().get(thread.ident)
    if frame is None or frame.f_code.co_filename != threading.__file__ or frame.f_code.co_name != "wait":
        return False
    while frame is not None:
        if frame.f_code.co_name == function:
            return True
        frame = frame.f_back
    return False


def wait_until(condition, what: str, seconds: float = 30) -> None:
    """Poll ``condition`` until it holds (it is a state the threads reach, not a time they are given)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never reached: {what}"
        time.sleep(0.001)


def test_bytes_are_bounded_and_the_least_recent_goes_first():
    cache = CaptureCache(10 * MB)
    for key in "abcd":
        cache.get_or_compute(key, lambda: capture_of(3))
    assert cache.current_bytes <= 10 * MB
    assert "a" not in cache and {"b", "c", "d"} <= {k for k in "abcd" if k in cache}
    cache.get_or_compute("b", lambda: pytest.fail("b is cached"))  # touch b: now c is the oldest
    cache.get_or_compute("e", lambda: capture_of(3))
    assert "c" not in cache and "b" in cache and "e" in cache
    assert cache.current_bytes == nbytes([capture_of(3)]) * 3


def test_a_capture_larger_than_the_budget_is_returned_but_not_kept():
    cache = CaptureCache(2 * MB)
    value = cache.get_or_compute("big", lambda: capture_of(3, fill=1.0))
    assert value["blocks.0.attn.hook_pattern"][0] == 1.0
    assert "big" not in cache and cache.current_bytes == 0


def test_concurrent_requests_for_one_key_compute_it_once():
    cache = CaptureCache(100 * MB)
    calls, release = [], threading.Event()

    def slow():
        calls.append(1)
        assert release.wait(30)  # computing until every caller has asked
        return capture_of(1, fill=len(calls))

    results = [None] * 8
    threads = [
        threading.Thread(target=lambda i=i: results.__setitem__(i, cache.get_or_compute("same", slow)))
        for i in range(8)
    ]
    for thread in threads:
        thread.start()
    # All eight asked while the value was being computed: each waits inside get_or_compute, one of them in `slow`
    # (a cache that computed the key again would have a second caller in `slow`, or waiting for a worker to).
    try:
        wait_until(lambda: all(waiting_in(thread, "get_or_compute") for thread in threads), "all eight callers waiting")
    finally:
        release.set()
    for thread in threads:
        thread.join(30)
    assert len(calls) == 1
    assert all(result is results[0] for result in results)


def test_at_most_workers_forward_passes_run_at_once():
    cache = CaptureCache(100 * MB, workers=2)
    running, peak, lock, release = [0], [0], threading.Lock(), threading.Event()

    def compute():
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        assert release.wait(30)  # running until all eight have asked
        with lock:
            running[0] -= 1
        return capture_of(0.1)

    threads = [threading.Thread(target=cache.get_or_compute, args=(i, compute)) for i in range(8)]
    for thread in threads:
        thread.start()
    # Eight keys asked at once, none finished: each caller runs `compute` or waits for a worker, inside get_or_compute.
    try:
        wait_until(lambda: all(waiting_in(thread, "get_or_compute") for thread in threads), "all eight callers waiting")
        assert running[0] == cache.running == 2
    finally:
        release.set()
    for thread in threads:
        thread.join(30)
    assert peak[0] == 2 and all(i in cache for i in range(8))


def test_shared_arrays_are_read_only():
    cache = CaptureCache(10 * MB)
    value = cache.get_or_compute("k", lambda: [capture_of(0.1)])
    with pytest.raises(ValueError):
        value[0]["blocks.0.attn.hook_pattern"][0] = 5.0


def test_a_failed_compute_is_not_cached_and_the_next_caller_retries():
    cache = CaptureCache(10 * MB)
    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert "k" not in cache
    assert cache.get_or_compute("k", lambda: capture_of(0.1)) is not None


# --- the gate in front of large page runs -----------------------------------------------------------


def test_at_most_slots_sections_hold_large_work_at_once():
    gate = HeavyGate(slots=3, threshold=8 * MB)
    holding, peak, lock, release = [0], [0], threading.Lock(), threading.Event()

    def page_run():
        with gate.section():
            assert gate.hold(lambda: 80 * MB)
            assert gate.hold(lambda: pytest.fail("a section holding its slot never asks again"))  # second capture
            with lock:
                holding[0] += 1
                peak[0] = max(peak[0], holding[0])
            assert release.wait(30)  # drawing until all twelve have asked for a slot
            with lock:
                holding[0] -= 1

    threads = [threading.Thread(target=page_run) for _ in range(12)]
    for thread in threads:
        thread.start()
    # Twelve large runs at once, none finished: each holds a slot and draws, or waits for a slot.
    try:
        wait_until(lambda: all(waiting_in(thread, "page_run") for thread in threads), "all twelve runs waiting")
        assert holding[0] == 3
    finally:
        release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert peak[0] == 3
    assert gate._slots.acquire(blocking=False) and gate._slots._value == 2  # every slot came back


def test_small_work_never_waits_even_when_every_slot_is_taken():
    gate = HeavyGate(slots=2, threshold=8 * MB)
    taken, release = threading.Barrier(3), threading.Event()

    def large():
        with gate.section():
            gate.hold(lambda: 80 * MB)
            taken.wait()
            release.wait(10)

    holders = [threading.Thread(target=large) for _ in range(2)]
    for thread in holders:
        thread.start()
    taken.wait(timeout=10)  # both slots are held now
    try:
        done = threading.Event()

        def small():
            with gate.section():
                assert not gate.hold(lambda: 8 * MB)  # at the threshold: small
            assert not gate.hold(lambda: 80 * MB)  # outside a section nothing is held
            done.set()

        threading.Thread(target=small).start()
        assert done.wait(2), "a short text waited for the long ones"
    finally:
        release.set()
        for thread in holders:
            thread.join(timeout=10)


class StopLike(BaseException):
    """What st.stop() and st.rerun() raise: not an Exception."""


@pytest.mark.parametrize("error", [RuntimeError, StopLike])
def test_the_slot_comes_back_however_the_section_ends(error):
    gate = HeavyGate(slots=1, threshold=8 * MB)
    for _ in range(3):  # with one slot, a slot lost once would block the next round forever
        with pytest.raises(error):
            with gate.section():
                assert gate.hold(lambda: 80 * MB)
                raise error("page run ended")
    assert gate._slots.acquire(timeout=1)


def test_a_nested_section_is_the_outer_one():
    gate = HeavyGate(slots=1, threshold=8 * MB)
    with gate.section():
        with gate.section():
            assert gate.hold(lambda: 80 * MB)
        assert gate.hold(lambda: pytest.fail("still held"))  # the inner end did not release it
        assert not gate._slots.acquire(blocking=False)
    assert gate._slots.acquire(blocking=False)


def test_a_section_says_whether_it_holds_a_slot():
    gate = HeavyGate(slots=1, threshold=8 * MB)
    assert not gate.holding()
    with gate.section():
        gate.hold(lambda: 1 * MB)
        assert not gate.holding()  # a small capture takes no slot
        gate.hold(lambda: 80 * MB)
        assert gate.holding()
    assert not gate.holding()


def test_take_holds_a_slot_whatever_the_size_once_per_section_and_never_outside_one():
    """A run known to be heavy by other measures (the DCMHA page's long text) takes its slot without a size."""
    gate = HeavyGate(slots=1, threshold=8 * MB)
    assert not gate.take() and gate._slots._value == 1  # outside a section: nothing
    with gate.section():
        assert gate.take() and gate.holding()
        assert gate.take() and gate._slots._value == 0  # the second take is the same slot
    assert gate._slots._value == 1


def test_an_analysis_in_its_own_lane_never_holds_the_forward_workers():
    """Two students' Compare similarity (seconds each) held both forward workers and a short sentence waited up
    to 29 s. In the analysis lane they wait for each other, and a forward pass goes straight through."""
    cache = CaptureCache(100 * MB, workers=1, lanes={"analysis": 1})
    release, started = threading.Event(), threading.Event()

    def slow_analysis():
        started.set()
        assert release.wait(30)
        return np.zeros(1)

    analysis = threading.Thread(target=cache.get_or_compute, args=("similarity", slow_analysis, "analysis"))
    analysis.start()
    assert started.wait(30)
    forward = threading.Thread(target=cache.get_or_compute, args=("sentence", lambda: np.ones(1)))
    forward.start()
    forward.join(30)
    finished_while_analysis_ran = not forward.is_alive() and "sentence" in cache
    release.set()
    analysis.join(30)
    assert finished_while_analysis_ran and "similarity" in cache
    with pytest.raises(KeyError):
        cache.get_or_compute("x", lambda: np.ones(1), lane="no-such-lane")


def test_a_caller_nobody_wants_any_more_leaves_the_line_and_the_next_one_computes():
    """Tabs opened on long texts and closed again queued their analyses behind the one running: each was computed
    for nobody. A caller waiting for a worker now leaves the line once ``wanted`` says so, computing nothing, and a
    caller waiting for the same key computes it instead."""
    from attnviz.capture_cache import Abandoned

    cache = CaptureCache(100 * MB, workers=1, lanes={"analysis": 1})
    cache.WAIT_POLL = 0.01
    release, started = threading.Event(), threading.Event()
    computed = []

    def running():
        started.set()
        assert release.wait(30)
        return np.zeros(1)

    first = threading.Thread(target=cache.get_or_compute, args=("long text A", running, "analysis"))
    first.start()
    assert started.wait(30)
    open_tab, asked = threading.Event(), threading.Event()
    open_tab.set()
    outcome = {}

    def closed_tab():
        try:
            cache.get_or_compute(
                "long text B",
                lambda: computed.append("B by the closed tab") or np.ones(1),
                "analysis",
                wanted=lambda: asked.set() or open_tab.is_set(),
            )
        except Abandoned:
            outcome["closed"] = "left"

    waiting = threading.Thread(target=closed_tab)
    waiting.start()
    assert asked.wait(30)  # the closed tab asked first: it waits for the lane's worker, asking whether it is wanted
    second = []
    other = threading.Thread(
        target=lambda: second.append(
            cache.get_or_compute("long text B", lambda: computed.append("B") or np.ones(1), "analysis")
        )
    )
    other.start()
    wait_until(lambda: waiting_in(other, "get_or_compute"), "the second caller waits for the closed tab's computation")
    open_tab.clear()  # the tab is closed while its analysis waits for the lane's worker
    waiting.join(30)
    assert outcome == {"closed": "left"} and computed == []
    release.set()
    first.join(30)
    other.join(30)
    assert computed == ["B"] and second[0][0] == 1.0  # computed once, by the caller still wanted
