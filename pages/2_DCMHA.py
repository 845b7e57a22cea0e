"""DCMHA: see the heads of a tiny DCFormer compose, next to its MHA twin, and try a static compose on MiniLM."""

import streamlit as st

from attnviz.analysis import dcmha as dv
from attnviz.figures import dcmha as figs
from attnviz.text import InputError, escape_markdown, visible_token
from ui import url_state
from ui.controls import load_page_state, save_page_state, show_notices, text_box
from ui.dcmha import (
    Cell,
    capture_for,
    compare_tab,
    compose_tab,
    gates_tab,
    lane_of,
    map_captures,
    redundancy_tab,
    sandbox,
    stages_tab,
    visible_keys,
)
from ui.errors import guard
from ui.lang import texts_of
from ui.nav import run_through_navigation
from ui.session import HEAVY, encoded_shape, heavy_section
from ui.offered import get_model
from ui.state import fit, fit_indices, one_of

run_through_navigation()
st.set_page_config(page_title="attnviz — DCMHA", layout="wide")

DEFAULT_TEXT = "The cat sat on the mat because it was tired. 学而时习之，不亦说乎。"
SANDBOX_TEXT = "The animal didn't cross the street because it was too tired."
PARAMS = [
    url_state.text_param("dc_model", "dcformer-tiny"),
    url_state.text_param("dc_text", DEFAULT_TEXT),
    url_state.int_param("dc_layer", 0, 0, 63),
    url_state.int_param("dc_q", 25, 0, 1_000_000),
    url_state.int_param("dc_k", 22, 0, 1_000_000),
    url_state.int_param("dc_head", 0, 0, 63),
    url_state.bool_param("dc_global", False),
    url_state.int_param("dc_window", 64, 1, 4096),
    url_state.bool_param("dc_causal", True),
    url_state.text_param("sb_text", SANDBOX_TEXT),
    url_state.int_param("sb_layer", 2, 0, 63),
    url_state.text_param("sb_stage", "post"),
    url_state.text_param("sb_preset", "identity"),
    url_state.int_param("sb_a", 0, 0, 63),
    url_state.int_param("sb_b", 1, 0, 63),
    url_state.text_param("sb_matrix", ""),
]
load_page_state(PARAMS)  # the shared language (?lang=, sidebar switch) first, then this page's URL state
state = st.session_state
D = texts_of("dcmha")
for key, allowed in (("dc_model", dv.TINY_MODELS), ("sb_stage", ("pre", "post")), ("sb_preset", dv.SANDBOX_PRESETS)):
    one_of(key, allowed, next(p.default for p in PARAMS if p.key == key))


def window_controls(model) -> tuple[int | None, bool]:
    """The sidebar: which tiny model, and the window and causality its forward runs with."""
    fit("dc_window", 1, model.context)
    st.sidebar.subheader(D("window_box"))
    st.sidebar.checkbox(D("global"), key="dc_global")
    st.sidebar.slider(
        D("window"), 1, model.context, key="dc_window", disabled=state["dc_global"], help=D("window_help")
    )
    st.sidebar.checkbox(D("causal"), key="dc_causal", help=D("causal_help"))
    return (None if state["dc_global"] else int(state["dc_window"])), bool(state["dc_causal"])


def text_notices(prepared, model, window, causal: bool) -> None:
    """What the page must say about this text and these settings (cut, unknown characters, other window, not causal)."""
    show_notices(prepared.notices, state["lang"])
    if prepared.truncated:
        st.warning(D("truncated", n=prepared.full_length, ctx=model.max_tokens))
    if len(prepared.text) > model.context:  # beyond the length it was trained on: its local windows carry it
        st.info(D("beyond_context", n=len(prepared.text), ctx=model.context, region=dv.REGION))
    if prepared.unknown:
        st.warning(D("unknown", chars="  ".join(f"‘{escape_markdown(visible_token(c))}’" for c in prepared.unknown)))
    windows = model.layer_windows()
    local, glob = [l for l, w in enumerate(windows) if w is not None], [l for l, w in enumerate(windows) if w is None]
    trained = model.config.window_size
    st.caption(
        D("window_trained", w=trained, local=", ".join(map(str, local)) or "–", glob=", ".join(map(str, glob)) or "–")
    )
    if window != trained and local:
        st.warning(D("window_other", w=trained, now=D("global") if window is None else f"w = {window}"), icon="⚠️")
    if not causal:
        st.warning(D("causal_off"), icon="⚠️")


def pick_cell(model, twin, text: str, window, causal: bool) -> Cell:
    """Both forwards of the text, and the chosen layer, query t and key s."""
    cap_key, cap = capture_for(model, text, window, causal)
    _, twin_cap = capture_for(twin, text, window, causal)
    st.caption(
        D(
            "trained_from",
            src=f"assets/{model.name}",
            loss="–" if model.heldout_loss is None else f"{model.heldout_loss:.3f}",
            here=cap.loss,
        )
    )
    n = len(cap.tokens)
    fit_indices(dc_layer=cap.n_layers, dc_q=n, dc_k=n, dc_head=cap.n_heads)
    labels = dv.labels(cap)
    c_layer, c_q, c_k = st.columns([1, 2, 2])
    layer_global, layer_local = D("layer_global"), D("layer_local")
    c_layer.selectbox(
        D("layer"),
        list(range(cap.n_layers)),
        key="dc_layer",
        format_func=lambda l: (
            f"{l} · " + (layer_global if cap.layer_windows[l] is None else layer_local.format(w=cap.layer_windows[l]))
        ),
    )
    c_q.selectbox(D("query"), list(range(n)), key="dc_q", format_func=lambda i: f"{i}: {labels[i]}")
    visible = visible_keys(cap, state["dc_layer"], state["dc_q"])
    masked_tag = D("masked_tag")
    c_k.selectbox(
        D("key"),
        list(range(n)),
        key="dc_k",
        format_func=lambda j: f"{j}: {labels[j]}" + ("" if visible[j] else f"  ({masked_tag})"),
    )
    layer, t, s = state["dc_layer"], state["dc_q"], state["dc_k"]
    maps, twin_maps, first = map_captures(cap, twin_cap, cap_key, t)
    selected = (t - first, s - first) if first <= s < first + len(maps.tokens) else None
    shapes = figs.structure_shapes(
        len(maps.tokens), cap.layer_windows[layer], causal, dv.query_blocks(maps, layer), selected=selected
    )
    return Cell(model, twin, cap, twin_cap, cap_key, layer, t, s, labels, maps, twin_maps, first, shapes)


def dcmha_page() -> None:
    """Sidebar, text, the chosen cell, then five tabs (the sandbox alone while the text box is empty)."""
    st.sidebar.selectbox(D("model"), dv.TINY_MODELS, key="dc_model", help=D("model_help"))
    model, twin = get_model(state["dc_model"]), get_model(dv.TWIN[state["dc_model"]])
    window, causal = window_controls(model)
    st.title(D("title"))
    st.markdown(D("intro"))
    text_box(D("text"), "dc_text")
    try:
        prepared = dv.prepare_text(state["dc_text"], model)
    except InputError:
        st.info(D("empty"))
        st.subheader(D("tab_sandbox"))
        sandbox()
        return
    text_notices(prepared, model, window, causal)
    if lane_of(encoded_shape(model, (prepared.text,))[1]) == "analysis":
        HEAVY.take()  # a long text computes and draws for seconds: one of the server's few heavy runs at a time
    cell = pick_cell(model, twin, prepared.text, window, causal)
    tabs = st.tabs(
        [D("tab_compose"), D("tab_stages"), D("tab_gates"), D("tab_compare"), D("tab_redundancy"), D("tab_sandbox")]
    )
    with tabs[0]:
        compose_tab(cell)
    with tabs[1]:
        stages_tab(cell)
    with tabs[2]:
        gates_tab(cell)
    with tabs[3]:
        compare_tab(cell, prepared.text)
    with tabs[4]:
        redundancy_tab(cell)
    with tabs[5]:
        sandbox()


with guard("error.dcmha"), heavy_section():  # a failure is a message; the inputs drawn so far stay on screen
    dcmha_page()

save_page_state(PARAMS)
