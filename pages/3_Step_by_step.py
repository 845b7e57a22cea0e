"""Step by step: one head, one query, every number of the real computation in order."""

import numpy as np
import pandas as pd
import streamlit as st

from attnviz.figures import steps as plots_steps
from attnviz.analysis.steps import full_projection, key_window, online_softmax, steps
from attnviz.text import token_label
from ui import url_state
from ui.controls import load_page_state, run_view, save_page_state, sentence_input, sidebar_controls
from ui.errors import guard
from ui.figures import show_figure
from ui.lang import T
from ui.nav import run_through_navigation
from ui.state import fit, follow_token, fit_indices

run_through_navigation()
st.set_page_config(page_title="attnviz", layout="wide")

STEP_PARAMS = [
    url_state.int_param("layer", 0, 0, 63),
    url_state.int_param("head", 0, 0, 63),
    url_state.int_param("query", 1, 0, 8191),  # the longest text any model here reads
    url_state.int_param("dims", 8, 1, 4096),
    url_state.int_param("flash_block", 4, 1, 8192),
]
load_page_state(STEP_PARAMS)

lang = st.session_state["lang"]


MAX_FLASH_BLOCKS = 32


def flash_section(s, n: int, heads: int, d: int) -> None:
    """The same row the way FlashAttention computes it: blocks of keys, a running max and sum, no whole row kept."""
    if s.composed is not None and not np.array_equal(s.composed, s.scaled):
        return  # DCMHA mixes every head's row before and after the softmax: not one head's online softmax
    st.header(T("steps.h7b"))
    st.markdown(T("steps.t7b"))
    smallest = -(-n // MAX_FLASH_BLOCKS)  # a long row in at most MAX_FLASH_BLOCKS blocks of keys
    fit("flash_block", smallest, n)
    st.slider(T("steps.flash_block"), smallest, n, key="flash_block")
    online, z, weights = online_softmax(s.masked, s.v, st.session_state["flash_block"])
    st.dataframe(
        pd.DataFrame(
            [
                {
                    T("steps.col_keys"): f"{a}–{b - 1}",
                    T("steps.col_block_max"): step.block_max,
                    T("steps.col_running_max"): step.running_max,
                    T("steps.col_rescale"): step.rescale,
                    T("steps.col_block_sum"): step.block_sum,
                    T("steps.col_running_sum"): step.running_sum,
                }
                for step, (a, b) in ((step, step.keys) for step in online)
            ]
        ).round(5),
        hide_index=True,
        key="flash_table",
    )
    show_figure(
        plots_steps.online_softmax_figure(
            s.masked,
            online,
            s.tokens,
            lang=lang,
            title=T("slide.flash_title", token=token_label(s.tokens[s.query]), block=st.session_state["flash_block"]),
        ),
        key="flash_figure",
    )
    st.caption(
        T(
            "steps.flash_equal",
            dz=float(np.abs(z - s.z).max()),
            dp=float(np.abs(weights - s.probs).max()),
            full=heads * n * n,
            kb_full=heads * n * n * 4 / 1024,
            linear=heads * n * (d + 2),
            kb_linear=heads * n * (d + 2) * 4 / 1024,
        )
    )


def steps_view(view) -> None:
    """One head, one query: every panel of the computation, in order."""
    model, capture = view.model, view.captures[0]
    tokens = capture.tokens
    state = st.session_state
    # The query stays on its token when the text is read another way (another model, an edited sentence): not on
    # its position ("10: it" became "10: l" on a character model). A choice in the menu changes no tokens.
    read_as = hash(tuple(tokens))
    if "query_token" in state and state["query_token"][2] != read_as:
        was, was_of, _ = state["query_token"]
        state["query"] = follow_token(tokens, state["query"], was, was_of)
    fit_indices(layer=model.n_layers, head=model.n_heads, query=len(tokens))
    fit("dims", 1, model.d_head)
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox(T("main.layer"), range(model.n_layers), key="layer")
    c2.selectbox(T("main.head"), range(model.n_heads), key="head")
    c3.selectbox(
        T("steps.query"), range(len(tokens)), key="query", format_func=lambda i: f"{i}: {token_label(tokens[i])}"
    )
    c4.slider(T("steps.dims"), 1, model.d_head, key="dims", help=T("steps.dims_help", d=model.d_head))
    layer, head, query, dims = state["layer"], state["head"], state["query"], state["dims"]
    state["query_token"] = (tokens[query], len(tokens), read_as)
    whole = steps(model, capture, layer, head, query)
    a, b = key_window(whole)  # a long text: the panels over keys show a window of them around the query
    s = whole.keys_window(a, b)
    if (a, b) != (0, len(whole.tokens)):
        st.info(
            T("steps.key_window", n=len(whole.tokens), a=a, b=b - 1, outside=max(0.0, 1.0 - float(s.pattern.sum())))
        )
    d, H, D = model.d_head, model.n_heads, model.d_model
    qt = s.tokens[s.query]  # row labels escape it in the builders; titles (Plotly renders some HTML) escape it here

    def vectors(rows, names, title, key):
        show_figure(plots_steps.vector_rows(rows, names, title=title, dims=dims, lang=lang), key=key)

    def bars(values, title, key, allowed=None):
        show_figure(
            plots_steps.key_bars(values, s.tokens, title=title, allowed=allowed, first=s.first, lang=lang), key=key
        )

    st.header(T("steps.h0"))
    st.markdown(T("steps.t0", D=D, H=H, d=d, head=head))
    show_figure(
        plots_steps.projection_split(full_projection(model, layer, "q"), head=head, d_head=d, lang=lang), key="split"
    )

    encoder = model.kind == "encoder"  # BERT: post-norm, learned positions added to the embeddings
    st.header(T("steps.h1"))
    if s.embeddings is not None:
        parts = s.embeddings
        if encoder:
            st.markdown(T("steps.t1_layer0"))
        else:
            positions = "steps.t1_rotary_positions" if s.rotary else "steps.t1_learned_positions"
            st.markdown(T("steps.t1_decoder", positions=T(positions)))
        labels = {
            "word": T("steps.word", token=qt),
            "position": T("steps.position", n=query),
            "type": T("steps.type"),
            "sum": T("steps.sum"),
            "input": T("steps.after_ln" if encoder else "steps.layer0_input"),
        }
        vectors(
            [parts[name][s.query] for name in parts],
            [labels[name] for name in parts],
            T("steps.input_of", token=token_label(qt)),
            "embed",
        )
    else:
        st.markdown(T("steps.t1_later", layer=layer, prev=layer - 1))
    vectors(s.layer_input, s.tokens, T("steps.x_all"), "x")
    if not encoder:
        st.markdown(T("steps.prenorm"))
        vectors(s.attn_input, s.tokens, T("steps.attn_in_all"), "x_in")

    st.header(T("steps.h2", head=head))
    st.latex(
        r"q_i = x_i W_Q^{(h)} + b_Q^{(h)},\quad k_j = x_j W_K^{(h)} + b_K^{(h)},\quad v_j = x_j W_V^{(h)} + b_V^{(h)}"
    )
    st.caption(T("steps.t2", D=D, d=d))
    if model.n_kv_heads < H:
        sharing = [h for h in range(H) if model.kv_head_of(h) == s.slices.kv_head and h != head]
        key = "steps.kv_shared_one" if len(sharing) == 1 else "steps.kv_shared"  # "head 1", "heads 1, 2"
        st.info(T(key, head=head, kv=s.slices.kv_head, heads=", ".join(map(str, sharing))))
    # The query's one row across the page, then every token's k beside its v: each cell has room for its number.
    vectors(s.q_before if s.rotary else s.q, [T("steps.q_of", token=qt)], T("steps.q_title"), "q")
    col_k, col_v = st.columns(2)
    with col_k:
        vectors(s.k_before if s.rotary else s.k, s.tokens, T("steps.k_title"), "k")
    with col_v:
        vectors(s.v, s.tokens, T("steps.v_title"), "v")
    if s.rotary:
        st.header(T("steps.h2b"))
        weights = model.attention_weights(layer)
        st.markdown(
            T("steps.t2b", before=float(np.linalg.norm(s.q_before)), after=float(np.linalg.norm(s.q)))
            + (" " + T("steps.t2b_norm") if weights.qk_norm else "")
        )
        # the text's first token's key, rotated by position 0 (unchanged), beside the query's own, rotated by i
        vectors(
            [s.q_before, s.q, s.k_before[s.query], s.k[s.query], whole.k_before[0], whole.k[0]],
            [
                T("steps.q_before"),
                T("steps.q_after"),
                T("steps.k_before", token=qt),
                T("steps.k_after", token=qt),
                T("steps.k_before", token=whole.tokens[0]),
                T("steps.k_after", token=whole.tokens[0]),
            ],
            T("steps.h2b"),
            "rope",
        )

    st.header(T("steps.h3"))
    bars(s.dots, f"q(“{token_label(qt)}”) · k_j", "dots")
    st.header(T("steps.h4", d=d, root=d**0.5))
    bars(s.scaled, T("steps.scaled_title"), "scaled")
    if s.composed is not None:  # DCMHA: the heads' scores are composed before the mask and softmax
        bars(s.composed, T("steps.pre_compose_title"), "composed")
        st.caption(T("steps.pre_compose"))
    st.header(T("steps.h5"))
    st.markdown(T("steps.t5", mask=view.spec.describe(lang)))
    show_figure(plots_steps.masked_scores(s, lang=lang), key="masked")
    st.header(T("steps.h6"))
    st.latex(r"p_j = \frac{e^{s_j}}{\sum_{j'} e^{s_{j'}}}")
    show_figure(plots_steps.attention_weights(s, lang=lang), key="probs")
    st.header(T("steps.h7"))
    if model.use_dcmha:  # DCMHA: the heads' softmax weights are composed before they mix v
        show_figure(
            plots_steps.probability_bars(
                s.pattern,
                s.tokens,
                allowed=s.allowed,
                first=s.first,
                title=T("steps.post_compose_title", token=token_label(qt)),
                lang=lang,
            ),
            key="pattern",
        )
        st.caption(T("steps.post_compose"))
    vectors(s.weighted, [f"{p:.3f} × v({t})" for p, t in zip(s.pattern, s.tokens)], "p_j v_j", "weighted")
    vectors(s.z, [T("steps.z_of", head=head)], "z = Σ p_j v_j", "z")
    flash_section(whole, len(whole.tokens), H, d)  # the whole row, in blocks of keys
    st.header(T("steps.h8", H=H))
    st.caption(T("steps.t8", H=H, d=d, D=D, head=head, start=head * d))
    vectors(s.concat.reshape(H, d), [T("plot.head", h=h) for h in range(H)], T("steps.concat_title"), "concat")
    st.latex(r"\text{attention}(x_i) = \mathrm{concat}(z^1,\dots,z^H)\,W_O + b_O")
    vectors(s.attn_result, ["concat · W_O + b_O"], T("steps.after_wo"), "wo")
    st.header(T("steps.h9"))
    st.markdown(T("steps.t9" if encoder else "steps.t9_prenorm"))
    vectors(
        [s.layer_input[s.query], s.attn_result, s.resid_mid, s.layer_output],
        [
            T("steps.x_input"),
            T("steps.attn_output"),
            T("steps.ln_mid" if encoder else "steps.resid_add"),
            T("steps.layer_output"),
        ],
        T("steps.through", token=token_label(qt), layer=layer),
        "output",
    )


st.title(T("steps.title"))
st.caption(T("steps.caption"))
sidebar_controls()
sentence_input()
with guard("error.steps"):
    view = run_view(hooks=None)
    if view is not None:
        steps_view(view)

save_page_state(STEP_PARAMS)
