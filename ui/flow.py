"""The main page's "Where information flows" (attention rollout and attention flow across the layers, Abnar &
Zuidema 2020) and "Queries and keys in one space" (one head's q and k in 2-D), below the layer grid.

Both are closed by default: a closed section costs the live page two toggles drawn after its maps, nothing else.
Open, every expensive result goes through the one memo (``ui.session.remembered``), keyed by what it depends on,
so moving the page's head slider or another of the section's widgets recomputes nothing it does not have to.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from attnviz.analysis.flow import MAX_FLOW_TOKENS, FlowEdge, attention_flow, flow_edges, mixed_maps, reachable, rollout
from attnviz.analysis.projection import qk_projection
from attnviz.figures.flow import flow_graph, qk_scatter, rollout_map
from attnviz.models.base import hook_name

from . import url_state
from .errors import guard
from .figures import columns, show_figure
from .lang import T
from .session import captures_for, remembered
from .state import fit, one_of

METHODS = ("rollout", "flow")
HEADS = ("mean", "max")
PROJECTIONS = ("pca", "umap")
MAX_TOP_K = 10
# Attention flow solves one max-flow per token pair and layer: 1–2 s at 32 tokens here, 10–14 s at the library's limit of
# 64. On a shared server it runs in one of the few forward workers (ui.session.remembered), so the page stops sooner.
PAGE_FLOW_TOKENS = min(40, MAX_FLOW_TOKENS)
NEIGHBOURS = 3  # qk_projection's default: "among its 3 nearest keys"

FLOW_PARAMS = [
    url_state.bool_param("flow"),
    url_state.text_param("flow_method", "rollout"),
    url_state.text_param("flow_heads", "mean"),
    url_state.int_param("flow_residual", 50, 0, 100),  # percent: the paper's 0.5
    url_state.int_param("flow_layer", 63, 0, 63),  # clamped to the model's last layer, where rollout is usually read
    url_state.int_param("flow_top_k", 3, 1, MAX_TOP_K),
    url_state.bool_param("qk"),
    url_state.text_param("qk_method", "pca"),
]


def flow_section(view, layer: int, head: int) -> None:
    """The two toggles, then whichever of the two sections is open (``layer``, ``head``: the page's chosen head)."""
    open_flow, open_qk = st.columns(2)
    open_flow.toggle(T("main.flow_toggle"), key="flow", help=T("main.flow_toggle_help"))
    open_qk.toggle(T("main.qk_toggle"), key="qk", help=T("main.qk_toggle_help"))
    if st.session_state["flow"]:
        with st.container(key="flow_section"), guard("main.flow_what"):
            information_flow(view)
    if st.session_state["qk"]:
        with st.container(key="qk_section"), guard("main.qk_what"):
            queries_and_keys(view, layer, head)


def _percent(share: float) -> str:
    return f"{share:.0%}"


def information_flow(view) -> None:
    """Rollout (or attention flow) after the chosen layer as a token × token map, and the token graph."""
    state, model, capture = st.session_state, view.model, view.captures[0]
    lang = state["lang"]
    st.subheader(T("main.flow_header"))
    st.caption(T("main.flow_caption"))
    one_of("flow_method", METHODS, "rollout")
    one_of("flow_heads", HEADS, "mean")
    fit("flow_layer", 0, model.n_layers - 1)
    pick_method, pick_heads = st.columns(2)
    pick_method.radio(
        T("main.flow_method"),
        METHODS,
        key="flow_method",
        horizontal=True,
        format_func=lambda m: T(f"main.flow_method_{m}"),
        help=T("main.flow_method_help", max=PAGE_FLOW_TOKENS),
        **url_state.PERSIST,
    )
    pick_heads.radio(
        T("main.flow_heads"),
        HEADS,
        key="flow_heads",
        horizontal=True,
        format_func=lambda h: T(f"main.flow_heads_{h}"),
        help=T("main.flow_heads_help"),
        **url_state.PERSIST,
    )
    pick_residual, pick_layer, pick_k = st.columns(3)
    pick_residual.slider(
        T("main.flow_residual"),
        0,
        100,
        step=5,
        key="flow_residual",
        format="%d%%",
        help=T("main.flow_residual_help"),
        **url_state.PERSIST,
    )
    if model.n_layers > 1:
        pick_layer.slider(T("main.flow_layer"), 0, model.n_layers - 1, key="flow_layer", **url_state.PERSIST)
    pick_k.slider(
        T("main.flow_top_k"), 1, MAX_TOP_K, key="flow_top_k", help=T("main.flow_top_k_help"), **url_state.PERSIST
    )

    residual, heads, layer, top_k = (
        state["flow_residual"] / 100,
        state["flow_heads"],
        state["flow_layer"],
        state["flow_top_k"],
    )
    method = state["flow_method"]
    real = np.asarray(capture.key_is_real, dtype=bool)
    n_real = int(real.sum())
    problems = model.n_layers * n_real**2
    of_text = (view.model_name, view.texts, view.spec)  # what the capture is of: the memo keys start with it
    signed = remembered(
        "flow:signed",
        ("signed", *of_text),
        lambda: np.bool_(any(capture.pattern(index).min() < -1e-6 for index in range(model.n_layers))),
    )
    if signed:  # DCMHA's composed maps: no capacities for a max-flow, and a rollout of signed weights
        st.info(T("main.flow_signed"))
        method = "rollout"
    elif method == "flow" and n_real > PAGE_FLOW_TOKENS:
        st.info(T("main.flow_too_long", max=PAGE_FLOW_TOKENS, n=n_real, problems=f"{problems:,}"))
        method = "rollout"
    key = (method, *of_text, residual, heads)
    if method == "flow":
        with st.spinner(T("main.flow_spinner", problems=f"{problems:,}")):
            stack = remembered("flow:flow", key, lambda: attention_flow(capture, residual, heads), lane="analysis")
    else:
        stack = remembered("flow:rollout", key, lambda: rollout(capture, residual, heads))
    paths = remembered("flow:reachable", ("reachable", *of_text), lambda: reachable(capture))
    keep = view.keep(0)
    values = dict(layer=layer, heads=T(f"main.flow_heads_{heads}"), residual=_percent(residual))
    title = T("main.rollout_title" if method == "rollout" else "main.flowmap_title", **values)

    map_column, graph_column = columns(2)
    with map_column:
        figure = rollout_map(stack[layer], capture.tokens, allowed=paths[layer], keep=keep, title=title, lang=lang)
        # rows and columns are tokens after the layer and input tokens here, not one head's queries and keys
        figure.update_layout(
            xaxis_title_text=T("main.flow_columns_axis"), yaxis_title_text=T("main.flow_rows_axis", layer=layer)
        )
        show_figure(
            figure,
            key="rollout_map",
            arrays={f"{method}.{layer}": stack[layer], "reachable": paths[layer], "tokens": capture["tokens"]},
        )
        st.caption(T("main.flow_map_caption", layer=layer))
        if keep is not None:
            st.caption(T("main.flow_hidden_note"))
    with graph_column:
        # the graph's nodes: the drawn tokens that are real (padding has no lines)
        shown = real.copy()
        if keep is not None:
            shown &= np.isin(np.arange(len(real)), keep)
        nodes = np.flatnonzero(shown)
        table = remembered(
            "flow:edges",
            ("edges", *of_text, residual, heads, top_k, tuple(nodes.tolist())),
            lambda: edge_table(capture, residual, heads, top_k, nodes),
        )
        edges = [
            FlowEdge(int(layer_), int(source), int(target), float(weight)) for layer_, source, target, weight in table
        ]
        show_figure(
            flow_graph(
                edges, capture.tokens, model.n_layers, keep=nodes, title=T("main.flow_graph_title", k=top_k), lang=lang
            ),
            key="flow_graph",
        )
        st.caption(T("main.flow_graph_caption"))


def edge_table(capture, residual: float, heads, top_k: int, nodes: np.ndarray) -> np.ndarray:
    """The graph's lines (flow_edges of the residual-mixed maps) as one (n, 4) array (layer, source, target,
    weight): what the memo keeps, so that the shared cache counts its bytes (a list of tuples would count none)."""
    edges = flow_edges(mixed_maps(capture, residual, heads), top_k=top_k, keep=nodes)
    return np.array(edges, dtype=np.float64).reshape(-1, 4)


def qk_capture(view, layer: int):
    """A capture holding layer ``layer``'s queries, keys and pattern: the view's own when it has them, else one
    of that layer alone through the page's capture path (its own memo slot, as the raw scores have theirs)."""
    hooks = (hook_name("q", layer), hook_name("k", layer), hook_name("pattern", layer))
    if all(name in view.captures[0] for name in hooks):
        return view.captures[0]
    return captures_for(view.model_name, view.texts, view.spec, hooks, slot="qk")[0]


def queries_and_keys(view, layer: int, head: int) -> None:
    """The page's chosen head: its queries and keys in one 2-D picture, with what the picture keeps and how far
    "near = attended" held on this sentence."""
    state, model = st.session_state, view.model
    lang = state["lang"]
    st.subheader(T("main.qk_header"))
    st.caption(T("main.qk_caption"))
    one_of("qk_method", PROJECTIONS, "pca")
    st.radio(
        T("main.qk_method"),
        PROJECTIONS,
        key="qk_method",
        horizontal=True,
        format_func=lambda m: T(f"main.qk_method_{m}"),
        help=T("main.qk_method_help"),
        **url_state.PERSIST,
    )
    capture = qk_capture(view, layer)
    kv = model.kv_head_of(head)
    method = state["qk_method"]

    def project(how: str) -> dict:
        key = ("qk", view.model_name, view.texts, view.spec, layer, head, how)
        return remembered(
            "flow:qk", key, lambda: qk_projection(capture, layer, head, how, kv_head=kv, neighbours=NEIGHBOURS)
        )

    projection = None
    if method == "umap":
        try:
            with st.spinner(T("main.qk_umap_spinner")):
                projection = project("umap")
        except Exception:  # noqa: BLE001 - a handful of points UMAP cannot lay out: PCA always can
            st.info(T("main.qk_umap_failed", n=int(np.sum(capture.key_is_real))))
    if projection is None:
        projection = project("pca")
    title = T("main.qk_title", layer=layer, head=head, method=projection["method"].upper())
    left, right = columns([3, 2])
    with left:
        show_figure(
            qk_scatter(projection, capture.tokens, title=title, lang=lang),
            key="qk_scatter",
            arrays={
                "queries_2d": projection["queries"],
                "keys_2d": projection["keys"],
                "positions": projection["positions"],
                "tokens": capture["tokens"],
            },
        )
    with right:
        explained = projection["explained_variance"]
        if explained is None:
            st.caption(T("main.qk_umap_caption"))
        else:
            st.caption(
                T(
                    "main.qk_pca_caption",
                    share=_percent(float(np.sum(explained))),
                    pc1=_percent(explained[0]),
                    pc2=_percent(explained[1]),
                    d=model.d_head,
                )
            )
        nearby, n = projection["attended_nearby"], len(projection["positions"])
        if np.isfinite(nearby) and n:
            k = min(NEIGHBOURS, n)
            st.caption(
                T(
                    "main.qk_nearby",
                    share=_percent(nearby),
                    hits=int(round(nearby * n)),
                    n=n,
                    k=k,
                    chance=_percent(k / n),
                )
            )
        if model.n_kv_heads < model.n_heads:
            st.caption(T("main.qk_gqa", head=head, kv=kv, group=model.n_heads // model.n_kv_heads))
        if view.keep(0) is not None:
            st.caption(T("main.qk_special_note"))
