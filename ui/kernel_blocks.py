"""The main page's "What a kernel can skip": the chosen layer's mask cut into tiles, each skipped, partly masked or
full, and the share of the work a blocked kernel (FlashAttention, FlexAttention's block masks) leaves out. Closed by
default; open, the census is counted from the capture's mask rule through the one memo."""

from __future__ import annotations

import streamlit as st

from attnviz.analysis.kernel_blocks import BLOCK_SIZES, SKIPPED, block_census, block_sizes
from attnviz.figures.kernel_blocks import kernel_blocks_figure, summary

from . import url_state
from .errors import guard
from .figures import columns, show_figure
from .lang import T
from .session import remembered
from .state import one_of

KERNEL_PARAMS = [
    url_state.bool_param("kernel_blocks"),
    url_state.choice_param("kernel_block", 16, BLOCK_SIZES),
]


def kernel_blocks_section(view, layer: int) -> None:
    """The toggle, then (open) the block size and the chosen layer's tiles of the first sentence's mask."""
    st.toggle(T("main.blocks_toggle"), key="kernel_blocks", help=T("main.blocks_toggle_help"))
    if not st.session_state["kernel_blocks"]:
        return
    with st.container(key="kernel_blocks_section"), guard("main.blocks_what"):
        capture = view.captures[0]
        offered = block_sizes(len(capture.tokens))  # a long text's finest tiles would be millions
        one_of("kernel_block", offered, offered[0])
        st.select_slider(T("main.blocks_size"), offered, key="kernel_block", help=T("main.blocks_size_help"))
        block = int(st.session_state["kernel_block"])
        census = remembered(
            "kernel_blocks",
            ("kernel_blocks", view.model_name, view.texts[:1], view.spec, layer, block),
            lambda: block_census(capture, layer, block),
        )
        lang = st.session_state["lang"]
        figure_column, words = columns([3, 2])
        with figure_column:
            show_figure(
                kernel_blocks_figure(census, lang=lang),
                key="kernel_blocks_map",
                arrays={"tile_states": census.states, "tile_allowed_cells": census.allowed},
            )
        n = census.n
        words.markdown(
            T(
                "main.blocks_caption",
                summary=summary(census, lang),
                layer=layer,
                computed=f"{census.computed_cells:,}",
                cells=f"{n * n:,}",
                share=f"{census.computed_cells / (n * n):.0%}",
                skipped=f"{census.count(SKIPPED):,}",
            )
        )
