"""The Head importance page's Streamlit pieces (pages/8_Head_importance.py lays them out): the heads to ablate and
how, in the URL; the effect of that ablation, computed live; and the ranking of every head, whose map adds a head
to the ablated set when clicked. Every result is remembered (ui.session.remembered), keyed by everything it
depends on, so moving another widget never runs a forward again."""

from __future__ import annotations

import functools
import math
import re
from typing import NamedTuple

import numpy as np
import pandas as pd
import streamlit as st

from attnviz.analysis.importance import (
    HOW,
    LanguageModelEffect,
    ablation_effect,
    n_forwards_estimate,
    rank_heads,
    ranking_is_slow,
)
from attnviz.figures import importance as figs
from attnviz.text import code_span, visible_token

from . import url_state
from .figures import columns, show_figure
from .lang import T, ensure_language, texts_of
from .session import remembered
from .offered import get_model
from .state import fit, one_of

D = texts_of("importance")  # D("title") is T("importance.title")

MAX_LINK_HEADS = 4_000  # characters of the URL's head list read at all; a longer value is ignored whole
MAX_HEAD_ITEMS = 1_024  # entries of it looked at (every head of a 32 x 32 model)
HEAD_ITEM = re.compile(r"([0-9]{1,4})\.([0-9]{1,4})")  # ASCII digits only (\\d takes ٣ too)
PICK = "ablate_heads"  # the multiselect's key; the URL's compact text lives in "ablate"
# How far the later maps moved needs two runs' (heads, seq, seq) maps of every later layer: MiniLM at 512 tokens
# ~130 MB for a moment, a character model at 8,192 characters gigabytes. Beyond this many tokens it is not computed.
MAP_TOKENS = 512
# Once asked for, the ranking follows the sentence, mask and ablation by itself while a ranking stays quick (a
# model under SLOW_ABLATIONS heads, a text up to this many tokens: MiniLM 72 heads at 128 tokens ~1 s); beyond,
# each new ranking waits for a click.
FOLLOW_TOKENS = 128


def _head_list(raw: str) -> str:
    if len(raw) > MAX_LINK_HEADS:
        raise ValueError("too long")
    return raw


PARAMS = [url_state.Param("ablate", "", _head_list), url_state.text_param("ablate_how", "zero")]


class Picked(NamedTuple):
    heads: tuple[tuple[int, int], ...]
    how: str


# ------------------------------------------------------------------------------------------------ heads <-> text
def head_label(layer: int, head: int) -> str:
    return f"L{layer} H{head}"


def parse_heads(text: str, n_layers: int, n_heads: int) -> tuple[list[tuple[int, int]], int]:
    """("0.3,2.5", 6, 12) -> ([(0, 3), (2, 5)], 0): the in-range heads of a URL's list, sorted without repeats, and
    how many entries were left out (not "layer.head" in plain digits, or outside this model)."""
    items = [item.strip() for item in str(text).split(",")[:MAX_HEAD_ITEMS] if item.strip()]
    heads, rejected = set(), 0
    for item in items:
        match = HEAD_ITEM.fullmatch(item)
        layer, head = (int(match[1]), int(match[2])) if match else (-1, -1)
        if 0 <= layer < n_layers and 0 <= head < n_heads:
            heads.add((layer, head))
        else:
            rejected += 1
    return sorted(heads), rejected


def format_heads(heads) -> str:
    return ",".join(f"{layer}.{head}" for layer, head in sorted(set(heads)))


def _labels_to_heads(labels) -> list[tuple[int, int]]:
    pairs = (re.fullmatch(r"L(\d+) H(\d+)", label) for label in labels)
    return [(int(m[1]), int(m[2])) for m in pairs if m]


def _picked_to_text() -> None:
    """The multiselect changed: its labels become the URL's compact text."""
    st.session_state["ablate"] = format_heads(_labels_to_heads(st.session_state.get(PICK, [])))


def add_clicked_head(key: str) -> None:
    """A click on the ranking's map: the cell's (layer, head) joins the ablated heads (range-checked on the next run)."""
    try:
        points = st.session_state[key]["selection"]["points"]
        layer, head = (int(value) for value in points[0]["customdata"][:2])
    except (IndexError, KeyError, TypeError, ValueError):
        return
    current = st.session_state.get("ablate", "")
    st.session_state["ablate"] = f"{current},{layer}.{head}" if current else f"{layer}.{head}"


def heads_controls() -> Picked | None:
    """The multiselect of heads and the zero / mean radio, for the sidebar's model (None when it cannot load: the
    page's run_view says why). Heads this model lacks (a link, another model's choice) are dropped with a note."""
    state = st.session_state
    one_of("ablate_how", HOW, "zero")
    try:
        model = get_model(state["model"])
    except Exception:  # noqa: BLE001 - run_view tells the user in words
        return None
    heads, rejected = parse_heads(state["ablate"], model.n_layers, model.n_heads)
    state["ablate"] = format_heads(heads)
    state[PICK] = [head_label(*pair) for pair in heads]
    left, right = st.columns([3, 1])
    left.multiselect(
        D("heads"),
        [head_label(l, h) for l in range(model.n_layers) for h in range(model.n_heads)],
        key=PICK,
        on_change=_picked_to_text,
        help=D("heads_help"),
        placeholder=D("heads_placeholder"),
    )
    names = {how: D(f"how_{how}") for how in HOW}  # translated now: a format_func never reads the session later
    right.radio(D("how"), HOW, key="ablate_how", horizontal=True, format_func=names.get)
    if rejected:
        left.info(
            D(
                "dropped",
                n=rejected,
                layers=model.n_layers,
                heads=model.n_heads,
                last_layer=model.n_layers - 1,
                last_head=model.n_heads - 1,
            )
        )
    st.caption(D("how_caption"))
    return Picked(tuple(heads), state["ablate_how"])


# ------------------------------------------------------------------------------------------------ one ablation
def effect_of(view, picked: Picked):
    """The remembered effect of ablating ``picked`` on the view's sentence under its mask; None (with a message)
    when a language model got a single token."""
    key = ("importance", view.model_name, view.texts[0], view.spec, picked.heads, picked.how)
    try:
        maps = len(view.captures[0].tokens) <= MAP_TOKENS
        return remembered(
            "importance",
            key,
            lambda: ablation_effect(
                view.model, view.texts[0], view.spec, list(picked.heads), picked.how, pattern_changes=maps
            ),
        )
    except ValueError:
        if view.model.kind == "decoder" and len(view.model.encode([view.texts[0]]).tokens[0]) < 2:
            st.info(D("too_short"))
            return None
        raise


COSINE_NOISE = figs.COSINE_NOISE  # rounding, not a change (one rule for the metric and the chart)


def cosine_text(cosine: float) -> str:
    """A cosine with enough digits that one really below 1 never reads as 1, and rounding noise reads as 1."""
    gap = 1.0 - cosine
    digits = 4 if gap < COSINE_NOISE or gap >= 1e-4 else math.ceil(-math.log10(gap)) + 2
    return f"{cosine:.{digits}f}"


def summary(view, picked: Picked, effect) -> None:
    """The metrics: a language model's mean loss before and after, an encoder's sentence-embedding cosine."""
    lang = ensure_language()
    names = ", ".join(head_label(*pair) for pair in picked.heads) or D("no_heads")
    st.caption(D("effect_heads", how=D(f"how_{picked.how}"), heads=names, mask=view.spec.describe(lang)))
    if not picked.heads:
        st.info(D("nothing"))
    first, second, third = st.columns(3)
    if isinstance(effect, LanguageModelEffect):
        before, after = effect.mean_loss_clean, effect.mean_loss_ablated
        first.metric(D("loss_before"), f"{before:.3f}", help=D("loss_help"))
        second.metric(
            D("loss_after"), f"{after:.3f}", delta=f"{after - before:+.3f}", delta_color="inverse", help=D("loss_help")
        )
    else:
        moved = 1.0 - effect.cosine >= COSINE_NOISE
        first.metric(
            D("cosine"),
            cosine_text(effect.cosine),
            delta=f"{effect.cosine - 1:+.2g}" if moved else None,
            help=D("cosine_help"),
        )
        second.metric(D("lowest_token"), cosine_text(float(np.min(effect.token_cosine))))
    third.metric(D("n_ablated"), len(picked.heads))


def token_figure(effect) -> None:
    """Loss per next-token prediction (language models) or each token's cosine (encoders)."""
    lang = ensure_language()
    if isinstance(effect, LanguageModelEffect):
        fig = figs.loss_per_token(
            effect.loss_clean, effect.loss_ablated, effect.tokens, title=D("loss_title"), lang=lang
        )
        arrays = {"loss_clean": effect.loss_clean, "loss_ablated": effect.loss_ablated}
    else:
        fig = figs.token_cosine(effect.token_cosine, effect.tokens, title=D("cosine_title"), lang=lang)
        arrays = {"token_cosine": effect.token_cosine}
    show_figure(fig, key="importance_tokens", arrays={**arrays, "tokens": np.array(effect.tokens, dtype=str)})


def pattern_change(picked: Picked, effect) -> None:
    """The layer x head map of how far every head's attention weights moved."""
    lang = ensure_language()
    if len(effect.tokens) > MAP_TOKENS:
        st.info(D("change_skipped", n=len(effect.tokens), limit=MAP_TOKENS))
        return
    mean, top = effect.pattern_change_mean, effect.pattern_change_max
    show_figure(
        figs.layer_head_map(
            mean,
            title=D("change_title"),
            value_name=D("mean_change"),
            extra=top,
            extra_name=D("max_change"),
            marked=picked.heads,
            lang=lang,
        ),
        key="importance_change",
        arrays={"pattern_change_mean": mean, "pattern_change_max": top},
    )
    if float(top.max(initial=0.0)) > 0:
        layer, head = np.unravel_index(int(np.argmax(top)), top.shape)
        st.caption(D("change_caption", max=float(top.max()), head=head_label(int(layer), int(head))))
    else:
        st.caption(D("change_none"))


def top_predictions(view, effect: LanguageModelEffect) -> None:
    """The top-5 next tokens before and after at a chosen position, and the text's real next token."""
    state, tokens = st.session_state, effect.tokens
    n = len(effect.positions)
    if "imp_position" not in state:  # first look: where the ablation moved the loss most
        state["imp_position"] = int(np.argmax(np.abs(effect.loss_ablated - effect.loss_clean))) if n > 1 else 0
    fit("imp_position", 0, n - 1)
    st.slider(
        D("position"), 0, n - 1, key="imp_position", help=D("position_help"), **url_state.PERSIST
    )  # kept while hidden
    pos = state["imp_position"]
    special = view.model.special_tokens
    context = "".join(t for t in tokens[: pos + 1] if t not in special)[-40:] or tokens[pos]
    st.markdown(D("topk_header", context=code_span(("…" if pos > 40 else "") + context)))
    row = int(np.flatnonzero(effect.positions == pos)[0])
    clean, ablated = effect.top_clean, effect.top_ablated
    table = pd.DataFrame(
        {
            "before": [visible_token(t) for t in clean.tokens[row]],
            "p_before": clean.probs[row].astype(float),
            "after": [visible_token(t) for t in ablated.tokens[row]],
            "p_after": ablated.probs[row].astype(float),
        },
        index=pd.RangeIndex(1, clean.ids.shape[1] + 1),
    )  # the index is the rank: 1 = most likely
    probability = functools.partial(
        st.column_config.ProgressColumn, format="%.3f", min_value=0.0, max_value=1.0, width="small"
    )
    st.container(key="importance_topk").dataframe(
        table,
        column_config={
            "_index": st.column_config.NumberColumn(D("rank_col"), width=40),
            "before": st.column_config.TextColumn(D("before_token"), width="small"),
            "p_before": probability(D("before_p")),
            "after": st.column_config.TextColumn(D("after_token"), width="small"),
            "p_after": probability(D("after_p")),
        },
    )
    if pos < len(effect.loss_clean):
        st.caption(
            D(
                "true_next",
                token=code_span(visible_token(tokens[pos + 1])),
                before=math.exp(-float(effect.loss_clean[pos])),
                after=math.exp(-float(effect.loss_ablated[pos])),
            )
        )
    else:
        st.caption(D("last_position"))


# ------------------------------------------------------------------------------------------------ the ranking
def ranking(view, picked: Picked) -> None:
    """The button, the estimate, then (once asked) the ranking of every head: its map (a click adds a head) and
    its table. Once asked, it follows the sentence, mask and ablation while that stays quick (FOLLOW_TOKENS); a
    slow model (more than attnviz.analysis.importance.SLOW_ABLATIONS heads) or a long text waits for a click."""
    state, model, lang = st.session_state, view.model, ensure_language()
    key = ("importance_rank", view.model_name, view.texts[0], view.spec, picked.how)
    heads, slow = model.n_layers * model.n_heads, ranking_is_slow(model)
    st.caption(D("rank_estimate", heads=heads, how=D(f"how_{picked.how}"), forwards=n_forwards_estimate(model)))
    if slow:
        st.warning(D("rank_slow", heads=heads, forwards=n_forwards_estimate(model)))
    if st.button(D("rank_button"), key="rank_button", icon=":material/leaderboard:"):
        state["imp_rank_for"] = key
    asked = state.get("imp_rank_for")
    if asked is None:
        return
    if asked != key and (slow or len(view.captures[0].tokens) > FOLLOW_TOKENS):
        st.info(D("rank_again"))
        return
    slot = st.empty()

    def compute():
        bar = slot.progress(0.0, text=D("progress", done=0, total=heads))

        def progress(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=D("progress", done=done, total=total))

        return rank_heads(model, view.texts[0], view.spec, picked.how, progress=progress)

    table = remembered("importance_rank", key, compute, lane="analysis")  # many forwards: one ranking at a time
    lm = model.kind == "decoder"
    effects = np.zeros((model.n_layers, model.n_heads))
    effects[table["layer"].to_numpy(), table["head"].to_numpy()] = table["effect"].to_numpy()
    attrs = table.attrs
    st.caption(
        D(
            "rank_done",
            ablations=attrs["ablations"],
            forwards=attrs["forwards"],
            batch=attrs["batch_size"],
            seconds=attrs["seconds"],
            metric=D("metric_lm" if lm else "metric_encoder"),
        )
    )
    left, right = columns([3, 2])
    with left:
        show_figure(
            figs.layer_head_map(
                effects,
                title=D("effect_title"),
                value_name=D("effect_value"),
                marked=picked.heads,
                signed=lm and bool((effects < 0).any()),
                clickable=True,
                lang=lang,
            ),
            key="importance_effect_map",
            arrays={"effect": effects},
            on_select=functools.partial(add_clicked_head, "importance_effect_map"),
            selection_mode="points",
        )
        st.caption(D("effect_caption"))
    with right.container(key="importance_rank_table"):
        score = "loss" if lm else "cosine"
        st.dataframe(
            table[["layer", "head", "effect", score]],
            hide_index=True,
            column_config={
                "layer": st.column_config.NumberColumn(T("stat.layer")),
                "head": st.column_config.NumberColumn(T("stat.head")),
                "effect": st.column_config.NumberColumn(D("col_effect"), format="%.5f"),
                score: st.column_config.NumberColumn(D(f"col_{score}"), format="%.5f"),
            },
        )
