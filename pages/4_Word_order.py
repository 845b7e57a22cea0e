"""Word order and positions: the sinusoidal formula, the model's learned positions, and swapped words."""

import numpy as np
import streamlit as st

from attnviz.analysis.positions import learned_positions, order_difference
from attnviz.figures.capture_views import positional_encodings, word_order
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name
from attnviz.text import InputError, clean_text, escape_markdown
from ui import url_state
from ui.controls import load_page_state, save_page_state, show_notices, sidebar_controls, text_box
from ui.errors import guard
from ui.figures import columns, show_figure
from ui.lang import T
from ui.session import captures_for, encoded_shape, heavy_section, is_long
from ui.offered import get_model
from ui.nav import run_through_navigation
from ui.state import fit_indices


run_through_navigation()
st.set_page_config(page_title="attnviz", layout="wide")

ORDER_PARAMS = [
    url_state.text_param("order_a", "the dog chases the cat"),
    url_state.text_param("order_b", "the cat chases the dog"),
    url_state.int_param("layer", 0, 0, 63),
    url_state.int_param("head", 0, 0, 63),
    url_state.int_param("positions", 64, 8, 512),
]
load_page_state(ORDER_PARAMS)

lang = st.session_state["lang"]


def box_text(column, key: str) -> str | None:
    """The box's text cleaned, with its notices (or why it cannot be used) under the box; None if unusable."""
    with column:
        try:
            cleaned = clean_text(st.session_state[key])
        except InputError as error:
            st.info(error.message(lang))
            return None
        show_notices(cleaned, lang)
        return cleaned.text


def order_view(model, boxes, text_a: str, text_b: str, layer: int, head: int) -> None:
    """The same words in two orders: both maps, and their difference in A's word order (``boxes``: their columns).

    Only the chosen layer's maps are captured, through the server's shared, byte-bounded cache and its heavy
    slots like every page; a text whose maps would pass the whole-map bound is refused with a message (a long
    text's two maps and their difference would not be read cell by cell anyway)."""
    hooks = (hook_name("pattern", layer),)
    too_long = [name for name, text in (("A", text_a), ("B", text_b)) if is_long(model, (text,), hooks)]
    if too_long:
        st.info(
            T(
                "order.too_long",
                which=" & ".join(too_long),
                n=max(encoded_shape(model, (t,))[1] for t in (text_a, text_b)),
            )
        )
        return
    with heavy_section():
        name = st.session_state["model"]  # the offered name (a folder's model.name is only its last part)
        (cap_a,) = captures_for(name, (text_a,), MaskSpec(), hooks, slot="order_a")
        (cap_b,) = captures_for(name, (text_b,), MaskSpec(), hooks, slot="order_b")
    for column, cap in zip(boxes, (cap_a, cap_b)):
        if cap.truncated:
            column.warning(
                T("msg.truncated_first", n=cap.full_length, model=escape_markdown(model.name), limit=model.max_tokens)
            )
    if "[UNK]" in cap_a.tokens + cap_b.tokens:
        st.warning(T("order.unk", model=escape_markdown(model.name)))
    figures = word_order(cap_a, cap_b, layer, head, lang=lang)  # the same figures as the Presenter's order slides
    for column, figure, key in zip(columns(2), figures, ("order_a_map", "order_b_map")):
        with column:
            show_figure(figure, key=key)
    diff = order_difference(cap_a.pattern(layer)[head], cap_b.pattern(layer)[head], cap_a.tokens, cap_b.tokens)
    if diff is None:
        st.info(T("order.not_reordering"))
    else:
        show_figure(figures[2], key="order_diff")
        st.caption(T("order.diff_caption", value=float(np.abs(diff).max())))


def positions_view(model) -> None:
    """The sinusoidal formula beside the model's own positions: its learned vectors, or RoPE's rotations."""
    st.header(T("order.pe_header"))
    st.slider(T("order.positions"), 8, 512, key="positions")
    n = st.session_state["positions"]
    st.latex(
        r"PE_{(pos,\,2i)} = \sin\!\left(pos / 10000^{2i/d_{model}}\right),\qquad PE_{(pos,\,2i+1)} = \cos\!\left(pos / 10000^{2i/d_{model}}\right)"
    )
    learned = learned_positions(model, n)
    if learned is None and model.rope_base is None:
        st.info(T("order.no_positions", model=escape_markdown(model.name)))
        return
    rope = (model.rope_base, model.d_head) if learned is None else None
    figures = positional_encodings(n, model.d_model, model_name=model.name, learned=learned, rope=rope, lang=lang)
    sin_col, own_col = columns(2)
    with sin_col:
        show_figure(figures["sin"], key="pe_sin")
    with own_col:
        show_figure(figures["own"], key="pe_learned" if learned is not None else "pe_rope")
    if learned is None:
        st.markdown(T("order.rope_text"))
        st.latex(
            r"\begin{pmatrix} q'_j \\ q'_{j+d/2} \end{pmatrix} = \begin{pmatrix} \cos m\theta_j & -\sin m\theta_j \\ \sin m\theta_j & \cos m\theta_j \end{pmatrix} \begin{pmatrix} q_j \\ q_{j+d/2} \end{pmatrix},\qquad \theta_j = \text{base}^{-2j/d}"
        )
    st.markdown(T("order.similarity"))
    sim_sin, sim_own = columns(2)
    with sim_sin:
        show_figure(figures["sim_sin"], key="sim_sin")
    with sim_own:
        show_figure(figures["sim_own"], key="sim_learned")
    st.caption(T("order.sim_caption" if learned is not None else "order.sim_rope_caption"))


st.title(T("order.title"))
sidebar_controls()
model = None
with guard("error.model"):
    model = get_model(st.session_state["model"])
if model is not None:
    st.header(T("order.blind_header"))
    st.markdown(T("order.blind_text"))
    col_a, col_b = st.columns(2)
    text_box(T("order.a"), "order_a", where=col_a)
    text_box(T("order.b"), "order_b", where=col_b)
    pick_l, pick_h = st.columns(2)
    fit_indices(layer=model.n_layers, head=model.n_heads)
    pick_l.slider(T("main.layer"), 0, model.n_layers - 1, key="layer")
    pick_h.slider(T("main.head"), 0, model.n_heads - 1, key="head")
    text_a, text_b = box_text(col_a, "order_a"), box_text(col_b, "order_b")
    if text_a is not None and text_b is not None:
        with guard("error.order"):
            order_view(model, (col_a, col_b), text_a, text_b, st.session_state["layer"], st.session_state["head"])
    with guard("error.positions"):
        positions_view(model)

save_page_state(ORDER_PARAMS)
