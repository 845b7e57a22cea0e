"""Keeping widget values valid for what is on screen now: a model with fewer layers, a shorter text, a list of
choices. The one place that clamps (pages used to repeat the same ``min(state[k], n - 1)`` loop)."""

from __future__ import annotations

import streamlit as st


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
