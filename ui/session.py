"""Captures shared by all sessions and bounded in bytes, each session's memo, the heavy slots, and how big and how
threaded a page's capture is. Which models a browser may pick, and their loading: :mod:`ui.offered`."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable

import streamlit as st
from streamlit.runtime import Runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from attnviz.capture import linear_hooks, maps_bytes, run_capture, stores_whole
from attnviz.capture_cache import Abandoned, CaptureCache, HeavyGate, nbytes
from attnviz.device import app_threads, torch_threads
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name

from .offered import canonical_model, get_model

# The main and Compare pages draw every layer's pattern and mask; capturing v and z too would only cost memory.
# The raw scores (the hover of the one head in focus) ride along while that stays small (view_hooks); a longer
# text's are computed from q and k when asked for (QK_HOOKS: T·d per head, where every layer's scores would double
# the capture: 512 tokens on MiniLM, 9 MB instead of 75).
VIEW_HOOKS = (hook_name("pattern", "*"), hook_name("mask", "*"))
ALL_SCORES = (hook_name("scores", "*"),)
QK_HOOKS = tuple(hook_name(part, "*") for part in ("q", "k", "score_scale"))


def scores_hooks(layer: int) -> tuple[str, ...]:
    return (hook_name("scores", layer),)


# Memory: captures live in one process-wide cache bounded in bytes; a session keeps its own latest capture
# beside it only while that is small (a short sentence), so a long text costs the server once, not per tab.
CAPTURE_CACHE_MB = int(os.environ.get("ATTNVIZ_CAPTURE_CACHE_MB", "512"))
SESSION_CAPTURE_MB = int(os.environ.get("ATTNVIZ_SESSION_CAPTURE_MB", "8"))
FORWARD_WORKERS = int(os.environ.get("ATTNVIZ_FORWARD_WORKERS", "2"))
# Analyses that take seconds on a long text (Compare's similarity and ranks, Head importance's ranking) run in a
# lane of their own, one at a time: two students comparing 512-token texts made a short sentence wait up to 29 s
# when they shared the forward workers.
ANALYSIS_WORKERS = int(os.environ.get("ATTNVIZ_ANALYSIS_WORKERS", "1"))
# A specialised page's forward of at least this many tokens (the DCMHA page's every stage of every layer) runs in
# the analysis lane too.
LONG_FORWARD_TOKENS = int(os.environ.get("ATTNVIZ_LONG_FORWARD_TOKENS", "256"))
# At most this many page runs at once compute and draw a capture over SESSION_CAPTURE_MB (a long text);
# the others wait for a slot before capturing, so they hold nothing meanwhile. Short texts never wait. As many as
# the cores (2 to 4): a heavy run draws for seconds holding the GIL in turn with every other thread, so more of them
# than cores only stretch a short sentence's wait (five students' 1,000-character DCMHA pages: worst 1.78 s with
# four slots, 1.32 s with two, on two cores).
HEAVY_SESSIONS = int(os.environ.get("ATTNVIZ_HEAVY_SESSIONS", str(min(4, max(2, os.cpu_count() or 2)))))
HEAVY = HeavyGate(HEAVY_SESSIONS, SESSION_CAPTURE_MB * 2**20)


@st.cache_resource
def shared_captures() -> CaptureCache:
    """The one capture cache of this server process (every session reads it, nobody writes into its arrays)."""
    return CaptureCache(CAPTURE_CACHE_MB * 2**20, workers=FORWARD_WORKERS, lanes={"analysis": ANALYSIS_WORKERS})


def session_still_open() -> Callable[[], bool] | None:
    """Whether the session running this script still has a browser attached (asked from any thread); None outside
    a server (a bare run, AppTest), where nobody leaves."""
    run = get_script_run_ctx()
    if run is None or not Runtime.exists():
        return None
    runtime, session_id = Runtime.instance(), run.session_id
    return lambda: runtime.is_active_session(session_id)


def remembered(slot: str, key, compute, lane: str = "forward"):
    """``compute()``'s value for ``key``: this session's last one for ``slot``, else the server's shared cache.

    The one memo of every page. A session keeps its latest value per slot only while it is small (a short
    sentence); a large one lives in the shared, byte-bounded cache alone, so thirty tabs with long texts cost
    the server its cache budget, not thirty copies.
    """
    memo = st.session_state.setdefault("_memo", {})
    kept = memo.get(slot)
    if kept is not None and kept[0] == key:
        return kept[1]
    try:
        value = shared_captures().get_or_compute(key, compute, lane, wanted=session_still_open())
    except Abandoned:  # this tab was closed while its work waited for a worker: nothing to draw, nobody to tell
        st.stop()
    memo[slot] = (key, value) if nbytes(value) <= SESSION_CAPTURE_MB * 2**20 else None
    return value


def heavy_section():
    """``with heavy_section():`` around a page's compute and draw: a long text's run holds one of the
    server's HEAVY_SESSIONS slots from its capture to the end of the block (released however it ends)."""
    return HEAVY.section()


# model -> {texts: (batch, seq)}: a page run asks for a capture's size twice (view_hooks, HEAVY.hold) before the
# forward pass tokenizes once more, and under load every call to the tokenizer also waits for the GIL again.
_SHAPES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def encoded_shape(model, texts: tuple[str, ...]) -> tuple[int, int]:
    """(batch, tokens) of ``texts`` under ``model``'s tokenizer, remembered for the last few hundred texts."""
    try:
        known = _SHAPES.get(model)
        if known is None:
            known = _SHAPES.setdefault(model, {})
    except TypeError:  # a model object that cannot be weakly referenced: ask its tokenizer every time
        known = {}
    shape = known.get(texts)
    if shape is None:
        batch, seq = model.encode(list(texts)).input_ids.shape
        shape = (int(batch), int(seq))
        if len(known) >= 512:
            known.clear()
        known[texts] = shape
    return shape


def capture_bytes(model, texts: tuple[str, ...], hooks: tuple[str, ...] | None) -> int:
    """Bytes of the (heads, seq, seq) maps (patterns, scores) a capture of ``texts`` would hold."""
    return maps_bytes(model, *encoded_shape(model, texts), hooks)


def is_long(model, texts: tuple[str, ...], hooks: tuple[str, ...] | None = VIEW_HOOKS) -> bool:
    """Are these texts' maps (those ``hooks`` name; all of them for None) too big to store whole (capture's one rule,
    ``attnviz.capture.stores_whole``)? Their pages then draw blocks and tiles from a linear capture (ui.long_maps)."""
    return not stores_whole(model, *encoded_shape(model, texts), hooks)


def view_hooks(model, texts: tuple[str, ...]) -> tuple[str, ...]:
    """What the main and Compare pages capture: VIEW_HOOKS, plus every layer's scores while the whole stays
    within SESSION_CAPTURE_MB (a short sentence: one forward pass, kept in the session, as always), else every
    layer's q and k (any score, exactly, without a second forward pass); the linear state alone when the maps
    would not be stored whole (:func:`is_long`)."""
    if is_long(model, texts):
        return tuple(linear_hooks(model))
    with_scores = VIEW_HOOKS + ALL_SCORES
    return (
        with_scores if capture_bytes(model, texts, with_scores) <= SESSION_CAPTURE_MB * 2**20 else VIEW_HOOKS + QK_HOOKS
    )


def captures_for(
    model_name: str,
    texts: tuple[str, ...],
    spec: MaskSpec,
    hooks: tuple[str, ...] | None = VIEW_HOOKS,
    slot: str = "capture",
):
    """The captures of ``texts`` under ``spec`` (``hooks=None``: every hook point, as Step by step needs).

    ``slot``: this session's memo slot (a second capture of the same text, such as one layer's scores, keeps
    its own). Inside :func:`heavy_section`, a large capture first waits for one of the server's slots.
    """
    model_name = canonical_model(model_name) or model_name
    model = get_model(model_name)
    HEAVY.hold(lambda: capture_bytes(model, texts, hooks))

    def compute():
        with torch_threads(forward_threads(model, texts)):
            return run_capture(model, list(texts), spec, hooks=hooks)

    return remembered(slot, (slot, model_name, texts, spec, hooks), compute)


# A forward pass of at least this many tokens may use every core while it is the server's only one: its operations
# are large enough for two threads to halve them (MiniLM, 512 tokens: 0.24 s -> 0.14 s on this 2-core machine),
# where a short sentence's many small ones only wait on each other (and on a busy core: app_threads).
ALL_CORES_FROM_TOKENS = int(os.environ.get("ATTNVIZ_ALL_CORES_FROM_TOKENS", "256"))


def forward_threads(model, texts: tuple[str, ...]) -> int:
    """Intra-op threads for one forward pass: every core for a long text while no other forward runs (a teacher's
    long passage), else app_threads() (a class: every session's forward on one core each)."""
    cores = os.cpu_count() or 1
    if (
        cores > app_threads()
        and shared_captures().running <= 1
        and encoded_shape(model, texts)[1] >= ALL_CORES_FROM_TOKENS
    ):
        return cores
    return app_threads()
