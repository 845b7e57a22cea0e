"""Presenter: step through a lesson's slides with large type, for a projector."""

import hashlib
import html

import plotly.graph_objects as go
import streamlit as st

from attnviz.teaching.lessons import LessonError, load_lesson, shipped_lessons
from attnviz.models import DEFAULT_MODEL, VIT_FASHION
from attnviz.models.base import Notice
from attnviz.text import InputError, escape_markdown
from attnviz.figures.style import fit_to_box
from attnviz.teaching import layout
from attnviz.teaching.lessons import IMAGE_VIEWS
from attnviz.teaching.slides import SlideView, slide_documents, slide_image_spec, slide_spec, slide_texts, slide_view
from ui import url_state
from ui.controls import notice_text, show_model_notices
from ui.figures import show_figure
from ui.images import image_capture
from ui.lang import T, error_text, language_switch
from ui.errors import guard
from ui.session import captures_for, encoded_shape, heavy_section, is_long
from ui.offered import ModelNotOffered, get_model
from ui.uploads import uploaded_lesson
from ui.nav import run_through_navigation
from ui.state import fit
from ui.screen import window_screen

run_through_navigation()
st.set_page_config(page_title="attnviz — presenter", layout="wide", initial_sidebar_state="collapsed")
with st.sidebar:  # style blocks and the window's size, where their empty rows take no room from the slide
    screen = window_screen()
    st.markdown(  # the paddings attnviz.teaching.layout plans with; type sizes from the plan below
        f"""<style>
        .block-container {{padding: {layout.PAD_TOP}px {layout.PAD_SIDE}px {layout.PAD_BOTTOM}px; max-width: 100%;}}
        .block-container [data-testid=stVerticalBlock] {{gap: {layout.GAP}px;}}
        </style>""",
        unsafe_allow_html=True,
    )

LESSONS = shipped_lessons()
PARAMS = [url_state.text_param("lesson", next(iter(LESSONS), "")), url_state.int_param("slide", 1, 1, 999)]
url_state.load(PARAMS)
language_switch()
lang = st.session_state["lang"]

if LESSONS and st.session_state["lesson"] not in LESSONS:  # a URL's lesson that is not shipped: the first one
    st.session_state["lesson"] = next(iter(LESSONS))
with st.sidebar:
    if LESSONS:
        st.selectbox(
            T("presenter.lesson"),
            list(LESSONS),
            key="lesson",
            format_func=lambda name: load_lesson(LESSONS[name]).title[lang],  # options are plain text, not Markdown
            on_change=lambda: st.session_state.update(slide=1),
        )
    uploaded = st.file_uploader(  # keyed: switching the language keeps the file (its label changes)
        T("presenter.own_lesson"), type=["yaml", "yml"], help=T("presenter.own_lesson_help"), key="own_lesson"
    )

lesson = None
try:
    if uploaded is not None:  # bounded and parsed once per file content (ui/uploads.py)
        lesson = uploaded_lesson(uploaded.getvalue(), uploaded.name)
    elif LESSONS:
        lesson = load_lesson(LESSONS[st.session_state["lesson"]])
except LessonError as error:
    st.error(T("presenter.bad_lesson", error=error_text(error)))  # in the page's language, the file's words inert

if lesson is not None and uploaded is not None:
    st.sidebar.markdown(f"**{escape_markdown(lesson.title[lang])}**")
if lesson is None:
    if not LESSONS:
        st.info(T("presenter.no_lessons"))
    st.stop()

total = len(lesson.slides)
fit("slide", 1, total)


def move(step: int) -> None:
    st.session_state["slide"] = min(max(st.session_state["slide"] + step, 1), total)


slide = lesson.slides[st.session_state["slide"] - 1]
title = slide.title[lang]
top = st.columns([layout.TITLE_SHARE, 1, 1, 1.1], vertical_alignment="center")
# Lesson text is data: shown as typed, never Markdown; sized to stay on the one line of the title's column.
st.sidebar.markdown(
    f"""<style>.block-container h1 {{font-size: {layout.title_px(screen, title)}px !important; padding: 0;
    white-space: nowrap; overflow: hidden; text-overflow: ellipsis;}}</style>""",
    unsafe_allow_html=True,
)
top[0].title(escape_markdown(title), anchor=False)
top[1].button(
    T("presenter.previous"), on_click=move, args=(-1,), disabled=st.session_state["slide"] <= 1, width="stretch"
)
top[2].button(
    T("presenter.next"), on_click=move, args=(1,), disabled=st.session_state["slide"] >= total, width="stretch"
)
top[3].markdown(f"**{T('presenter.counter', n=st.session_state['slide'], total=total)}**")


def bounded_captures(name: str):
    """A slide's captures through the server's shared, byte-bounded cache and its heavy slots, like every page's;
    a text whose maps would pass the whole-map bound is refused in words (a slide shows a sentence)."""

    def capture(model, texts, spec):
        if model.kind == "vision":  # an image slide: the Images page's capture (the classifier's output kept)
            (picture,) = texts
            digest = hashlib.blake2b(picture.tobytes(), digest_size=16).hexdigest()
            return [image_capture(name, model, digest, picture, spec)[0]]
        if is_long(model, texts, None):
            raise LessonError(
                "presenter.too_long", slide=slide.number, n=max(encoded_shape(model, (t,))[1] for t in texts)
            )
        return captures_for(name, texts, spec, hooks=None, slot="slide")

    return capture


no_mask_line = slide.view in ("positions", "image_positions") or slide.view in IMAGE_VIEWS  # an image's: below
captions = [] if no_mask_line else [T("presenter.mask", mask=slide_spec(slide).describe(lang))]


def planned(view: SlideView, notices: list[str], thinned: bool = False):
    """The slide's layout on this screen (``thinned``: with the line that says some tick labels are left out)."""
    extra = [T("presenter.every_kth", k=2, px=layout.TICK_PX)] if thinned else []
    return layout.plan_slide(
        screen,
        len(view.figures),
        slide.explanation[lang],
        captions=[*captions, *view.notes, *extra],
        notices=notices,
        aspect=view.aspect,
    )


def fitted(view: SlideView, plan) -> int:
    return max(
        [fit_to_box(fig, *plan.figure, tick_px=plan.tick_px, font_px=plan.font_px) for fig in view.figures], default=1
    )


view, problem, notices, step, drawn = SlideView([]), None, [], 1, False
plan = planned(view, [])
with guard("error.slide"):  # anything unexpected: a message, and next/previous still work
    try:
        if slide.view == "dcmha":  # a dcmha slide names its character model: the DCFormer, or its MHA twin
            name = slide.model or "dcformer-tiny"
            model, dcformer = None, get_model(name)
        else:
            name = slide.model or (VIT_FASHION if slide.view in IMAGE_VIEWS else DEFAULT_MODEL)
            model, dcformer = get_model(name), None
            if slide.view in ("image", "image_grid") and model.kind == "vision":
                captions[:0] = [T("presenter.mask", mask=slide_image_spec(slide, model).describe(lang))]
        cleaned = slide_texts(slide)
        shown_model = dcformer or model
        notices = [Notice("warning", key, values) for text in cleaned for key, values in text.notice_keys]
        if cleaned:  # the slide's rules, its documents split for this model's tokens
            spec = slide_documents(slide, shown_model, cleaned[0], slide_spec(slide))
            notices += shown_model.notices(cleaned[0].text, spec)
            captions[:1] = [T("presenter.mask", mask=spec.describe(lang))]
        with heavy_section():
            view = slide_view(slide, model, dcformer, lang=lang, capture=bounded_captures(name))
    except (LessonError, InputError, ModelNotOffered) as error:  # the lesson's own fault, said in words
        problem = T("presenter.slide_error", error=error_text(error))
    # On a slide an info notice is a line of small type under the text and a warning keeps its box; a decoder's
    # note on its own windows is left to the pages (the slide's mask line, and a warning when it intervenes, say it).
    notices = [notice for notice in notices if not notice.key.startswith("msg.decoder_note")]
    captions += [notice_text(notice, lang) for notice in notices if notice.level != "warning"]
    notices = [notice for notice in notices if notice.level == "warning"]
    boxes = [notice_text(notice, lang) for notice in notices] + ([problem] if problem else [])
    plan = planned(view, boxes)
    # Fitted once on copies to learn whether tick labels must be thinned; then, with room for the line saying so.
    step = fitted(SlideView([go.Figure(fig) for fig in view.figures]), plan)
    if step > 1:
        plan = planned(view, boxes, thinned=True)
    step = fitted(view, plan)
    drawn = True
if not drawn:  # the guard said what failed; no half-fitted figure is drawn
    view = SlideView([])
captions += view.notes
if step > 1:
    captions.append(T("presenter.every_kth", k=step, px=plan.tick_px))
if plan.text_beside:
    text_area, figure_area = st.columns([plan.text_share, 1 - plan.text_share], gap="small")
else:
    text_area, figure_area = st.container(), st.container()
with text_area:
    # Lesson text is data: escaped, then set in projector-size type. Its line breaks become <br>: a blank line
    # would end the HTML block and what follows would be read as Markdown.
    explanation = "<br>".join(html.escape(slide.explanation[lang]).splitlines())
    st.markdown(
        f'<div class="slide-text" style="font-size:{plan.body_px}px;line-height:{layout.LINE_HEIGHT}">{explanation}</div>',
        unsafe_allow_html=True,
    )
    for caption in captions:
        st.caption(caption)
    show_model_notices(notices, lang)
    if not plan.fits:
        st.warning(T("presenter.does_not_fit", width=screen.width, height=screen.height))
with figure_area:
    if problem:
        st.error(problem)
    for column, (index, fig) in zip(
        st.columns(len(view.figures), gap="small") if view.figures else [], enumerate(view.figures)
    ):
        with column:
            show_figure(fig, key=f"slide_{lesson.name}_{slide.number}_{index}", exports=False, width="content")

if uploaded is None:
    url_state.save(PARAMS + [url_state.text_param("lang", "en")])
