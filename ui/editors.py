"""Editable tables whose starting values come from a preset or a link (the DCMHA page's compose matrix)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from attnviz.analysis import dcmha as dv
from attnviz.text import escape_markdown

from .lang import T


def load_preset(n_heads: int) -> None:
    """The chosen preset (identity, swap heads a and b, average, zero head a) becomes the editor's new start."""
    state = st.session_state
    a, b = min(state["sb_a"], n_heads - 1), min(state["sb_b"], n_heads - 1)
    state["sb_matrix"] = dv.matrix_to_text(dv.preset_matrix(state["sb_preset"], n_heads, a, b))
    state["_sb_base"] = state["sb_matrix"]
    state["_sb_version"] = state.get("_sb_version", 0) + 1  # a new editor widget, starting from the preset


def compose_editor(n_heads: int) -> np.ndarray | None:
    """The sandbox's H×H compose matrix (rows = output head, columns = input head), edited in a table.

    It starts from the link's ``sb_matrix`` (or the last preset); every edit goes back into ``sb_matrix``, so the
    link reproduces it. None, with a message, while a cell is empty or not a number.
    """
    state = st.session_state
    if "_sb_base" not in state:
        state["_sb_base"], state["_sb_version"] = state["sb_matrix"], 0
    try:
        start = dv.matrix_from_text(state["_sb_base"], n_heads)
    except ValueError as error:
        st.warning(T("dcmha.sb_bad", error=escape_markdown(error)))  # it quotes the URL's sb_matrix
        start = np.eye(n_heads, dtype=np.float32)
    columns = [f"in {m}" for m in range(n_heads)]
    frame = pd.DataFrame(start, columns=columns, index=[f"out {n}" for n in range(n_heads)])
    edited = st.data_editor(
        frame,
        key=f"sb_editor_{state['_sb_version']}",
        width="stretch",
        column_config={c: st.column_config.NumberColumn(c, format="%.3f", step=0.05) for c in columns},
    )
    st.caption(T("dcmha.sb_editor"))
    matrix = edited.to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)
    if not np.isfinite(matrix).all():
        st.warning(T("dcmha.sb_bad", error="empty or non-numeric cell"))
        return None
    state["sb_matrix"] = dv.matrix_to_text(matrix)
    return matrix
