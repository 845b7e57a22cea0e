"""Step by step: one head, one query, every number of the real computation in order."""

import streamlit as st

from attnviz import plots_steps
from attnviz.steps import full_projection, steps
from ui import url_state
from ui.controls import SHARED, run_view, sentence_input, sidebar_controls
from ui.figures import show_figure

st.set_page_config(page_title="attnviz — step by step", page_icon="🔍", layout="wide")

STEP_PARAMS = [
    url_state.int_param("layer", 0, 0, 63),
    url_state.int_param("head", 0, 0, 63),
    url_state.int_param("query", 1, 0, 4095),
    url_state.int_param("dims", 8, 1, 4096),
]
url_state.load(SHARED + STEP_PARAMS)

st.title("Step by step: one head, one query")
st.caption("Each panel shows numbers read from the model's real forward pass for the sentence below.")
sidebar_controls()
sentence_input()
view = run_view(hooks=None)

if view is not None and getattr(view.model, "kind", "") != "encoder":
    st.info("The step-by-step view is written for BERT-family encoders; pick one in the sidebar.")
elif view is not None:
    model, capture = view.model, view.captures[0]
    tokens = capture.tokens
    state = st.session_state
    state["layer"] = min(state["layer"], model.n_layers - 1)
    state["head"] = min(state["head"], model.n_heads - 1)
    state["query"] = min(state["query"], len(tokens) - 1)
    state["dims"] = min(state["dims"], model.d_head)
    c1, c2, c3, c4 = st.columns(4)
    c1.selectbox("Layer", range(model.n_layers), key="layer")
    c2.selectbox("Head", range(model.n_heads), key="head")
    c3.selectbox("Query token", range(len(tokens)), key="query", format_func=lambda i: f"{i}: {tokens[i]}")
    c4.slider("Dimensions shown", 1, model.d_head, key="dims", help=f"Vectors have {model.d_head} dimensions per head; show all with the maximum.")
    layer, head, query, dims = state["layer"], state["head"], state["query"], state["dims"]
    s = steps(model, capture, layer, head, query)
    d, H, D = model.d_head, model.n_heads, model.d_model
    qt = tokens[query]

    st.header("0 · One projection, cut into heads")
    st.markdown(
        f"There is **one** W_Q of size {D} × {D}. “Multi-head” means its {D} output columns are cut into "
        f"**{H} heads × {d} columns** (d_model = heads × d_head); head {head} uses only its own {d} columns. "
        "The same holds for W_K and W_V."
    )
    show_figure(plots_steps.projection_split(full_projection(model, layer, "q"), head=head, d_head=d), key="split")

    st.header("1 · Input vectors x")
    if s.embeddings is not None:
        st.markdown("Layer 0's input is the token embedding **+** the position embedding (**+** the segment/type embedding), then LayerNorm.")
        parts = s.embeddings
        rows = [parts["word"][query], parts["position"][query]] + ([parts["type"][query]] if "type" in parts else [])
        names = [f"word “{qt}”", f"position {query}"] + (["type 0"] if "type" in parts else [])
        rows += [parts["sum"][query], parts["after LayerNorm"][query]]
        names += ["sum", "after LayerNorm = x"]
        show_figure(plots_steps.vector_rows(rows, names, title=f"Input of “{qt}”", dims=dims), key="embed")
    else:
        st.markdown(f"Layer {layer}'s input is layer {layer - 1}'s output.")
    show_figure(plots_steps.vector_rows(s.layer_input, tokens, title="x for every token", dims=dims), key="x")

    st.header(f"2 · Head {head}'s slice of W_Q, W_K, W_V → q, k, v")
    st.latex(r"q_i = x_i W_Q^{(h)} + b_Q^{(h)},\quad k_j = x_j W_K^{(h)} + b_K^{(h)},\quad v_j = x_j W_V^{(h)} + b_V^{(h)}")
    st.caption(f"Each slice is {D} × {d}: the head's columns of the big matrix above.")
    col_q, col_kv = st.columns([1, 2])
    with col_q:
        show_figure(plots_steps.vector_rows(s.q, [f"q of “{qt}”"], title="query vector q", dims=dims), key="q")
    with col_kv:
        show_figure(plots_steps.vector_rows(s.k, tokens, title="key vectors k_j", dims=dims), key="k")
        show_figure(plots_steps.vector_rows(s.v, tokens, title="value vectors v_j", dims=dims), key="v")

    st.header("3 · Dot products q · k_j")
    show_figure(plots_steps.key_bars(s.dots, tokens, title=f"q(“{qt}”) · k_j"), key="dots")
    st.header(f"4 · Divided by √d_k = √{d} = {d ** 0.5:.3f}")
    show_figure(plots_steps.key_bars(s.scaled, tokens, title="q · k_j / √d_k  (the raw score)"), key="scaled")
    st.header("5 · The mask added")
    st.markdown(f"Mask: **{view.spec.describe()}**. Keys the query may not see get −∞, so softmax gives them exactly 0.")
    show_figure(plots_steps.key_bars(s.masked, tokens, title="score + mask", allowed=s.allowed), key="masked")
    st.header("6 · Softmax")
    st.latex(r"p_j = \frac{e^{s_j}}{\sum_{j'} e^{s_{j'}}}")
    show_figure(plots_steps.probability_bars(s.probs, tokens, allowed=s.allowed, title=f"attention weights of “{qt}” (sum = {s.probs.sum():.4f})"), key="probs")
    st.header("7 · Weighted sum Σ p_j v_j → the head's output z")
    show_figure(plots_steps.vector_rows(s.weighted, [f"{p:.3f} × v({t})" for p, t in zip(s.probs, tokens)], title="p_j v_j", dims=dims), key="weighted")
    show_figure(plots_steps.vector_rows(s.z, [f"z of head {head}"], title="z = Σ p_j v_j", dims=dims), key="z")
    st.header(f"8 · All {H} heads concatenated → W_O")
    st.caption(f"{H} heads × {d} = {D} numbers; head {head}'s block starts at dimension {head * d}.")
    concat_rows = s.concat.reshape(H, d)
    show_figure(plots_steps.vector_rows(concat_rows, [f"head {h}" for h in range(H)], title="concat(z¹ … zᴴ), one row per head", dims=dims), key="concat")
    st.latex(r"\text{attention}(x_i) = \mathrm{concat}(z^1,\dots,z^H)\,W_O + b_O")
    show_figure(plots_steps.vector_rows(s.attn_result, ["concat · W_O + b_O"], title="after W_O", dims=dims), key="wo")
    st.header("9 · The layer output")
    st.markdown("Residual + LayerNorm, then the feed-forward network with its own residual + LayerNorm.")
    show_figure(
        plots_steps.vector_rows(
            [s.layer_input[query], s.attn_result, s.resid_mid, s.layer_output],
            ["x (input)", "attention output", "LayerNorm(x + attention)", "layer output"],
            title=f"“{qt}” through layer {layer}",
            dims=dims,
        ),
        key="output",
    )

url_state.save(SHARED + STEP_PARAMS)
