"""Controls shared by the pages: the sentence, the model and the mask settings."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from attnviz.masks import MaskSpec
from attnviz.text import InputError, clean_text

from . import url_state
from .session import VIEW_HOOKS, captures_for, default_model, get_model, model_choices

EXAMPLE = "The animal didn't cross the street because it was too tired."
EXAMPLE_2 = "The cat sat."
MAX_WINDOW = 64
MAX_CHUNK = 64

SHARED = [
    url_state.text_param("text", EXAMPLE),
    url_state.text_param("text2", ""),
    url_state.text_param("model", default_model()),
    url_state.bool_param("causal"),
    url_state.bool_param("use_window"),
    url_state.int_param("window", 3, 1, MAX_WINDOW),
    url_state.bool_param("use_chunk"),
    url_state.int_param("chunk", 4, 1, MAX_CHUNK),
    url_state.bool_param("hide_special"),
]

INTERVENTION_NOTE = (
    "**Intervention:** this model is a bidirectional encoder trained to see every token. "
    "The {what} mask changes what every layer sees, so these patterns show how the model copes "
    "with a restriction it was never trained with — not how it normally works."
)


@dataclass
class View:
    """What the shared controls decided, and the captures they produced."""

    model_name: str
    model: object
    spec: MaskSpec
    captures: list  # one Capture per sentence (two when comparing padding)
    hide_special: bool

    def keep(self, index: int = 0) -> np.ndarray | None:
        """Token positions to draw: all, or all but [CLS]/[SEP] (padding stays, shown as masked)."""
        if not self.hide_special:
            return None
        capture = self.captures[index]
        pad = getattr(self.model.tokenizer, "pad_token", None)
        hidden = np.array([s and t != pad for s, t in zip(capture.special, capture.tokens)])
        keep = np.flatnonzero(~hidden)
        return keep if keep.size else None

    def head_arrays(self, layer: int, head: int, index: int = 0) -> dict:
        """The arrays behind one head's map, under their capture names, for NPZ export."""
        cap = self.captures[index]
        p = f"blocks.{layer}.attn."
        return {
            p + "hook_pattern": cap[p + "hook_pattern"][head],
            p + "hook_scores": cap[p + "hook_scores"][head],
            p + "hook_mask": cap[p + "hook_mask"],
            "tokens": cap["tokens"],
            "token_ids": cap["token_ids"],
        }

    def layer_arrays(self, layer: int, index: int = 0) -> dict:
        cap = self.captures[index]
        return {name: value for name, value in cap.items() if name.startswith(f"blocks.{layer}.") or name.startswith("token")}

    def all_arrays(self, index: int = 0) -> dict:
        return dict(self.captures[index])


def sidebar_controls() -> None:
    st.sidebar.header("Model")
    choices = model_choices()
    if st.session_state["model"] not in choices:
        choices = [st.session_state["model"], *choices]
    st.sidebar.selectbox("Model", choices, key="model", help="Start the app with `-- --model /path/to/dir` to add a local Hugging Face BERT-family model.")
    st.sidebar.header("Masks")
    st.sidebar.checkbox("Causal (subsequent) mask", key="causal", help="Each query sees only itself and earlier keys.")
    st.sidebar.checkbox("Sliding window", key="use_window")
    st.sidebar.slider(
        "Window size w",
        1,
        MAX_WINDOW,
        key="window",
        disabled=not st.session_state["use_window"],
        help="Query i sees keys j with |i − j| < w: w keys with the causal mask (itself and w−1 before), 2w−1 without.",
    )
    st.sidebar.checkbox("Chunked attention", key="use_chunk")
    st.sidebar.slider(
        "Chunk size c",
        1,
        MAX_CHUNK,
        key="chunk",
        disabled=not st.session_state["use_chunk"],
        help="The sequence is cut into blocks of c tokens; attention stays inside a block.",
    )
    st.sidebar.checkbox(
        "Hide [CLS] / [SEP] in the plots",
        key="hide_special",
        help="Only the drawing changes: the model still attends to them, so shown rows may sum to less than 1.",
    )
    st.sidebar.header("Padding")
    st.sidebar.text_input(
        "Second sentence (padding demo)",
        key="text2",
        help="Both sentences run as one padded batch; the shorter one's [PAD] keys are masked.",
    )


def current_spec() -> MaskSpec:
    state = st.session_state
    return MaskSpec(
        causal=bool(state["causal"]),
        window=int(state["window"]) if state["use_window"] else None,
        chunk=int(state["chunk"]) if state["use_chunk"] else None,
    )


def sentence_input() -> None:
    st.text_input("Sentence", key="text", help="Type any text and press Enter. Long texts are cut to the model's limit.")


def run_view(hooks: tuple[str, ...] | None = VIEW_HOOKS) -> View | None:
    """Clean the text, load the model, capture; every problem becomes a message, never a traceback."""
    state = st.session_state
    texts = []
    for key in ("text", "text2"):
        if key == "text2" and not state[key].strip():
            continue
        try:
            cleaned = clean_text(state[key])
        except InputError as error:
            if key == "text":
                st.info(str(error))
                return None
            st.warning(f"Second sentence ignored: {error}")
            continue
        for notice in cleaned.notices:
            st.warning(notice)
        texts.append(cleaned.text)
    try:
        model = get_model(state["model"])
    except Exception as error:  # a bad model path must not take the page down
        st.error(f"Could not load the model “{state['model']}”: {error}")
        return None
    spec = current_spec()
    if getattr(model, "kind", "") == "decoder":
        if len(texts) > 1:
            st.info("The padding comparison needs a BERT-family model; the second sentence is ignored.")
            texts = texts[:1]
        unknown = model.unknown_characters(texts[0])
        if unknown:
            st.warning(f"{model.name} never saw these characters in training; they are read as <unk>: {' '.join(unknown)}")
        st.info(
            f"{model.name} is a causal language model: every layer already uses the causal mask. "
            f"Its layers' windows are {model.layer_windows(spec.window)} (None = global); the window slider resizes the local layers."
        )
    captures = captures_for(state["model"], tuple(texts), spec, hooks)
    for index, capture in enumerate(captures):
        if capture.truncated:
            which = "The text" if index == 0 else "The second sentence"
            st.warning(
                f"{which} has {capture.full_length:,} tokens; {model.name} reads at most {model.max_tokens}, "
                f"so only the first {model.max_tokens} are shown."
            )
    if spec.is_intervention and getattr(model, "kind", "") == "encoder":
        st.warning(INTERVENTION_NOTE.format(what=spec.describe()), icon="⚠️")
    return View(state["model"], model, spec, captures, bool(state["hide_special"]))
