"""Generation: a decoder writes token by token; each step's new query reads the KV cache, one row longer each time."""

import numpy as np
import streamlit as st

from attnviz.figures import seq2seq as figs
from attnviz.analysis.generation import generate_with_cache
from attnviz.models.base import hook_name
from attnviz.text import InputError, clean_text, escape_markdown
from ui import url_state
from ui.controls import load_page_state, model_menu, save_page_state, show_notices, text_box
from ui.errors import guard
from ui.figures import columns, show_figure
from ui.lang import T
from ui.nav import run_through_navigation
from ui.session import HEAVY, capture_bytes, encoded_shape, heavy_section, is_long, remembered
from ui.offered import get_model, model_choices
from ui.state import fit, fit_indices

run_through_navigation()
st.set_page_config(page_title="attnviz", layout="wide")

PATTERNS = (hook_name("pattern", "*"),)  # what a generation keeps of its prompt: every layer's maps
PARAMS = [
    url_state.text_param("gen_model", "dcformer-tiny"),
    url_state.text_param("gen_text", "The cat sat on the"),
    url_state.int_param("gen_new", 16, 1, 64),
    url_state.int_param("gen_step", 1, 1, 64),
    url_state.int_param("layer", 0, 0, 63),
    url_state.int_param("head", 0, 0, 63),
]
load_page_state(PARAMS)
state = st.session_state
lang = state["lang"]


def pick_decoder() -> str:
    """A decoder from the offered models (a link naming anything else falls back to the first)."""
    choices = model_choices(("decoder",))
    return model_menu("gen_model", T("gen.model"), choices, choices[0])


def generation_view() -> None:
    model = get_model(pick_decoder())
    text_box(T("gen.prompt"), "gen_text")
    st.slider(T("gen.n_new"), 1, 64, key="gen_new")
    try:
        cleaned = clean_text(state["gen_text"])
    except InputError as error:
        st.info(error.message(lang))
        return
    show_notices(cleaned, lang)
    prompt_maps = lambda: capture_bytes(model, (cleaned.text,), PATTERNS)  # noqa: E731 - every layer's prompt maps
    if is_long(model, (cleaned.text,), PATTERNS):  # their maps would pass the whole-map bound (and the cache)
        st.info(T("gen.too_long", n=encoded_shape(model, (cleaned.text,))[1]))
        return
    key = ("generation", model.name, cleaned.text, state["gen_new"])
    HEAVY.hold(prompt_maps)  # a long prompt waits for one of the server's heavy slots
    generation = remembered("generation", key, lambda: generate_with_cache(model, cleaned.text, state["gen_new"]))
    shown = [t for t in generation.tokens if t not in model.special_tokens]  # the text, without <s> and the like
    prompt = "".join(t for t in generation.tokens[: generation.n_prompt] if t not in model.special_tokens)
    new = "".join(shown)[len(prompt) :]
    space = new[: len(new) - len(new.lstrip())]  # Markdown bold may not start with a space: keep it outside
    if new.strip():
        st.markdown(T("gen.output", prompt=escape_markdown(prompt + space), new=escape_markdown(new.strip())))
    else:  # only spaces or special tokens were written: nothing to set in bold
        st.markdown(escape_markdown(prompt + new))

    n_steps = len(generation.steps)
    fit("gen_step", 1, n_steps)
    fit_indices(layer=model.n_layers, head=model.n_heads)
    c_step, c_layer, c_head = st.columns([3, 1, 1])
    if n_steps > 1:
        c_step.slider(T("gen.step"), 1, n_steps, key="gen_step")
    c_layer.selectbox(T("main.layer"), range(model.n_layers), key="layer")
    c_head.selectbox(T("main.head"), range(model.n_heads), key="head")
    k, layer, head = state["gen_step"], state["layer"], state["head"]
    step = generation.steps[k - 1]
    shown = generation.map(layer, head, upto=k)
    tokens = generation.tokens[: shown.shape[0]]
    st.markdown(
        T(
            "gen.step_text",
            k=k,
            token=escape_markdown(step.token),
            position=step.position,
            keys=generation.cache_length(k) - step.key_start[layer],
            start=step.key_start[layer],
            kb=generation.cache_bytes(k) / 1024,
            layers=model.n_layers,
            kv=model.n_kv_heads,
        )
    )
    left, right = columns([3, 2])
    with left:
        show_figure(
            figs.attention_map(
                shown,
                tokens,
                tokens,
                allowed=~np.isnan(shown),
                highlight_row=step.position,
                title=T("gen.map_title", layer=layer, head=head, k=k),
                lang=lang,
            ),
            key="gen_map",
        )
        st.caption(T("gen.map_caption"))
    with right:
        show_figure(
            figs.next_token_bar(step.probs, LabelOf(model), step.token_id, title=T("gen.probs_title", k=k), lang=lang),
            key="gen_probs",
        )


class LabelOf:
    """A model's token labels by id, made only for the ids a chart shows."""

    def __init__(self, model):
        self.model = model

    def __getitem__(self, token_id: int) -> str:
        return self.model.token_label(int(token_id))


st.title(T("gen.title"))
st.markdown(T("gen.intro"))
with guard("error.generation"), heavy_section():
    generation_view()
save_page_state(PARAMS)
