"""Head comparison: two heads side by side, their difference, every head ranked, which heads attend alike, and how many directions each uses."""

import streamlit as st

from attnviz.figures import attention as plots
from attnviz.analysis import redundancy
from attnviz.analysis.stats import stat_columns, stats_table
from ui import url_state
from ui.compare import rank_section, similarity_section
from ui.controls import load_page_state, run_view, save_page_state, sentence_input, sidebar_controls
from ui.errors import guard
from ui.figures import show_figure
from ui.lang import T
from ui.long_maps import long_comparison
from ui.nav import run_through_navigation
from ui.session import heavy_section, remembered
from ui.state import fit_indices, one_of

run_through_navigation()
st.set_page_config(page_title="attnviz", layout="wide")

COMPARE_PARAMS = [
    url_state.int_param("a_layer", 0, 0, 63),
    url_state.int_param("a_head", 0, 0, 63),
    url_state.int_param("b_layer", 0, 0, 63),
    url_state.int_param("b_head", 1, 0, 63),
    url_state.text_param("rank_by", "entropy"),
    url_state.text_param("similarity_metric", "js"),
]
load_page_state(COMPARE_PARAMS)
one_of("similarity_metric", redundancy.METRICS, "js")
lang = st.session_state["lang"]


def compare_view(view) -> None:
    """Heads A and B side by side, their difference, and every head ranked."""
    model, capture = view.model, view.captures[0]
    keep = view.keep(0)
    fit_indices(a_layer=model.n_layers, b_layer=model.n_layers, a_head=model.n_heads, b_head=model.n_heads)
    col_a, col_b = st.columns(2)
    with col_a:
        st.markdown(T("compare.head_a"))
        st.slider(T("compare.a_layer"), 0, model.n_layers - 1, key="a_layer")
        st.slider(T("compare.a_head"), 0, model.n_heads - 1, key="a_head")
    with col_b:
        st.markdown(T("compare.head_b"))
        st.slider(T("compare.b_layer"), 0, model.n_layers - 1, key="b_layer")
        st.slider(T("compare.b_head"), 0, model.n_heads - 1, key="b_head")
    a_layer, a_head = st.session_state["a_layer"], st.session_state["a_head"]
    b_layer, b_head = st.session_state["b_layer"], st.session_state["b_head"]
    if view.blocks:  # a long text: A, B and A − B in exact blocks
        long_comparison(view, (a_layer, a_head), (b_layer, b_head))
    else:
        show_figure(
            plots.comparison(
                capture.pattern(a_layer)[a_head],
                capture.pattern(b_layer)[b_head],
                capture.tokens,
                name_a=T("compare.name", which="A", layer=a_layer, head=a_head),
                name_b=T("compare.name", which="B", layer=b_layer, head=b_head),
                allowed=capture.mask(a_layer),
                keep=keep,
                lang=lang,
            ),
            key="comparison",
        )

    st.subheader(T("compare.rank"))
    columns = stat_columns(capture.tokens)
    one_of("rank_by", columns, "entropy")
    rank_by = st.selectbox(
        T("compare.sort_by"),
        columns,
        key="rank_by",
        format_func=lambda name: T(f"stat.{name}"),
        help=T(f"stat.{st.session_state['rank_by']}_help"),
    )
    # every head's statistics: from the stored maps, or streamed from a long text's q and k (remembered: the sliders
    # above do not change them)
    table = remembered("stats", ("stats", view.model_name, view.texts[:1], view.spec), lambda: stats_table(capture))
    table = table.sort_values(rank_by, ascending=rank_by == "entropy")
    st.dataframe(
        table,
        hide_index=True,
        key="stats_table",
        column_config={
            "layer": st.column_config.NumberColumn(T("stat.layer")),
            "head": st.column_config.NumberColumn(T("stat.head")),
            **{
                name: st.column_config.NumberColumn(T(f"stat.{name}"), help=T(f"stat.{name}_help"), format="%.3f")
                for name in columns
            },
        },
    )
    st.caption(T("compare.table_caption"))
    similarity_section(view)  # a long text: the cosine of the maps, streamed
    if view.long:  # its maps are not stored whole: a singular value decomposition of every (T × T) map is not offered
        st.info(T("compare.long_rest", n=len(capture.tokens)))
        return
    rank_section(view)


st.title(T("compare.title"))
sidebar_controls()
sentence_input()
with guard("error.capture"), heavy_section():  # a long text waits for one of the server's few slots
    view = run_view()
    if view is not None:
        compare_view(view)
    del view  # the arrays go before the slot does

save_page_state(COMPARE_PARAMS)
