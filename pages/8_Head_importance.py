"""Head importance: switch attention heads off in the model's real forward pass and see what changes — a language
model's next-token losses and predictions, an encoder's sentence embedding, every later head's map — and rank every
head by the effect of ablating it alone (the Streamlit pieces are in ui/importance.py)."""

import streamlit as st

from attnviz.analysis.importance import LanguageModelEffect
from ui.controls import load_page_state, run_view, save_page_state, sentence_input, sidebar_controls
from ui.errors import guard
from ui.figures import columns
from ui.importance import (
    D,
    PARAMS,
    effect_of,
    heads_controls,
    pattern_change,
    ranking,
    summary,
    token_figure,
    top_predictions,
)
from ui.nav import run_through_navigation
from ui.session import heavy_section

run_through_navigation()
st.set_page_config(page_title="attnviz", layout="wide")
load_page_state(PARAMS)
WIDE_TOKENS = 24  # beyond this many tokens, the per-token figure takes the whole width


def importance_view(view, picked) -> None:
    """What the chosen ablation changes, then the ranking of every head."""
    st.subheader(D("effect_header"))
    effect = effect_of(view, picked)
    if effect is None:  # a language model given a single token: said in words
        return
    summary(view, picked, effect)
    lm = isinstance(effect, LanguageModelEffect)
    if lm or len(effect.tokens) > WIDE_TOKENS:  # one token per label: the whole width
        token_figure(effect)
        left, right = columns(2)
        if lm:
            with left:
                top_predictions(view, effect)
        with right if lm else left:
            pattern_change(picked, effect)
    else:  # a short sentence's per-token cosine beside the map of what moved
        left, right = columns(2)
        with left:
            token_figure(effect)
        with right:
            pattern_change(picked, effect)
    st.caption(D("mask_hint"))
    del effect

    st.subheader(D("rank_header"))
    ranking(view, picked)


st.title(D("title"))
st.caption(D("intro"))
sidebar_controls()
sentence_input()
picked = heads_controls()  # None when the model cannot load: run_view says why
with guard("error.capture"), heavy_section():
    view = run_view(hooks=())  # the cleaned text, the model, the mask and their notices; no maps are needed here
    if view is not None and picked is not None:
        importance_view(view, picked)
    del view

save_page_state(PARAMS)
