"""Under load, every page run's map in focus goes out before any run's other figures.

The main page sends the head's heatmap (with the sentence box and the sliders) before the overview and the
layer grid. When a class presses Enter at once, thirty runs share one interpreter lock and two forward-pass
slots, and every run's overview and grid slow down the other runs' captures and heatmaps: everyone waits for
everything (``benchmarks/load_sessions.py``). :data:`FOCUS` orders that work instead: a run that has sent its
map in focus waits, at most ``max_wait`` seconds, while other runs have not sent theirs yet. Nothing a run draws
changes, only when the rest of a page arrives. ``ATTNVIZ_FOCUS_WAIT`` sets ``max_wait`` (seconds; 0: never wait).

The only run on the server gives the browser ``draw_first`` seconds (``ATTNVIZ_DRAW_FIRST_MS``, 20 ms) after its map
before the overview and the grid follow. Sent right behind the map (5-10 ms), they reached the browser while it was
still drawing the map, which then waited for them. MiniLM, 20 tokens, typed -> map drawn: 109-196 ms without the
pause, 100-143 ms with it (eight alternating rounds of ``benchmarks/long_context.py``, seven faster); the overview
is drawn about 40 ms and the grid about 15 ms later than without it. With other runs in progress there is no pause:
there it only moved a run's overview and grid into the other runs' captures (30 sessions, ``load_sessions.py``:
tick -> map p50 657-738 ms without, 875-900 ms with a pause in every run). An edit made during the pause starts
at most those 20 ms later.

    with FOCUS.run() as focus:   # around the page run (a run inside a run is the outer one)
        ...draw the map in focus...
        focus.sent()             # out: wait while other runs' maps are not
        ...draw a figure...
        focus.wait()             # and again between the figures that follow
        ...draw the rest...
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator


class FocusFirst:
    """Counts the page runs that have not sent their map in focus; the others wait for them, within bounds."""

    def __init__(self, max_wait: float, draw_first: float = 0.0):
        self.max_wait = float(max_wait)
        self.draw_first = float(draw_first)
        self._changed = threading.Condition()
        self._pending = 0  # runs inside run() that have not called sent()
        self._running = 0  # runs inside run(), whether or not they have sent their map
        self._waiting = 0  # runs waiting in sent() or wait()
        self._local = threading.local()  # .run: this thread's current run

    @property
    def pending(self) -> int:
        with self._changed:
            return self._pending

    @property
    def running(self) -> int:
        with self._changed:
            return self._running

    @property
    def waiting(self) -> int:
        with self._changed:
            return self._waiting

    @contextlib.contextmanager
    def run(self) -> Iterator[_Run]:
        """One page run: pending from here until its ``sent()`` or the end of the block, however it ends.
        Inside another ``run()`` of the same thread (the page's fragment during a full run) it is that run."""
        outer = getattr(self._local, "run", None)
        if outer is not None:
            yield outer
            return
        with self._changed:
            self._pending += 1
            self._running += 1
        run = self._local.run = _Run(self)
        try:
            yield run
        finally:
            self._local.run = None
            run.leave()
            with self._changed:
                self._running -= 1

    def _leave(self) -> None:
        with self._changed:
            self._pending -= 1
            if not self._pending:
                self._changed.notify_all()

    def _wait_for_others(self) -> bool:
        """Wait while other runs are pending, at most ``max_wait`` s; True if it waited at all."""
        with self._changed:
            if self.max_wait <= 0 or not self._pending:
                return False
            self._waiting += 1
            try:
                self._changed.wait_for(lambda: not self._pending, timeout=self.max_wait)
            finally:
                self._waiting -= 1
            return True


class _Run:
    def __init__(self, focus: FocusFirst):
        self._focus, self._left = focus, False

    def leave(self) -> None:
        """No longer pending (once; later calls do nothing)."""
        if not self._left:
            self._left = True
            self._focus._leave()

    def sent(self, wait: bool = True) -> bool:
        """This run's map in focus is out: leave, then (``wait``) let the other runs' maps go first, or, alone, give
        the browser ``draw_first`` seconds to draw this one. True if it waited for other runs."""
        self.leave()
        if not wait:
            return False
        if self._focus._wait_for_others():
            return True
        if self._focus.running == 1:  # under load the pause only moved this run's figures into others' captures
            time.sleep(self._focus.draw_first)
        return False

    def wait(self) -> bool:
        """After ``sent()``: let the maps of runs that started since go first (within ``max_wait``)."""
        return self._left and self._focus._wait_for_others()


FOCUS = FocusFirst(
    float(os.environ.get("ATTNVIZ_FOCUS_WAIT", "1.0")), float(os.environ.get("ATTNVIZ_DRAW_FIRST_MS", "20")) / 1000
)
