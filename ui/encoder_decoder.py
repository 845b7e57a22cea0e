"""The Encoder-decoder page's inputs and pieces (pages/5_Encoder_decoder.py lays them out)."""

from __future__ import annotations

import streamlit as st

from attnviz import decoding, tasks
from attnviz.figures import seq2seq as figs
from attnviz.models.base import hook_name
from attnviz.text import InputError, clean_text, escape_markdown

from .controls import show_notices, text_box
from .figures import show_figure
from .lang import T, ensure_language
from .session import remembered


def decoding_for(model, text: str) -> decoding.Decoding:
    """The encoder and the whole greedy loop (at most the model's ``max_new_tokens`` steps): this session's last
    one, else the server's shared cache."""
    return remembered("decoding", ("decoding", model.name, text), lambda: decoding.greedy_decode(model, text))


def model_sidebar(model) -> None:
    """The model's sizes, how it was trained, and (the date model) the formats it reads."""
    info = model.train_log
    with st.sidebar:
        st.header(T("ed.sidebar_header"))
        params = sum(p.numel() for p in model.parameters())
        st.markdown(
            T(
                "ed.sidebar_model",
                enc=model.n_layers,
                dec=model.n_decoder_layers,
                heads=model.n_heads,
                d=model.d_model,
                params=f"{params:,}",
                vocab=len(model.itos),
            )
        )
        if info:
            st.markdown(
                T(
                    "ed.sidebar_training",
                    command=info.get("command", "scripts/train_seq2seq.py"),
                    seed=info.get("seed"),
                    minutes=info.get("train_seconds", 0) / 60,
                    n=info.get("heldout_size"),
                    accuracy=info.get("heldout_exact_match", 0),
                )
            )
        if model.task == "dates":
            st.markdown(T("ed.sidebar_formats") + "\n" + "\n".join(f"- {f}" for f in tasks.FORMATS))


def read_date(model) -> str | None:
    """The date box, checked as the date model reads it (its characters, its length); None with a message."""
    source_col, example_col = st.columns([3, 2])
    text_box(T("ed.input"), "ed_date", where=source_col, help=T("ed.input_help", n=model.cfg.max_source_len))
    example_col.selectbox(
        T("ed.examples"),
        list(tasks.FORMATS),
        index=None,
        key="ed_example",
        placeholder=T("ed.examples_placeholder"),
        on_change=pick_example,
    )
    try:
        cleaned = clean_text(st.session_state["ed_date"])
    except InputError:  # empty, or nothing but control / invisible characters: check_input says "empty" for dates
        cleaned = None
    else:
        show_notices(cleaned, ensure_language())
    try:
        text = tasks.check_input(None if cleaned is None else cleaned.text, model.vocab, model.cfg.max_source_len)
    except InputError as error:
        # the message may quote the user's characters (already cleaned): inert Markdown
        st.info(T(error.key, **{k: escape_markdown(v) if isinstance(v, str) else v for k, v in error.values.items()}))
        return None
    if text != st.session_state["ed_date"]:
        st.caption(T("ed.read_as", text=escape_markdown(text)))
    return text


def read_text(model) -> str | None:
    """Any text for an offered model, cleaned; cut to what its encoder reads, with the usual notice."""
    text_box(T("ed.input_any"), "ed_text")
    try:
        cleaned = clean_text(st.session_state["ed_text"])
    except InputError as error:
        st.info(error.message(ensure_language()))
        return None
    show_notices(cleaned, ensure_language())
    encoding = model.encode([cleaned.text])
    if encoding.truncated[0]:
        st.warning(
            T(
                "msg.truncated_first",
                n=encoding.full_lengths[0],
                model=escape_markdown(model.name),
                limit=model.max_tokens,
            )
        )
    return cleaned.text


def pick_example() -> None:
    """A chosen example becomes the date box's text, from step 1; the menu goes back to its placeholder."""
    state = st.session_state
    if state.get("ed_example"):
        state["ed_date"] = state["ed_example"]
        state["ed_step"] = 1
    state["ed_example"] = None


def move_step(delta: int | None, last: int) -> None:
    """delta None = go to the last step; 0 = back to the first."""
    if delta is None:
        st.session_state["ed_step"] = last
    elif delta == 0:
        st.session_state["ed_step"] = 1
    else:
        st.session_state["ed_step"] = min(max(1, st.session_state["ed_step"] + delta), last)


def chips(tokens: list[str]) -> str:
    return " ".join(f"`{figs.show_chars([tok])[0]}`" for tok in tokens)


def step_buttons(n_steps: int) -> None:
    """First / back / next / last, and a slider over the steps."""
    b_first, b_prev, b_next, b_last, slider_col = st.columns([1, 1, 1, 1, 3], vertical_alignment="center")
    at_start, at_end = st.session_state["ed_step"] == 1, st.session_state["ed_step"] == n_steps
    for column, label, icon, key, delta, disabled in (
        (b_first, "ed.start", "first_page", "ed_first", 0, at_start),
        (b_prev, "ed.back", "chevron_left", "ed_prev", -1, at_start),
        (b_next, "ed.next", "chevron_right", "ed_next", 1, at_end),
        (b_last, "ed.end", "last_page", "ed_last", None, at_end),
    ):
        column.button(
            T(label),
            icon=f":material/{icon}:",
            key=key,
            on_click=move_step,
            args=(delta, n_steps),
            disabled=disabled,
            width="stretch",
        )
    if n_steps > 1:
        slider_col.slider(T("ed.step"), 1, n_steps, key="ed_step", label_visibility="collapsed")


def decoder_map(step, part: str, layer: int, head: int, key_tokens: list[str], title: str, key: str) -> None:
    """One step's decoder attention (self or cross) for the chosen layer and head, its new row framed."""
    prefix = hook_name("pattern", layer, part).removesuffix("hook_pattern")
    k = len(step.input_tokens)
    show_figure(
        figs.attention_map(
            step.capture[hook_name("pattern", layer, part)][head],
            step.input_tokens,
            key_tokens,
            scores=step.capture[hook_name("scores", layer, part)][head],
            allowed=step.capture[hook_name("mask", layer, part)],
            title=title,
            highlight_row=k - 1,
            height=max(240, 150 + 36 * k),  # about one height per row: the maps grow by a row per step
            lang=ensure_language(),
        ),
        key=key,
        arrays={name: v for name, v in step.capture.items() if name.startswith(prefix)},
    )
