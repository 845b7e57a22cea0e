"""Turn a lesson slide into figures: runs the capture the slide asks for, then the pure plot builders."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from ..figures import attention as plots, capture_views as views, steps as plots_steps
from ..capture import documents_spec, run_capture
from .lessons import IMAGE_VIEWS, LessonError, Slide
from ..masks import MaskSpec, kept_positions
from ..models.base import AttentionModel, hook_name
from ..analysis.positions import learned_positions
from ..analysis.steps import online_softmax, steps
from ..i18n import translate
from ..text import CleanText, clean_text, token_label
from ..analysis.kernel_blocks import block_census, block_sizes
from ..analysis.sinks import sink_experiment
from ..figures.kernel_blocks import kernel_blocks_figure, summary
from ..figures.sinks import sink_losses_figure

# The width / height a slide's figure wants for its plot (attnviz.teaching.layout): maps are square, a layer's
# grid is four maps a row, the overview a layers × heads sheet, the comparison three panels, the steps bars.
ASPECT = {
    "head": 1.0,
    "dcmha": 1.0,
    "order": 1.0,
    "positions": 1.2,
    "layer": 1.3,
    "overview": 2.0,
    "compare": 2.6,
    "steps": 1.6,
    "flash": 1.6,
    "blocks": 1.0,
    "sinks": 1.8,
    "image": 1.0,
    "image_grid": 1.0,
    "image_positions": 1.0,
}


@dataclass
class SlideView:
    """What one slide shows: its figures, the lines said under its text (``notes``), and the shape its figures
    want on the screen (``aspect``, width / height of one figure's plot)."""

    figures: list[go.Figure]
    notes: list[str] = field(default_factory=list)
    aspect: float = 1.0


def slide_spec(slide: Slide) -> MaskSpec:
    """The slide's rules and score modifications (its documents: :func:`slide_documents`, which needs the model)."""
    return MaskSpec(
        causal=slide.causal
        or slide.view == "dcmha",  # the character models of 'dcmha' slides are causal by construction
        window=slide.window,
        chunk=slide.chunk,
        prefix=slide.prefix,
        sinks=slide.sinks,
        dilation=slide.dilation,
        alibi=slide.alibi,
        softcap=None if slide.softcap is None else float(slide.softcap),
    )


def slide_documents(slide: Slide, model: AttentionModel, cleaned: CleanText, spec: MaskSpec) -> MaskSpec:
    """``spec`` with the slide's text split into documents for ``model``, when the slide asks for them."""
    return documents_spec(model, cleaned, spec, slide.separator or None) if slide.documents else spec


def _check_range(slide: Slide, model: AttentionModel, capture=None) -> None:
    number = slide.number
    for kind, count, key in (
        ("layer", model.n_layers, "presenter.lesson_layer_range"),
        ("head", model.n_heads, "presenter.lesson_head_range"),
    ):
        for name in (kind, f"{kind}_b"):
            if getattr(slide, name) >= count:
                raise LessonError(
                    key,
                    number=number,
                    field=name,
                    value=getattr(slide, name),
                    model=model.name,
                    last=count - 1,
                )
    if capture is not None and slide.view == "steps" and slide.query >= len(capture.tokens):
        raise LessonError(
            "presenter.lesson_query_range", number=number, value=slide.query, last=len(capture.tokens) - 1
        )


def _keep(slide: Slide, capture) -> np.ndarray | None:
    return kept_positions(capture.special, capture.key_is_real, slide.hide_special)


def slide_image_spec(slide: Slide, model: AttentionModel) -> MaskSpec:
    """An image slide's rules on ``model``'s patch grid: raster causal, the 2-D window and blocks."""
    return MaskSpec(slide.causal, grid=model.patch_grid, window_2d=slide.window_2d, blocks_2d=slide.blocks_2d)


def slide_texts(slide: Slide) -> list[CleanText]:
    """The texts the slide runs (``text``, and ``text2`` where its view uses it), cleaned as every text box is:
    their ``notice_keys`` say what was removed or cut. Raises :class:`InputError` for an empty text."""
    if slide.view == "positions" or slide.view in IMAGE_VIEWS:
        return []
    texts = [clean_text(slide.text)]
    if slide.text2.strip() and slide.view in ("head", "order"):
        texts.append(clean_text(slide.text2))
    return texts


def slide_view(slide: Slide, model: AttentionModel, dcformer=None, lang: str = "en", capture=None) -> SlideView:
    """The figures and notes of one slide, for ``model`` (and the DCFormer for 'dcmha' slides).

    ``capture(model, texts, spec)`` -> one capture per text, every hook recorded: :func:`run_capture` unless the
    caller routes it through its own cache and limits (the Presenter: the server's shared cache and heavy slots)."""
    capture = capture or (lambda model, texts, spec: run_capture(model, list(texts), spec, keep_output=True))
    if slide.view in IMAGE_VIEWS:
        return _image_view(slide, model, capture, lang)
    if slide.view == "positions":
        n = 64
        learned = learned_positions(model, n)
        rope = (model.rope_base, model.d_head) if learned is None and model.rope_base is not None else None
        shown = views.positional_encodings(
            n, model.d_model, model_name=model.name, learned=learned, rope=rope, lang=lang
        )
        return SlideView([shown[name] for name in ("sin", "own") if name in shown], aspect=ASPECT["positions"])
    if slide.view == "dcmha":
        if dcformer is None:
            raise LessonError("presenter.lesson_needs_dcformer", number=slide.number)
        model = dcformer
    if model.kind == "encoder-decoder":
        raise LessonError("presenter.lesson_encoder_decoder", number=slide.number, model=model.name)
    _check_range(slide, model)
    cleaned_texts = slide_texts(slide)
    texts = [cleaned.text for cleaned in cleaned_texts]
    spec = slide_documents(slide, model, cleaned_texts[0], slide_spec(slide))
    if slide.view == "order":
        if len(texts) < 2:
            raise LessonError("presenter.lesson_order_needs_two", number=slide.number)
        a, b = (capture(model, (t,), spec)[0] for t in texts[:2])
        return SlideView(views.word_order(a, b, slide.layer, slide.head, lang=lang), aspect=ASPECT["order"])
    if slide.view == "sinks":
        return _sinks_view(slide, model, texts[0], capture, lang)
    captures = capture(model, tuple(texts), spec)
    cap = captures[0]
    _check_range(slide, model, cap)
    layer, head = slide.layer, slide.head
    keep = _keep(slide, cap)
    notes: list[str] = []
    if slide.view in ("head", "dcmha"):
        figures = [views.head_heatmap(c, layer, head, keep=_keep(slide, c), lang=lang) for c in captures]
        if slide.view == "dcmha" and model.use_dcmha:
            figures.insert(
                0,
                plots.map_heatmap(
                    cap[hook_name("probs", layer)][head],
                    cap.tokens,
                    allowed=cap.mask(layer),
                    title=translate("slide.before_post", lang, layer=layer, head=head),
                    lang=lang,
                ),
            )
            figures[1].update_layout(title_text=translate("slide.after_post", lang, layer=layer, head=head))
    elif slide.view == "layer":
        # As many heads a row as make the grid about as wide as a slide's figure wants (four of MiniLM's twelve).
        columns = max(1, round(math.sqrt(cap.n_heads * ASPECT["layer"])))
        figures = [views.layer_grid(cap, layer, head=head, keep=keep, columns=columns, lang=lang)]
    elif slide.view == "overview":
        figures = [views.overview(cap, layer=layer, head=head, keep=keep, lang=lang)]
    elif slide.view == "compare":
        figures = [views.compare(cap, (layer, head), (slide.layer_b, slide.head_b), keep=keep, lang=lang)]
    elif slide.view == "steps":
        s = steps(model, cap, layer, head, slide.query)  # the Step by step page's steps 5 and 6
        figures = [plots_steps.masked_scores(s, lang=lang), plots_steps.attention_weights(s, lang=lang)]
    elif slide.view == "flash":
        s = steps(model, cap, layer, head, slide.query)
        online, z, weights = online_softmax(s.masked, s.v, slide.block)
        n, d = len(cap.tokens), s.v.shape[-1]
        figures = [
            plots_steps.online_softmax_figure(
                s.masked,
                online,
                cap.tokens,
                lang=lang,
                title=translate(
                    "slide.flash_title", lang, token=token_label(cap.tokens[slide.query]), block=slide.block
                ),
            ),
            plots_steps.probability_bars(
                weights, cap.tokens, allowed=s.allowed, lang=lang, title=translate("slide.flash_bars", lang)
            ),
        ]
        notes.append(
            translate(
                "slide.flash_equal",
                lang,
                dp=float(np.abs(weights - s.probs).max()),
                dz=float(np.abs(z - s.z).max()),
                full=n * n,
                linear=n * (d + 2),
            )
        )
    elif slide.view == "blocks":
        if slide.block not in block_sizes(len(cap.tokens)):
            raise LessonError(
                "presenter.lesson_block_size",
                number=slide.number,
                value=slide.block,
                sizes=", ".join(map(str, block_sizes(len(cap.tokens)))),
            )
        census = block_census(cap, layer, slide.block)
        figures = [
            views.head_heatmap(cap, layer, head, keep=None, lang=lang),
            kernel_blocks_figure(census, lang=lang),
        ]
        notes.append(summary(census, lang))
    else:  # pragma: no cover - the loader only admits known views
        raise LessonError("presenter.lesson_unknown_view", number=slide.number, view=slide.view)
    return SlideView(figures, notes, ASPECT[slide.view])


def _sinks_view(slide: Slide, model: AttentionModel, text: str, capture, lang: str) -> SlideView:
    """The attention-sink experiment (analysis.sinks): the model's loss per position as trained, with the slide's
    window, and with the window plus its sinks; the notes give the means and the model's attention on its first
    tokens, measured."""
    if model.kind != "decoder":
        raise LessonError("presenter.lesson_sinks_needs_decoder", number=slide.number, model=model.name)
    window, sinks = slide.window or 16, slide.sinks or 4
    (trained,) = capture(model, (text,), MaskSpec(causal=True))  # the server's cache and bounds, every map
    experiment = sink_experiment(model, text, window, sinks, capture=trained)
    means = {
        name: experiment.mean_after_window(getattr(experiment, name)) for name in ("trained", "windowed", "with_sinks")
    }
    note = translate(
        "slide.sinks_note",
        lang,
        w=window,
        s=sinks,
        trained=f"{means['trained']:.3f}",
        windowed=f"{means['windowed']:.3f}",
        with_sinks=f"{means['with_sinks']:.3f}",
        share=f"{experiment.first_share:.1%}",
    )
    return SlideView([sink_losses_figure(experiment, lang=lang)], [note], ASPECT["sinks"])


def slide_image(slide: Slide):
    """The gallery image an image slide names (attnviz.gallery: only its listed files), decoded."""
    from ..gallery import gallery
    from ..images import read_image

    images = gallery()
    if slide.image not in images:
        example = next(iter(images), "—")
        raise LessonError(
            "presenter.lesson_unknown_image", number=slide.number, value=slide.image[:100], example=example
        )
    return read_image(images[slide.image].path)


def _image_view(slide: Slide, model: AttentionModel, capture, lang: str) -> SlideView:
    """A vision model's slide: a head's attention from the query over the image with the class probabilities
    (and what the mask cost), every layer × head over the image, or the learned positions' similarity."""
    from ..analysis import patches
    from ..figures import patches as figs

    if model.kind != "vision" or model.patch_grid is None:
        raise LessonError("presenter.lesson_needs_vision", number=slide.number, view=slide.view, model=model.name)
    _check_range(slide, model)
    if slide.view == "image_positions":
        table = model.embedding_parts(np.arange(model.max_tokens))["position"]
        similarity = patches.position_similarity(table, model.patch_grid)
        title = translate("images.positions_title", lang)
        note = translate("images.positions_measured", lang, **patches.similarity_by_relation(similarity))
        return SlideView(
            [figs.position_grid(similarity, title=title, lang=lang)], [note], aspect=ASPECT["image_positions"]
        )
    picture = slide_image(slide)
    spec = slide_image_spec(slide, model)
    (cap,) = capture(model, (picture,), spec)
    if slide.query >= len(cap.tokens):
        raise LessonError(
            "presenter.lesson_query_range", number=slide.number, value=slide.query, last=len(cap.tokens) - 1
        )
    seen = patches.as_read(picture, model.image_size)  # type: ignore[attr-defined]  # a vision model's input size
    first, _, cols = model.patch_grid
    query = slide.query
    token = cap.tokens[query]
    at = divmod(query - first, cols) if query >= first else None
    if slide.view == "image_grid":
        every = patches.query_weights_by_layer(cap, query)
        title = translate("images.grid_title", lang, query=token)
        return SlideView(
            [figs.overlay_grid(seen, every, title=title, selected=(slide.layer, slide.head), lang=lang)],
            aspect=ASPECT["image_grid"],
        )
    weights = patches.query_weights(cap, slide.layer, query)[slide.head]
    allowed = patches.allowed_patches(cap, slide.layer, query) if spec.takes_keys else None
    title = translate("images.overlay_title", lang, layer=slide.layer, head=slide.head, query=token)
    figures = [figs.patch_overlay(seen, weights, title=title, query=at, allowed=allowed, lang=lang)]
    probabilities = patches.class_probabilities(cap)
    if probabilities is not None:
        unmasked = None
        if spec.takes_keys:
            (plain,) = capture(model, (picture,), MaskSpec(grid=model.patch_grid))
            unmasked = patches.class_probabilities(plain)
        names = model.class_names  # type: ignore[attr-defined]  # a classifier's labels
        figures.append(figs.class_bars(probabilities, names, unmasked=unmasked, lang=lang))
    return SlideView(figures, aspect=ASPECT["image"])
