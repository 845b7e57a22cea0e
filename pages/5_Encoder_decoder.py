"""Encoder-decoder attention, one decoding step at a time: the shipped date model, or an offered T5 / BART folder."""

import numpy as np
import pandas as pd
import streamlit as st

from attnviz import tasks
from attnviz.analysis.seq2seq import date_verdict, loop_rows, sharpest_cross_head
from attnviz.figures import seq2seq as figs
from attnviz.models import DATE_MODEL
from attnviz.models.base import hook_name
from attnviz.models.base import CheckpointError
from attnviz.text import code_span
from ui import url_state
from ui.controls import load_page_state, model_menu, save_page_state
from ui.encoder_decoder import chips, decoder_map, decoding_for, model_sidebar, read_date, read_text, step_buttons
from ui.errors import guard
from ui.figures import columns, show_figure
from ui.lang import T, error_text
from ui.nav import run_through_navigation
from ui.offered import get_model, model_choices
from ui.state import fit, fit_indices

run_through_navigation()
st.set_page_config(page_title="attnviz", layout="wide")

DEFAULT_DATE = "25 November 2026"
DEFAULT_TEXT = "translate English to German: The house is wonderful."  # what a T5 checkpoint was trained to do
PARAMS = [
    url_state.text_param("ed_model", DATE_MODEL),
    url_state.text_param("ed_date", DEFAULT_DATE),
    url_state.text_param("ed_text", DEFAULT_TEXT),
    url_state.int_param("ed_layer", 0, 0, 63),
    url_state.int_param("ed_head", 0, 0, 63),
    url_state.int_param("ed_step", 1, 1, 64),
]
load_page_state(PARAMS)  # language, the URL's state, and the shared settings of the other pages
state = st.session_state
lang = state["lang"]


def pick_model() -> str:
    """The date model and any offered encoder-decoder folder (never a name from a link that is not on that list)."""
    return model_menu("ed_model", T("ed.model"), model_choices(("encoder-decoder",)), DATE_MODEL)


def date_page() -> None:
    """The source box, the model's answer, the encoder's maps and the decoding loop, step by step."""
    st.title(T("ed.title"))
    st.markdown(T("ed.intro"))

    name = pick_model()
    try:
        model = get_model(name)
    except (CheckpointError, OSError, ValueError) as error:
        st.error(T("ed.load_failed", error=error_text(error)))
        return
    is_date_model = model.task == "dates"
    model_sidebar(model)

    text = read_date(model) if is_date_model else read_text(model)
    if text is None:
        return
    decoding = decoding_for(model, text)
    answer = decoding.text
    verdict = ""
    if is_date_model:
        key, values = date_verdict(text, answer)
        verdict = T(key, **values)
    if not decoding.finished:
        verdict += T("ed.unfinished", n=len(decoding.steps))
    st.markdown("#### " + T("ed.output_text", answer=code_span(answer) if answer else T("ed.nothing"), verdict=verdict))

    n_steps = len(decoding.steps)
    n_layers = min(model.n_layers, model.n_decoder_layers)
    fit_indices(ed_layer=n_layers, ed_head=model.n_heads)
    fit("ed_step", 1, n_steps)
    pick_layer, pick_head = st.columns(2)
    pick_layer.slider(T("ed.layer"), 0, max(n_layers - 1, 1), key="ed_layer", disabled=n_layers == 1)
    pick_head.slider(T("ed.head"), 0, model.n_heads - 1, key="ed_head")
    layer, head = state["ed_layer"], state["ed_head"]
    src = decoding.source_tokens

    best_layer, best_head, share = sharpest_cross_head(decoding, model.n_decoder_layers, model.n_heads)
    hint_col, jump_col = st.columns([4, 1], vertical_alignment="center")
    hint_col.caption(T("ed.sharpest", layer=best_layer, head=best_head, share=share))
    jump_col.button(
        T("ed.show_head"),
        key="ed_sharpest",
        on_click=lambda: state.update(ed_layer=best_layer, ed_head=best_head),
        disabled=(layer, head) == (best_layer, best_head),
        width="stretch",
    )

    # ----------------------------------------------------------------------------- ① encoder
    st.header(T("ed.encoder_header"))
    enc = hook_name("pattern", layer, "encoder").removesuffix("hook_pattern")  # this layer's encoder attention
    enc_map, enc_text = columns([3, 2])
    with enc_map:
        show_figure(
            figs.attention_map(
                decoding.encoder[hook_name("pattern", layer, "encoder")][head],
                src,
                src,
                scores=decoding.encoder[hook_name("scores", layer, "encoder")][head],
                allowed=decoding.encoder[hook_name("mask", layer, "encoder")],
                title=T("ed.encoder_title", layer=layer, head=head),
                lang=lang,
            ),
            key="ed_encoder",
            arrays={k: v for k, v in decoding.encoder.items() if k.startswith(enc)},
        )
    with enc_text:
        st.markdown(T("ed.encoder_text", n=len(src), d=model.d_model))

    # ----------------------------------------------------------------------------- ② the loop
    st.header(T("ed.decoder_header"))
    step_buttons(n_steps)
    k = state["ed_step"]
    step = decoding.steps[k - 1]
    row = k - 1  # the new query row at this step
    st.markdown(
        T(
            "ed.step_text",
            k=k,
            n=n_steps,
            inputs=chips(step.input_tokens),
            output=chips([step.output_token]),
            p=float(step.probs[step.output_id]),
        )
        + T("ed.step_end" if step.output_id == tasks.EOS else "ed.step_more")
    )

    dec_tokens = step.input_tokens
    self_p, cross_p = "decoder_self", "decoder_cross"
    self_col, cross_col = columns([2, 3])
    with self_col:
        decoder_map(step, self_p, layer, head, dec_tokens, T("ed.self_title", layer=layer, head=head, k=k), "ed_self")
        st.caption(T("ed.self_caption"))
    with cross_col:
        decoder_map(step, cross_p, layer, head, src, T("ed.cross_title", layer=layer, head=head, k=k), "ed_cross")
        weights = step.capture[hook_name("pattern", layer, cross_p)][head][row]
        top = ", ".join(f"{chips([src[j]])} #{j} ({weights[j]:.2f})" for j in np.argsort(-weights)[:3])
        st.caption(
            T("ed.cross_caption", query=chips([dec_tokens[-1]]), row=row, output=chips([step.output_token]), top=top)
        )

    prob_col, heads_col = columns([2, 3])
    with prob_col:
        show_figure(
            figs.next_token_bar(step.probs, model.itos, step.output_id, title=T("ed.probs_title", k=k), lang=lang),
            key="ed_probs",
            arrays={"probs": step.probs, "token_ids": np.arange(len(step.probs))},
        )
    with heads_col:
        show_figure(
            figs.heads_row(
                step.capture[hook_name("pattern", layer, cross_p)],
                dec_tokens,
                src,
                allowed=step.capture[hook_name("mask", layer, cross_p)],
                highlight_row=row,
                selected_head=head,
                title=T("ed.heads_title", layer=layer, k=k),
                height=max(220, 110 + 24 * k),
                lang=lang,
            ),
            key="ed_cross_heads",
        )

    st.subheader(T("ed.loop_header"))
    rows = [
        {
            "": "▶" if row.step == k else "",
            T("ed.col_step"): row.step,
            T("ed.col_reads"): row.reads,
            T("ed.col_writes"): row.writes,
            T("ed.col_prob"): round(row.probability, 4),
            T(
                "ed.col_source", layer=layer, head=head
            ): f"{figs.show_chars([src[row.source]])[0]} #{row.source} ({row.weight:.2f})",
        }
        for row in loop_rows(decoding, layer, head)
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3)
    st.caption(T("ed.loop_caption", n=n_steps))


with guard("error.decode"):  # a failure is a message; the inputs drawn so far stay on screen
    date_page()

save_page_state(PARAMS)
