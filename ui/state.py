"""Keeping widget values valid for what is on screen now: a model with fewer layers, a shorter text, a list of
choices. The one place that clamps (pages used to repeat the same ``min(state[k], n - 1)`` loop)."""

from __future__ import annotations

import streamlit as st

from attnviz.text import CONTINUES


def fit(key: str, low: int, high: int) -> int:
    """Clamp ``st.session_state[key]`` into [low, high] (high wins when the range is empty) and return it."""
    value = min(max(st.session_state[key], low), high)
    st.session_state[key] = value
    return value


def fit_indices(**sizes: int) -> None:
    """Each key an index into something of that size: ``fit_indices(layer=model.n_layers, head=model.n_heads)``."""
    for key, size in sizes.items():
        fit(key, 0, max(size - 1, 0))


def one_of(key: str, allowed, default) -> str:
    """A choice from the URL or a lesson that is not among ``allowed`` becomes ``default``."""
    if st.session_state[key] not in allowed:
        st.session_state[key] = default
    return st.session_state[key]


def _bare(token: str) -> str:
    """A capture's readable token (attnviz.text.readable_token: " cat", "‿ing") without its leading space, its
    continuation mark and case: how two tokenizers spell the same word."""
    return token.replace(CONTINUES, "").strip().lower()


def follow_token(tokens: list[str], index: int, was: str, was_of: int) -> int:
    """Where the token ``was`` (at ``index`` of ``was_of`` tokens) is in ``tokens`` now: the same text nearest the
    same place along the text, or, after a change of tokenizer, the first of the tokens that spell it ("it" read as
    "i", "t") or the word a character begins; else the same place along the text. Keeps Step by step on a query's token across a model switch."""
    n = len(tokens)
    if not n:
        return 0
    target, bare = _bare(was), [_bare(t) for t in tokens]
    if index < n and bare[index] == target or not target:
        return min(index, n - 1)
    candidates = [i for i in range(n) if bare[i] == target]
    if not candidates:
        candidates = [
            i
            for i in range(n)
            if bare[i] and target.startswith(bare[i]) and "".join(bare[i : i + len(target)]).startswith(target)
        ]
    if not candidates:  # a character read by a word tokenizer: the word it begins
        candidates = [i for i in range(n) if bare[i].startswith(target)]
    expected = index * n / max(was_of, 1)  # the same place along the text
    if not candidates:
        return min(round(expected), n - 1)
    return min(candidates, key=lambda i: abs(i - expected))
