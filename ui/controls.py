"""Controls shared by the pages: the sentence, the model and the mask settings."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import numpy as np
import streamlit as st

from attnviz.capture import all_but_maps, documents_spec
from attnviz.masks import MaskSpec, kept_positions
from attnviz.models.base import Notice, hook_name
from attnviz.i18n import translate
from attnviz.text import MAX_CHARS, MAX_SEPARATOR_CHARS, CleanText, InputError, clean_text, escape_markdown

from . import url_state
from .lang import T, ensure_language, error_text, language_switch
from .long_maps import BLOCKS_ABOVE
from .uploads import paragraphs_of
from .session import VIEW_HOOKS, captures_for, encoded_shape, is_long, scores_hooks, view_hooks
from .offered import canonical_model, default_model, get_model, model_choices

log = logging.getLogger("attnviz")

EXAMPLE = "The animal didn't cross the street because it was too tired."
MAX_WINDOW = 64
MAX_CHUNK = 64
MAX_PREFIX = 64
MAX_SINKS = 16
MAX_DILATION = 8
SOFTCAPS = (1, 2, 5, 10, 20, 30, 50)  # the caps offered (Gemma 2 caps attention scores at 50)

SHARED = [
    url_state.text_param("text", EXAMPLE),
    url_state.text_param("text2", ""),
    url_state.text_param("model", default_model()),
    url_state.bool_param("causal"),
    url_state.bool_param("use_window"),
    url_state.int_param("window", 3, 1, MAX_WINDOW),
    url_state.bool_param("use_chunk"),
    url_state.int_param("chunk", 4, 1, MAX_CHUNK),
    url_state.bool_param("use_prefix"),
    url_state.int_param("prefix", 4, 1, MAX_PREFIX),
    url_state.bool_param("use_sinks"),
    url_state.int_param("sinks", 2, 1, MAX_SINKS),
    url_state.bool_param("use_dilation"),
    url_state.int_param("dilation", 2, 2, MAX_DILATION),
    url_state.bool_param("documents"),
    url_state.short_text_param("separator", "", MAX_SEPARATOR_CHARS),
    url_state.bool_param("alibi"),
    url_state.bool_param("use_softcap"),
    url_state.choice_param("softcap", 5, SOFTCAPS),
    url_state.bool_param("hide_special"),
    url_state.text_param("lang", "en"),  # filled from the browser's language first (ui.lang)
]


def load_page_state(params: list) -> None:
    """Start of every page: language first (URL, else browser), then the URL's widget state, then the switch."""
    ensure_language()
    url_state.load(SHARED + params)
    language_switch()


def restore_page_state(params: list) -> None:
    """Start of a fragment: the values of widgets that an earlier run did not draw (no sidebar writes here)."""
    url_state.load(SHARED + params, refresh=False)


def save_page_state(params: list) -> None:
    url_state.save(SHARED + params)


@dataclass
class View:
    """What the shared controls decided, and the captures they produced."""

    model_name: str
    model: object
    spec: MaskSpec
    captures: list  # one Capture per sentence (two when comparing padding)
    hide_special: bool
    texts: tuple[str, ...] = ()  # the cleaned sentences the captures are of

    @property
    def long(self) -> bool:
        """The maps are not stored whole (a long text): whatever needs every head's whole map is computed from
        q, k and the row normalisers, or not offered."""
        return self.captures[0].is_linear(0)

    @property
    def blocks(self) -> bool:
        """The head's map is drawn in exact blocks, zoomable (ui.long_maps): a long text, or more than
        BLOCKS_ABOVE tokens (a 512² map is 4 MB for the browser to parse and draw, for more cells than pixels)."""
        return self.long or len(self.captures[0].tokens) > BLOCKS_ABOVE

    def scores(self, layer: int, index: int = 0) -> np.ndarray:
        """One layer's raw scores (heads, seq, seq): from the view's captures when they hold them (a short
        text, Step by step) or their q and k, else from a capture of that layer alone, remembered in its own slot
        (moving the head within the layer reuses it). The same padded batch, so the same numbers as the model's own."""
        name = hook_name("scores", layer)
        if self.captures[index].holds_scores(layer):
            return self.captures[index][name]
        return captures_for(self.model_name, self.texts, self.spec, scores_hooks(layer), slot="scores")[index][name]

    def keep(self, index: int = 0) -> np.ndarray | None:
        """Token positions to draw: all, or all but [CLS]/[SEP] (padding stays, shown as masked)."""
        capture = self.captures[index]
        return kept_positions(capture.special, capture.key_is_real, self.hide_special)

    def head_arrays(self, layer: int, head: int, index: int = 0) -> dict:
        """The arrays behind one head's map, under their capture names, for NPZ export."""
        cap = self.captures[index]
        return {
            hook_name("pattern", layer): cap.pattern(layer)[head],
            hook_name("scores", layer): self.scores(layer, index)[head],
            hook_name("mask", layer): cap.mask(layer),
            **{name: cap[name] for name in ("tokens", "token_ids", "token_pieces") if name in cap},
        }

    def layer_arrays(self, layer: int, index: int = 0) -> dict:
        cap = self.captures[index]
        arrays = {
            name: value
            for name, value in cap.items()
            if name.startswith(f"blocks.{layer}.") or name.startswith("token")
        }
        return {**arrays, hook_name("scores", layer): self.scores(layer, index)}

    def all_arrays(self, index: int = 0) -> dict:
        return dict(self.captures[index])


def model_menu(key: str, label: str, choices: list[str], fallback: str, *, say_why: bool = False, **selectbox) -> str:
    """The sidebar's model menu over ``choices``. A link (or an old bookmark) naming another spelling of one of
    them gets that one; anything else becomes ``fallback``, is never loaded and never repeated on screen
    (``say_why``: a sidebar warning says it was not offered, or that it has a page of its own)."""
    if st.session_state[key] not in choices:
        canonical = canonical_model(st.session_state[key])
        if say_why and canonical is None:
            st.sidebar.warning(T("msg.model_not_offered", model=fallback))
        elif say_why and canonical not in choices:
            st.sidebar.warning(T("msg.model_has_own_page", name=canonical, model=fallback))
        st.session_state[key] = canonical if canonical in choices else fallback
    st.sidebar.selectbox(label, choices, key=key, **selectbox)
    return st.session_state[key]


def sidebar_controls() -> None:
    st.sidebar.header(T("sidebar.model"))
    model_menu(
        "model", T("sidebar.model"), model_choices(), default_model(), say_why=True, help=T("sidebar.model_help")
    )
    model_sizes_caption()
    st.sidebar.header(T("sidebar.masks"))
    st.sidebar.checkbox(T("sidebar.causal"), key="causal", help=T("sidebar.causal_help"))
    st.sidebar.checkbox(T("sidebar.window"), key="use_window")
    st.sidebar.slider(
        T("sidebar.window_size"),
        1,
        MAX_WINDOW,
        key="window",
        disabled=not st.session_state["use_window"],
        help=T("sidebar.window_help"),
    )
    st.sidebar.checkbox(T("sidebar.chunk"), key="use_chunk")
    st.sidebar.slider(
        T("sidebar.chunk_size"),
        1,
        MAX_CHUNK,
        key="chunk",
        disabled=not st.session_state["use_chunk"],
        help=T("sidebar.chunk_help"),
    )
    modern_mask_controls()
    st.sidebar.checkbox(T("sidebar.hide_special"), key="hide_special", help=T("sidebar.hide_special_help"))
    st.sidebar.header(T("sidebar.padding"))
    text_box(T("sidebar.text2"), "text2", where=st.sidebar, help=T("sidebar.text2_help"))


MODERN_SWITCHES = ("use_prefix", "use_sinks", "use_dilation", "documents", "alibi", "use_softcap")


def modern_mask_controls() -> None:
    """The rules and score modifications of today's models, in one expander (open while any of them is on)."""
    state = st.session_state
    box = st.sidebar.expander(T("sidebar.modern_masks"), expanded=any(state[key] for key in MODERN_SWITCHES))

    def sized(switch: str, key: str, low: int, high: int) -> None:
        box.checkbox(T(f"sidebar.{key}"), key=switch, help=T(f"sidebar.{key}_help"))
        box.slider(T(f"sidebar.{key}_size"), low, high, key=key, disabled=not state[switch])

    sized("use_prefix", "prefix", 1, MAX_PREFIX)
    sized("use_sinks", "sinks", 1, MAX_SINKS)
    sized("use_dilation", "dilation", 2, MAX_DILATION)
    box.checkbox(T("sidebar.documents"), key="documents", help=T("sidebar.documents_help"))
    box.text_input(
        T("sidebar.separator"), key="separator", max_chars=MAX_SEPARATOR_CHARS, disabled=not state["documents"]
    )
    box.checkbox(T("sidebar.alibi"), key="alibi", help=T("sidebar.alibi_help"))
    box.checkbox(T("sidebar.softcap"), key="use_softcap", help=T("sidebar.softcap_help"))
    box.select_slider(T("sidebar.softcap_size"), SOFTCAPS, key="softcap", disabled=not state["use_softcap"])


def model_sizes_caption() -> None:
    """Under the model menu: its layers and heads, and how query heads share K/V heads when they do."""
    try:
        model = get_model(st.session_state["model"])
    except Exception:  # noqa: BLE001 - the page's own run says in words why the model cannot load
        return
    sizes = dict(layers=model.n_layers, heads=model.n_heads, d=model.d_head)
    kv = model.n_kv_heads
    if kv < model.n_heads:
        st.sidebar.caption(T("sidebar.sizes_gqa", kv=kv, group=model.n_heads // kv, **sizes))
    else:
        st.sidebar.caption(T("sidebar.sizes", **sizes))


def current_spec() -> MaskSpec:
    """The sidebar's rules and score modifications (documents: :func:`document_spec`, which needs the text)."""
    state = st.session_state

    def size(switch: str, key: str) -> int | None:
        return int(state[key]) if state[switch] else None

    return MaskSpec(
        causal=bool(state["causal"]),
        window=size("use_window", "window"),
        chunk=size("use_chunk", "chunk"),
        prefix=size("use_prefix", "prefix"),
        sinks=size("use_sinks", "sinks"),
        dilation=size("use_dilation", "dilation"),
        alibi=bool(state["alibi"]),
        softcap=float(state["softcap"]) if state["use_softcap"] else None,
    )


def document_spec(model, cleaned: CleanText, spec: MaskSpec) -> tuple[MaskSpec, list[Notice]]:
    """``spec`` with the sidebar's documents, split in ``cleaned`` for ``model``'s tokens, and what to say about it
    (a text with no separator holds one document)."""
    state = st.session_state
    if not state["documents"]:
        return spec, []
    separator = state["separator"] or None
    if separator is None:  # the sentence box is one line: blank lines are those of a pasted or opened passage
        cleaned = replace(cleaned, paragraphs=paragraphs_of(cleaned.text))
    spec = documents_spec(model, cleaned, spec, separator)
    if spec.documents:
        return spec, []
    key = "msg.one_document" if separator is None else "msg.one_document_separator"
    return spec, [Notice("info", key, {"separator": separator or ""})]


def text_box(label: str, key: str, where=st, **kwargs) -> None:
    """Every text box of every page, bounded at the edge: Streamlit applies ``max_chars`` on the server too, so a
    client speaking its protocol with a longer value is cut to :data:`attnviz.text.MAX_CHARS` before the page (or
    the session's memory) sees it (tests/ui/test_server_guards.py)."""
    where.text_input(label, key=key, max_chars=MAX_CHARS, **kwargs)


def sentence_input() -> None:
    text_box(T("input.sentence"), "text", help=T("input.sentence_help"))
    if not url_state.fits_in_link(st.session_state["text"]):
        st.caption(T("msg.link_without_text", n=url_state.MAX_LINK_TEXT))


def show_notices(cleaned: CleanText | list[tuple[str, dict]], lang: str | None = None) -> None:
    """What :func:`attnviz.text.clean_text` changed (control or invisible characters removed, text cut), as
    warnings: every text box of every page says it the same way. Takes a CleanText or its ``notice_keys``."""
    show_model_notices(
        [Notice("warning", key, values) for key, values in getattr(cleaned, "notice_keys", cleaned)],
        lang or ensure_language(),
    )


def notice_text(notice: Notice, lang: str) -> str:
    """A notice in words, its values inert (Markdown-escaped text, a mask described in the language)."""
    values = {
        name: value.describe(lang)
        if isinstance(value, MaskSpec)
        else escape_markdown(value)
        if isinstance(value, str)
        else value
        for name, value in notice.values.items()
    }
    return translate(notice.key, lang, **values)


def show_model_notices(notices, lang: str) -> None:
    """Notices (a model's ``notices(text, spec)``, or the cleaning's), each as an info or a warning, values inert."""
    for notice in notices:
        if notice.level == "warning":
            st.warning(notice_text(notice, lang), icon="⚠️" if notice.key.endswith("intervention") else None)
        else:
            st.info(notice_text(notice, lang))


def run_view(hooks: tuple[str, ...] | None = VIEW_HOOKS) -> View | None:
    """Clean the text, load the model, capture; every problem becomes a message, never a traceback."""
    state = st.session_state
    lang = ensure_language()
    texts, first = [], None
    for key in ("text", "text2"):
        if key == "text2" and not state[key].strip():
            continue
        try:
            cleaned = clean_text(state[key])
        except InputError as error:
            if key == "text":
                st.info(error.message(lang))
                return None
            st.warning(T("msg.second_ignored", error=error.message(lang)))
            continue
        show_notices(cleaned, lang)
        texts.append(cleaned.text)
        first = first or cleaned
    try:
        model = get_model(state["model"])
    except Exception as error:  # an offered model that cannot load (a broken folder) must not take the page down
        log.exception("attnviz: loading the model failed")
        st.error(T("msg.model_failed", name=escape_markdown(state["model"]), error=error_text(error)))
        return None
    assert first is not None  # the first text was cleaned, or the page returned above
    try:
        spec, document_notices = document_spec(model, first, current_spec())
    except InputError as error:
        st.warning(error.message(lang))
        return None
    if model.max_batch is not None and len(texts) > model.max_batch:
        st.info(T("msg.padding_needs_bert"))
        texts = texts[:1]
    if spec.documents and len(texts) > 1:  # the documents are positions of the first text's tokens
        st.info(T("msg.documents_one_text"))
        texts = texts[:1]
    show_model_notices(model.notices(texts[0], spec) + document_notices, lang)
    if hooks == VIEW_HOOKS:  # the maps' arrays; every layer's scores too while that stays small
        if len(texts) > 1 and (is_long(model, tuple(texts)) or encoded_shape(model, tuple(texts))[1] > BLOCKS_ABOVE):
            st.info(T("msg.long_one_text"))  # a long text's maps are drawn in blocks: no padding comparison
            texts = texts[:1]
        hooks = view_hooks(model, tuple(texts))
    elif hooks is None and is_long(
        model, tuple(texts), None
    ):  # every step of every head, but not the maps stored whole
        if len(texts) > 1:
            st.info(T("msg.long_one_text"))
            texts = texts[:1]
        hooks = tuple(all_but_maps(model))
    captures = captures_for(state["model"], tuple(texts), spec, hooks)
    for index, capture in enumerate(captures):
        if capture.truncated:
            key = "msg.truncated_first" if index == 0 else "msg.truncated_second"
            st.warning(T(key, n=capture.full_length, model=escape_markdown(model.name), limit=model.max_tokens))
    return View(state["model"], model, spec, captures, bool(state["hide_special"]), tuple(texts))
