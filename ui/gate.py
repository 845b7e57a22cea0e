"""A shared class password in front of every page, for a server a teacher opens to a LAN.

The password comes from the operator: the ``ATTNVIZ_PASSWORD`` environment variable (``make class
PASSWORD=...``) or ``class_password`` in ``.streamlit/secrets.toml``. Without one there is no gate. A session
that typed it once stays in.

Guessing is slow for the whole server, not for one tab: every try, from any session, goes through one
:class:`GuessLimiter` (about one wrong guess a second overall, one try a second per address, an address locked out
for a while after many wrong ones, logged for the teacher), and a right and a wrong answer take the same time, so
a client cannot learn the answer by dropping a try early.
"""

from __future__ import annotations

import collections
import hmac
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import streamlit as st

from .lang import T

PASSED = "_class_password_ok"
log = logging.getLogger("attnviz.gate")


def class_password() -> str | None:
    password = os.environ.get("ATTNVIZ_PASSWORD", "")
    if password:
        return password
    try:
        return str(st.secrets.get("class_password", "")) or None
    except Exception:  # no secrets file, or a malformed one: no gate from there
        return None


def admitted() -> bool:
    """True when no class password is set, or this session has typed it."""
    return not class_password() or bool(st.session_state.get(PASSED))


# ------------------------------------------------------------------------------------------ the limiter
@dataclass(frozen=True)
class GateSettings:
    rate: float = 1.0  # tries per second the whole server answers in the long run (a right answer gives its turn back)
    burst: int = 5  # tries in the line answered at once before that rate applies (a few students who mistyped)
    answer_seconds: float = 1.0  # every answer, right or wrong, comes this long after its try is looked at
    per_address_seconds: float = 1.0  # one address: one try per this many seconds, however many tabs it opens
    lockout_after: int = 20  # wrong tries from one address within lockout_window ...
    lockout_window: float = 600.0
    lockout_seconds: float = 300.0  # ... lock that address out this long (logged)
    max_wait: float = 30.0  # a try that would wait longer in line is told to come back later
    max_addresses: int = 10_000  # addresses remembered at most (the oldest forgotten first)


@dataclass
class _Address:
    next_try: float = 0.0  # the earliest moment this address's next try is looked at
    wrong: collections.deque = field(default_factory=collections.deque)  # times of its recent wrong tries
    locked_until: float = 0.0


class GuessLimiter:
    """One per server process: every password try waits its turn here.

    Each address gets one try per ``per_address_seconds``. An address whose last tries were right (or who never
    tried) goes straight to the comparison, so a class typing the password gets in at once even while someone
    guesses; an address that guessed wrong lately joins the one line, where turns are given at ``rate`` per second
    after a ``burst`` (a generic cell rate algorithm: ``_next`` is when the line would be empty) and a right
    answer hands its turn back. So the whole server compares at most about one wrong guess a second, plus one for
    each address's first try. ``clock`` and ``sleep`` are injectable for tests."""

    def __init__(
        self,
        settings: GateSettings = GateSettings(),
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.settings = settings
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._next = 0.0  # theoretical time at which the line is empty
        self._addresses: collections.OrderedDict[str, _Address] = collections.OrderedDict()

    def _address(self, address: str) -> _Address:
        entry = self._addresses.pop(address, None) or _Address()
        self._addresses[address] = entry  # most recent last
        while len(self._addresses) > self.settings.max_addresses:
            self._addresses.popitem(last=False)
        return entry

    def attempt(self, address: str, check: Callable[[], bool]) -> str:
        """Wait for this try's turn, run ``check`` (the comparison), and answer at a fixed delay after it.
        Returns "ok", "wrong", "busy" (the line is longer than ``max_wait``) or "locked" (this address)."""
        s = self.settings
        interval = 1.0 / s.rate
        with self._lock:
            now = self.clock()
            entry = self._address(address)
            if entry.locked_until > now:
                return "locked"
            queued = bool(entry.wrong)  # an address that guessed wrong lately waits in the one line
            turn = max(now, entry.next_try, self._next - s.burst * interval if queued else now)
            if turn - now > s.max_wait:
                return "busy"
            if queued:
                self._next = max(now, self._next) + interval
            entry.next_try = turn + s.per_address_seconds
        self.sleep(max(0.0, turn - self.clock()))
        looked_at = self.clock()
        right = bool(check())
        with self._lock:
            now = self.clock()
            if right:
                if queued:
                    self._next = max(now, self._next - interval)  # a right answer gives its turn back
                entry.wrong.clear()
            else:
                entry.wrong.append(now)
                while entry.wrong and entry.wrong[0] < now - s.lockout_window:
                    entry.wrong.popleft()
                if len(entry.wrong) >= s.lockout_after:
                    entry.locked_until = now + s.lockout_seconds
                    entry.wrong.clear()
                    log.warning(
                        "class password: %s locked out for %.0f s after %d wrong tries in %.0f s",
                        address,
                        s.lockout_seconds,
                        s.lockout_after,
                        s.lockout_window,
                    )
        self.sleep(max(0.0, looked_at + s.answer_seconds - self.clock()))  # the same time, right or wrong
        return "ok" if right else "wrong"


# A module global, not st.cache_resource: any client may send Streamlit's clear_cache, which would reset it.
LIMITER = GuessLimiter()


def _client_address() -> str:
    try:
        return st.context.ip_address or "unknown"
    except Exception:  # no request context (a bare script run)
        return "unknown"


# ------------------------------------------------------------------------------------------ Streamlit's own doors
SESSION_UPLOAD_FILES = 4  # files one admitted session may hold on the server at once (each ≤ server.maxUploadSize)
_guarded = threading.Lock()
_installed: list[bool] = []


def _session_admitted(runtime, session_id: str) -> bool:
    """Whether the session behind this id has typed the class password (read from its session state)."""
    info = runtime._session_mgr.get_active_session_info(session_id)
    if info is None:
        return False
    try:
        return bool(info.session.session_state[PASSED])
    except KeyError:
        return False


def guard_the_server() -> None:
    """Make the class password hold for Streamlit's own doors too, once per process (app.py calls it on every run).

    While a class password is set: Streamlit's ``clear_cache`` message (sent by any client, even before the password,
    clearing every shared cache and the sender's session) is ignored and logged; an upload to
    ``/_stcore/upload_file`` from a session that has not typed the password is refused (403) before it is stored,
    and an admitted session holds at most :data:`SESSION_UPLOAD_FILES` files; ``/_stcore/metrics`` lists nothing.
    Without a password nothing changes.
    These wrap three methods of the Streamlit release the lock pins; tests/ui/test_server_guards.py drives both
    through a real server, so a release that moves them fails there."""
    with _guarded:
        if _installed:
            return
        from starlette.exceptions import HTTPException
        from streamlit.runtime import Runtime
        from streamlit.runtime.app_session import AppSession

        clear_cache = AppSession._handle_clear_cache_request

        def guarded_clear_cache(session) -> None:
            if class_password():
                log.warning("class mode: a session's clear_cache request was ignored (it would clear every cache)")
                return
            clear_cache(session)

        AppSession._handle_clear_cache_request = guarded_clear_cache
        _installed.append(True)
        if not Runtime.exists():  # a bare script run or AppTest: no server, no upload endpoint
            return
        runtime = Runtime.instance()
        uploads = runtime.uploaded_file_mgr
        add_file = uploads.add_file

        def guarded_add_file(session_id: str, file) -> None:
            if class_password():
                if not _session_admitted(runtime, session_id):
                    raise HTTPException(status_code=403, detail="Type the class password first")
                held = getattr(uploads, "file_storage", {}).get(session_id, {})
                if file.file_id not in held and len(held) >= SESSION_UPLOAD_FILES:
                    raise HTTPException(status_code=413, detail="Too many files held by this session")
            add_file(session_id=session_id, file=file)

        uploads.add_file = guarded_add_file

        # /_stcore/metrics answers any client, password or not (session counts, cache names and hit counts):
        # while a class password is set it lists no family, so it says nothing.
        stats = runtime.stats_mgr
        families = stats.registered_families

        def guarded_families():
            return [] if class_password() else families()

        stats.registered_families = guarded_families


def password_page() -> None:
    """The only page a session sees until it has typed the class password."""
    st.title("attnviz")
    with st.form("class_password_form"):
        entered = st.text_input(T("gate.password"), type="password", max_chars=200, key="class_password")
        submitted = st.form_submit_button(T("gate.enter"), key="class_password_enter")
    if not submitted:
        return
    expected = (class_password() or "").encode("utf-8")
    outcome = LIMITER.attempt(_client_address(), lambda: hmac.compare_digest(entered.encode("utf-8"), expected))
    if outcome == "ok":
        st.session_state[PASSED] = True
        st.rerun()
    st.error(T({"wrong": "gate.wrong", "busy": "gate.busy", "locked": "gate.locked"}[outcome]))
