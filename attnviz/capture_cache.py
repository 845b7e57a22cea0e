"""A process-wide cache of captures, bounded in bytes, that computes each key once.

A class of thirty mostly types the same few examples: the same model, text and mask settings are then
computed once and shared, read-only, by every session. The cache is a least-recently-used map bounded by
the captures' bytes (``cachetools.LRUCache`` with ``getsizeof``); a capture larger than the whole budget is
returned but not kept. At most ``workers`` forward passes run at once (more only make a 2-core machine
slower and hold more memory), and concurrent requests for one key wait for the first instead of repeating it.
Work that takes seconds (comparing every pair of heads, ranking every head) runs in a lane of its own
(``lanes``, each with its own number of workers), so it never holds the forward workers a short sentence needs.
A caller waiting in a lane's line leaves it once it is no longer wanted (its session closed): tabs opened on long
texts and closed again leave no work queued behind them.

:class:`HeavyGate` bounds the other half of a long text's memory: the page runs that hold a large capture
while they draw it (each with its own arrays and figures), at most a few at once.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable

import numpy as np
from cachetools import LRUCache


def nbytes(value) -> int:
    """Bytes held by the NumPy arrays of a capture: a mapping of arrays, a list of them, or an object holding them."""
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, dict):
        return sum(nbytes(item) for item in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(item) for item in value)
    if hasattr(value, "__dict__") and not isinstance(value, type):  # a capture object (DcmhaCapture, Decoding)
        return nbytes(list(vars(value).values()))
    return 0


def freeze(value):
    """Make every array of ``value`` read-only: a shared capture must never be changed by one of its users."""
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, dict):
        for item in value.values():
            freeze(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            freeze(item)
    elif hasattr(value, "__dict__") and not isinstance(value, type):
        freeze(list(vars(value).values()))
    return value


class Abandoned(RuntimeError):
    """A computation left its lane's line before it started: whoever asked for it is gone."""


class CaptureCache:
    WAIT_POLL = 0.25  # seconds between two looks at whether a caller waiting for a worker is still wanted

    def __init__(self, max_bytes: int, workers: int = 2, lanes: dict[str, int] | None = None):
        self.max_bytes = int(max_bytes)
        self._lru: LRUCache = LRUCache(maxsize=max(1, self.max_bytes), getsizeof=lambda value: max(1, nbytes(value)))
        self._lock = threading.Lock()  # guards _lru and _pending
        self._pending: dict[Hashable, threading.Event] = {}
        self._lanes = {
            name: threading.BoundedSemaphore(max(1, n)) for name, n in {"forward": workers, **(lanes or {})}.items()
        }
        self._running = 0  # computes running now (guarded by _lock)
        self.hits = self.misses = 0

    @property
    def running(self) -> int:
        """How many values are being computed at this moment (inside ``compute``, the caller's own included)."""
        with self._lock:
            return self._running

    @property
    def current_bytes(self) -> int:
        with self._lock:
            return int(self._lru.currsize)

    def __len__(self) -> int:
        with self._lock:
            return len(self._lru)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._lru

    def get_or_compute(
        self,
        key: Hashable,
        compute: Callable[[], object],
        lane: str = "forward",
        wanted: Callable[[], bool] | None = None,
    ):
        """The cached value of ``key``, or ``compute()`` run once (by the first caller, holding one of ``lane``'s
        workers) and cached if it fits.

        ``wanted`` is asked every ``WAIT_POLL`` seconds while this caller waits for a worker: once it says False
        (the session that asked has closed), the caller leaves the line with :class:`Abandoned` instead of
        computing what nobody will see; another caller waiting for the same key then computes it itself."""
        workers = self._lanes[lane]
        while True:
            with self._lock:
                if key in self._lru:
                    self.hits += 1
                    return self._lru[key]
                event = self._pending.get(key)
                if event is None:
                    event = self._pending[key] = threading.Event()
                    self.misses += 1
                    break
            event.wait()  # another session is computing this very key; then look again
        try:
            while not workers.acquire(timeout=self.WAIT_POLL):
                if wanted is not None and not wanted():
                    raise Abandoned(f"left the {lane} lane's line: nobody wants the value any more")
            try:
                with self._lock:
                    self._running += 1
                value = freeze(compute())
            finally:
                with self._lock:
                    self._running -= 1
                workers.release()
            with self._lock:
                if nbytes(value) <= self.max_bytes:
                    self._lru[key] = value
            return value
        finally:
            with self._lock:
                self._pending.pop(key, None)
            event.set()

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()


class HeavyGate:
    """At most ``slots`` page runs at once hold a large capture, from computing it to the end of drawing it.

        with gate.section():                     # around a page's compute and draw
            gate.hold(lambda: estimated_bytes)   # before each capture: waits for a slot only if it is large
            ...

    A section takes at most one slot, the first time something in it is larger than ``threshold`` bytes, and
    gives it back when it ends, however it ends (an exception, ``st.stop()``, ``st.rerun()``). Work at or under
    the threshold never waits, and the size is only asked for while the section holds no slot yet. Outside a
    section ``hold`` does nothing; a section inside a section is the outer one. Per thread (one page run each).
    """

    def __init__(self, slots: int, threshold: int):
        self.slots, self.threshold = max(1, int(slots)), int(threshold)
        self._slots = threading.BoundedSemaphore(self.slots)
        self._local = threading.local()  # .held: None outside a section, else whether it holds a slot

    @contextlib.contextmanager
    def section(self):
        if getattr(self._local, "held", None) is not None:  # nested: the outer section holds or releases
            yield
            return
        self._local.held = False
        try:
            yield
        finally:
            held, self._local.held = self._local.held, None
            if held:
                self._slots.release()

    def holding(self) -> bool:
        """Whether this thread's section holds a slot now."""
        return bool(getattr(self._local, "held", None))

    def hold(self, size: Callable[[], int]) -> bool:
        """Take this section's slot if ``size()`` bytes is large (waiting while all are taken); True if held."""
        held = getattr(self._local, "held", None)
        if held is None or held:
            return bool(held)
        if size() <= self.threshold:
            return False
        return self.take()

    def take(self) -> bool:
        """Take this section's slot whatever the size (a run known to be heavy by other measures); True if held."""
        held = getattr(self._local, "held", None)
        if held is None or held:
            return bool(held)
        self._slots.acquire()
        self._local.held = True
        return True
