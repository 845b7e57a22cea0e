"""Ten simultaneous sessions against one server, over Streamlit's websocket protocol (no browser).

Each session loads the main page with its own sentence (``?text=... zebra <k> ...``, k unique), waits
for the head heatmap, then ticks the sidebar's causal checkbox and waits for the causal heatmap
(``harness/sessions.py``; ``benchmarks/load_sessions.py`` does the same at larger N and measures it). This checks correctness
under concurrency only — no session errors, no session ever sees another session's sentence — never
speed: timing belongs to the benchmarks.

Needs no browser, so it runs in the normal ``pytest`` run (about 10 s here, most of it the server
start and the first model load).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from pathlib import Path

import pytest

from harness import sessions
from harness.app_server import AppServer

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow  # a real server and ten sessions

SESSIONS = 10
STEP_TIMEOUT = 60.0  # s per step of a session (connect, heatmap, run end, tick): a generous bound, not a measurement
NUMBERS = list(range(sessions.FIRST_NUMBER, sessions.FIRST_NUMBER + SESSIONS))


@pytest.fixture(scope="module")
def load_run():
    with AppServer() as server:
        # In a thread of its own: Playwright's sync API (the browser tests, same pytest process) keeps an
        # event loop running in the main thread, and asyncio.run() refuses to start inside it.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            results = pool.submit(asyncio.run, sessions.run_sessions(server.url, NUMBERS, 0, STEP_TIMEOUT)).result()
        log = server.log()
    return results, log


def test_every_session_completes_without_errors(load_run):
    results, log = load_run
    assert len(results) == SESSIONS
    errors = [(r.k, e) for r in results for e in r.errors]
    assert not errors, f"session errors: {errors[:10]}\n--- server log (tail) ---\n{log[-4000:]}"


def test_no_cross_talk(load_run):
    results, _ = load_run
    leaks = {r.k: sorted(r.crosstalk) for r in results if r.crosstalk}
    assert not leaks, f"sessions saw other sessions' words: {leaks}"


def test_every_session_got_its_heatmap_and_its_causal_tick(load_run):
    results, _ = load_run
    assert sorted(r.k for r in results) == NUMBERS
    missing_first = [r.k for r in results if r.connect_heatmap is None]
    missing_tick = [r.k for r in results if r.tick_heatmap is None]
    assert not missing_first, f"no heatmap for sessions {missing_first}"
    assert not missing_tick, f"no causal heatmap after the tick for sessions {missing_tick}"
    assert all(r.n_tokens and r.n_tokens > 10 for r in results)


def test_sessions_are_distinct(load_run):
    results, _ = load_run
    ids = [r.session_id for r in results]
    assert all(ids) and len(set(ids)) == SESSIONS
