"""Word order and positions: the sinusoidal formula, the model's learned positions, and swapped words."""

import numpy as np
import streamlit as st

import attnviz
from attnviz import plots
from attnviz.plots import matrix_figure
from attnviz.positions import alignment, cosine_similarity, learned_positions, reorder, sinusoidal
from attnviz.text import InputError
from ui import url_state
from ui.controls import SHARED, sidebar_controls
from ui.figures import show_figure
from ui.session import get_model


st.set_page_config(page_title="attnviz — word order", page_icon="🔍", layout="wide")

ORDER_PARAMS = [
    url_state.text_param("order_a", "the dog chases the cat"),
    url_state.text_param("order_b", "the cat chases the dog"),
    url_state.int_param("layer", 0, 0, 63),
    url_state.int_param("head", 0, 0, 63),
    url_state.int_param("positions", 64, 8, 512),
]
url_state.load(SHARED + ORDER_PARAMS)

st.title("Word order and positions")
sidebar_controls()
model = get_model(st.session_state["model"])
if getattr(model, "kind", "") != "encoder":
    st.info("This page is written for BERT-family encoders; pick one in the sidebar.")
    st.stop()

st.header("Attention alone ignores order")
st.markdown(
    "Self-attention compares every token with every other token; shuffle the words and each token meets the same "
    "partners. Only the **position information added to the input** tells the model who came first."
)
col_a, col_b = st.columns(2)
col_a.text_input("Sentence A", key="order_a")
col_b.text_input("Sentence B (same words, another order)", key="order_b")
pick_l, pick_h = st.columns(2)
st.session_state["layer"] = min(st.session_state["layer"], model.n_layers - 1)
st.session_state["head"] = min(st.session_state["head"], model.n_heads - 1)
pick_l.slider("Layer", 0, model.n_layers - 1, key="layer")
pick_h.slider("Head", 0, model.n_heads - 1, key="head")
layer, head = st.session_state["layer"], st.session_state["head"]
try:
    cap_a = attnviz.capture(st.session_state["order_a"], model, hooks=["blocks.*.attn.hook_pattern"])
    cap_b = attnviz.capture(st.session_state["order_b"], model, hooks=["blocks.*.attn.hook_pattern"])
except InputError as error:
    st.info(str(error))
else:
    if "[UNK]" in cap_a.tokens + cap_b.tokens:
        st.warning(
            f"{model.name} does not know some of these characters (shown as [UNK]); for Chinese such as 狗追猫 / 猫追狗 "
            "every character becomes [UNK], so both orders look the same to it except for their positions."
        )
    left, right = st.columns(2)
    with left:
        show_figure(plots.head_heatmap(cap_a.pattern(layer)[head], cap_a.tokens, title="A"), key="order_a_map")
    with right:
        show_figure(plots.head_heatmap(cap_b.pattern(layer)[head], cap_b.tokens, title="B"), key="order_b_map")
    perm = alignment(cap_a.tokens, cap_b.tokens)
    if perm is None:
        st.info("B is not a reordering of A's tokens, so there is no cell-by-cell difference to show.")
    else:
        diff = cap_a.pattern(layer)[head] - reorder(cap_b.pattern(layer)[head], perm)
        show_figure(
            matrix_figure(diff, cap_a.tokens, cap_a.tokens, title="A − B, with B's rows and columns put in A's word order", diverging=True),
            key="order_diff",
        )
        st.caption(
            f"Largest change: {np.abs(diff).max():.3f}. Were attention blind to order, this map would be all zero: "
            "the same word pairs would get the same weights."
        )

st.header("Positional encoding")
st.slider("Positions shown", 8, 512, key="positions")
n = st.session_state["positions"]
st.latex(r"PE_{(pos,\,2i)} = \sin\!\left(pos / 10000^{2i/d_{model}}\right),\qquad PE_{(pos,\,2i+1)} = \cos\!\left(pos / 10000^{2i/d_{model}}\right)")
sin_col, learned_col = st.columns(2)
with sin_col:
    show_figure(
        matrix_figure(sinusoidal(n, model.d_model), None, None, title=f"Sinusoidal encoding (Transformer paper), {n} × {model.d_model}", diverging=True, x_title="dimension", y_title="position"),
        key="pe_sin",
    )
with learned_col:
    show_figure(
        matrix_figure(learned_positions(model, n), None, None, title=f"{model.name}: learned position embeddings", diverging=True, x_title="dimension", y_title="position"),
        key="pe_learned",
    )
st.markdown("How similar are positions to each other? (cosine similarity of their vectors)")
sim_sin, sim_learned = st.columns(2)
with sim_sin:
    show_figure(matrix_figure(cosine_similarity(sinusoidal(n, model.d_model)), None, None, title="sinusoidal", diverging=True, x_title="position", y_title="position"), key="sim_sin")
with sim_learned:
    show_figure(matrix_figure(cosine_similarity(learned_positions(model, n)), None, None, title="learned", diverging=True, x_title="position", y_title="position"), key="sim_learned")
st.caption("Both give nearby positions similar vectors: the model can tell near from far.")

url_state.save(SHARED + ORDER_PARAMS)
