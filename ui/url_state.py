"""Mirror widget state in the URL query parameters, so a copied link reopens the same view."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st


@dataclass(frozen=True)
class Param:
    key: str
    default: Any
    parse: Callable[[str], Any]

    def read(self, raw: str | None):
        if raw is None:
            return self.default
        try:
            return self.parse(raw)
        except (TypeError, ValueError):
            return self.default


def _bool(raw: str) -> bool:
    return raw.lower() in ("1", "true", "yes", "on")


def _text(raw: str) -> str:
    return raw


def int_in(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError(raw)
        return value

    return parse


def text_param(key: str, default: str) -> Param:
    return Param(key, default, _text)


def short_text_param(key: str, default: str, longest: int) -> Param:
    """A text of at most ``longest`` characters (a longer one in a link is refused: the default)."""

    def parse(raw: str) -> str:
        if len(raw) > longest:
            raise ValueError(raw)
        return raw

    return Param(key, default, parse)


def choice_param(key: str, default: int, choices: tuple[int, ...]) -> Param:
    """One of ``choices`` (whole numbers, as a select slider offers them)."""

    def parse(raw: str) -> int:
        value = int(raw)
        if value not in choices:
            raise ValueError(raw)
        return value

    return Param(key, default, parse)


def bool_param(key: str, default: bool = False) -> Param:
    return Param(key, default, _bool)


def int_param(key: str, default: int, low: int, high: int) -> Param:
    return Param(key, default, int_in(low, high))


# A link is for sharing a view: a text longer than this is not mirrored into it (a URL of over ~100 KB is refused
# by browsers and servers alike, and a pasted essay in every link helps nobody); the page says so.
MAX_LINK_TEXT = 2_000

KEPT = "_kept_widget_values"  # a plain session-state entry: Streamlit never cleans it up
# Streamlit's own keeping of a widget's value while it is not drawn. A widget that a fragment stops drawing (a section
# toggled off, a zoom into an exact tile) is not dropped: Streamlit 1.67 answers its key with the widget's default in
# the next run, so ``load`` cannot tell that it was hidden and would keep the default over the value in ``KEPT``; and
# a widget no page's params name (the DCMHA page's generation sliders) has nothing else to keep it.
PERSIST = dict(persist_state="session")


def load(params: list[Param], *, refresh: bool = True) -> None:
    """Fill session state once per session from the URL; after that keep it alive across runs and pages.

    Streamlit drops a widget's key at the end of any run that did not draw the widget (an empty sentence
    hides the sliders; another page lacks them). Every value is therefore also kept under ``KEPT`` by
    ``save`` and restored from there, so a run that skips a widget never loses its value. Call it at the
    start of every page (and, with ``refresh=False``, of a fragment: it only fills keys that are missing,
    since a fragment may not assign to widgets the full run already drew).
    """
    kept = st.session_state.setdefault(KEPT, {})
    for param in params:
        if param.key in st.session_state:
            if not refresh:
                continue
            # Re-assigning keeps a widget's value when the user moves to a page that lacks that widget.
            st.session_state[param.key] = st.session_state[param.key]
        elif param.key in kept:
            st.session_state[param.key] = kept[param.key]
        else:
            st.session_state[param.key] = param.read(st.query_params.get(param.key))


def save(params: list[Param]) -> None:
    """Remember ``params``' values, and write the non-default ones into the URL (dropping the rest)."""
    kept = st.session_state.setdefault(KEPT, {})
    wanted = {}
    for param in params:
        value = st.session_state.get(param.key, kept.get(param.key, param.default))
        kept[param.key] = value
        if not fits_in_link(value):
            continue  # the link opens with the default; ``fits_in_link`` lets the page say so
        if value != param.default:
            wanted[param.key] = str(int(value)) if isinstance(value, bool) else str(value)
    current = {key: st.query_params.get(key) for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict(wanted)


def fits_in_link(value) -> bool:
    return not isinstance(value, str) or len(value) <= MAX_LINK_TEXT
