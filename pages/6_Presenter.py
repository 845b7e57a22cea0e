"""Presenter: step through a lesson's slides with large type, for a projector."""

import html

import streamlit as st

from attnviz.teaching.lessons import LessonError, load_lesson, shipped_lessons
from attnviz.models import DEFAULT_MODEL
from attnviz.text import InputError, escape_markdown
from attnviz.teaching.slides import slide_figures, slide_spec, slide_texts
from ui import url_state
from ui.controls import show_notices
from ui.figures import show_figure
from ui.lang import T, error_text, language_switch
from ui.errors import guard
from ui.session import captures_for, encoded_shape, heavy_section, is_long
from ui.offered import ModelNotOffered, get_model
from ui.uploads import uploaded_lesson
from ui.nav import run_through_navigation
from ui.state import fit

run_through_navigation()
st.set_page_config(page_title="attnviz — presenter", layout="wide", initial_sidebar_state="collapsed")
st.markdown(
    """<style>
    .block-container {padding-top: 3.2rem; max-width: 1260px;}
    .slide-text p {font-size: 1.55rem; line-height: 1.5;}
    h1 {font-size: 2.4rem !important;}
    </style>""",
    unsafe_allow_html=True,
)

LESSONS = shipped_lessons()
PARAMS = [url_state.text_param("lesson", next(iter(LESSONS), "")), url_state.int_param("slide", 1, 1, 999)]
url_state.load(PARAMS)
language_switch()
lang = st.session_state["lang"]

with st.sidebar:
    uploaded = st.file_uploader(T("presenter.own_lesson"), type=["yaml", "yml"], help=T("presenter.own_lesson_help"))

lesson = None
try:
    if uploaded is not None:  # bounded and parsed once per file content (ui/uploads.py)
        lesson = uploaded_lesson(uploaded.getvalue(), uploaded.name)
    elif LESSONS:
        if st.session_state["lesson"] not in LESSONS:
            st.session_state["lesson"] = next(iter(LESSONS))
        lesson = load_lesson(LESSONS[st.session_state["lesson"]])
except LessonError as error:
    st.error(T("presenter.bad_lesson", error=escape_markdown(error)))  # it quotes the file name and its content

if lesson is None:
    if not LESSONS:
        st.info(T("presenter.no_lessons"))
    st.stop()

total = len(lesson.slides)
fit("slide", 1, total)


def move(step: int) -> None:
    st.session_state["slide"] = min(max(st.session_state["slide"] + step, 1), total)


top = st.columns([3, 1, 1, 1.3])
if uploaded is None:
    top[0].selectbox(
        T("presenter.lesson"),
        list(LESSONS),
        key="lesson",
        format_func=lambda name: load_lesson(LESSONS[name]).title[lang],  # options are plain text, not Markdown
        on_change=lambda: st.session_state.update(slide=1),
        label_visibility="collapsed",
    )
else:
    top[0].markdown(f"**{escape_markdown(lesson.title[lang])}**")
top[1].button(
    T("presenter.previous"),
    on_click=move,
    args=(-1,),
    disabled=st.session_state["slide"] <= 1,
    use_container_width=True,
)
top[2].button(
    T("presenter.next"), on_click=move, args=(1,), disabled=st.session_state["slide"] >= total, use_container_width=True
)
top[3].markdown(f"### {T('presenter.counter', n=st.session_state['slide'], total=total)}")

slide = lesson.slides[st.session_state["slide"] - 1]
st.title(escape_markdown(slide.title[lang]))  # lesson text is data: shown as typed, never Markdown
text_col, figure_col = st.columns([2, 3])
with text_col:
    # Lesson text is data: escaped, then wrapped in our own class for projector-size type. Its line breaks
    # become <br>: a blank line would end the HTML block and what follows would be read as Markdown.
    explanation = "<br>".join(html.escape(slide.explanation[lang]).splitlines())
    st.markdown(f'<div class="slide-text"><p>{explanation}</p></div>', unsafe_allow_html=True)
    if slide.view not in ("positions",):
        st.caption(T("presenter.mask", mask=slide_spec(slide).describe(lang)))


def bounded_captures(name: str):
    """A slide's captures through the server's shared, byte-bounded cache and its heavy slots, like every page's;
    a text whose maps would pass the whole-map bound is refused in words (a slide shows a sentence)."""

    def capture(model, texts, spec):
        if is_long(model, texts, None):
            raise LessonError(
                T("presenter.too_long", slide=slide.number, n=max(encoded_shape(model, (t,))[1] for t in texts))
            )
        return captures_for(name, texts, spec, hooks=None, slot="slide")

    return capture


with figure_col, guard("error.slide"):  # anything unexpected: a message, and next/previous still work
    try:
        if slide.view == "dcmha":  # a dcmha slide names its character model: the DCFormer, or its MHA twin
            name = slide.model or "dcformer-tiny"
            model, dcformer = None, get_model(name)
        else:
            name = slide.model or DEFAULT_MODEL
            model, dcformer = get_model(name), None
        cleaned = slide_texts(slide)
        with heavy_section():
            figures = slide_figures(slide, model, dcformer, lang=lang, capture=bounded_captures(name))
    except (LessonError, InputError, ModelNotOffered) as error:  # the lesson's own fault, said in words
        st.error(T("presenter.slide_error", error=error_text(error)))
    else:
        for text in cleaned:
            show_notices(text, lang)
        for index, fig in enumerate(figures):
            show_figure(fig, key=f"slide_{lesson.name}_{slide.number}_{index}")

if uploaded is None:
    url_state.save(PARAMS + [url_state.text_param("lang", "en")])
