"""Head comparison: two heads side by side, their difference, and a sortable table of every head."""

import streamlit as st

from attnviz import plots
from attnviz.stats import STAT_COLUMNS, stats_table
from ui import url_state
from ui.controls import SHARED, run_view, sentence_input, sidebar_controls
from ui.figures import show_figure

st.set_page_config(page_title="attnviz — compare heads", page_icon="🔍", layout="wide")

COMPARE_PARAMS = [
    url_state.int_param("a_layer", 0, 0, 63),
    url_state.int_param("a_head", 0, 0, 63),
    url_state.int_param("b_layer", 0, 0, 63),
    url_state.int_param("b_head", 1, 0, 63),
    url_state.text_param("rank_by", "entropy"),
]
url_state.load(SHARED + COMPARE_PARAMS)

STAT_HELP = {
    "entropy": "−Σ p log p of a query's row, in nats, averaged over queries: 0 = one key takes all, high = spread out.",
    "mean_distance": "How many tokens away a query looks, weighted by attention.",
    "self": "Share of attention a token gives itself.",
    "previous": "Share given to the token just before.",
    "next": "Share given to the token just after.",
    "cls": "Share given to [CLS].",
    "sep": "Share given to [SEP] (often a 'no-op' sink).",
}

st.title("Compare heads")
sidebar_controls()
sentence_input()
view = run_view()

if view is not None:
    model, capture = view.model, view.captures[0]
    keep = view.keep(0)
    for key, limit in (("a_layer", model.n_layers), ("b_layer", model.n_layers), ("a_head", model.n_heads), ("b_head", model.n_heads)):
        st.session_state[key] = min(st.session_state[key], limit - 1)
    col_a, col_b = st.columns(2)
    with col_a:
        st.markdown("**Head A**")
        st.slider("A: layer", 0, model.n_layers - 1, key="a_layer")
        st.slider("A: head", 0, model.n_heads - 1, key="a_head")
    with col_b:
        st.markdown("**Head B**")
        st.slider("B: layer", 0, model.n_layers - 1, key="b_layer")
        st.slider("B: head", 0, model.n_heads - 1, key="b_head")
    a_layer, a_head = st.session_state["a_layer"], st.session_state["a_head"]
    b_layer, b_head = st.session_state["b_layer"], st.session_state["b_head"]
    show_figure(
        plots.comparison(
            capture.pattern(a_layer)[a_head],
            capture.pattern(b_layer)[b_head],
            capture.tokens,
            name_a=f"A: layer {a_layer} · head {a_head}",
            name_b=f"B: layer {b_layer} · head {b_head}",
            allowed=capture.mask(a_layer),
            keep=keep,
        ),
        key="comparison",
    )

    st.subheader("Rank the heads")
    if st.session_state["rank_by"] not in STAT_COLUMNS:
        st.session_state["rank_by"] = "entropy"
    rank_by = st.selectbox("Sort by", STAT_COLUMNS, key="rank_by", help=STAT_HELP.get(st.session_state["rank_by"]))
    table = stats_table(capture).sort_values(rank_by, ascending=rank_by == "entropy")
    st.dataframe(
        table,
        hide_index=True,
        key="stats_table",
        column_config={
            name: st.column_config.NumberColumn(name, help=STAT_HELP[name], format="%.3f") for name in STAT_COLUMNS
        },
    )
    st.caption(
        "Averages over the real (non-padding) query rows of the sentence above. Click a column header to re-sort."
    )

url_state.save(SHARED + COMPARE_PARAMS)
