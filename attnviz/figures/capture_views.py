"""Figures of a whole capture: name the layer and head, and the arrays, mask and labels follow.

The builders of :mod:`attnviz.figures.attention` take one head's arrays, as the app's pages hand them over;
these take a :class:`attnviz.Capture` and do that picking, so a notebook or a script needs one line per figure::

    cap = attnviz.capture("The cat sat on the mat.")
    fig = attnviz.figures.head_heatmap(cap, layer=3, head=5)

A capture is used only through what it offers (``pattern``, ``scores``, ``mask``, ``tokens``, ``n_layers``,
``n_heads``, ``special``, ``key_is_real``): ``attnviz.capture`` runs models and imports torch, which no figure
module does (tests/test_layering.py).

The ``*_slider`` figures carry several heads (or layers) at once and switch between them with Plotly's own
slider, so choosing one works wherever Plotly.js runs: a live notebook, a notebook saved as HTML, a file
opened without any Python behind it.
"""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from ..analysis.positions import (
    cosine_similarity,
    order_difference,
    rotary_angles,
    rotary_similarity,
    sinusoidal,
)
from ..i18n import translate
from ..masks import kept_positions, outline_segments
from . import attention
from .dcmha import WINDOW_COLOR, window_band_path
from .style import is_probability

RULES_COLOR = "#c51b7d"  # the user's mask rules' outline: apart from the model's own window (green)

if TYPE_CHECKING:
    from ..capture import Capture

# JSON bytes one slider figure may carry. Every step holds a whole map (with per-cell hover text up to 160
# tokens), so a long text times 12 heads would otherwise put tens of MB into a notebook, which stores each figure
# twice (attnviz.notebook); past this the slider spans only the heads nearest the chosen one.
SLIDER_BUDGET_BYTES = 4_000_000
SLIDER_ROOM = 96  # px added below the plot for the slider: its current value, rail and step labels


def _check(capture: Capture, layer: int, head: int | None = None) -> None:
    # Checked here because NumPy would take a negative index silently, and the title would then name a
    # head that is not the one drawn.
    if not 0 <= layer < capture.n_layers:
        raise ValueError(f"layer must be 0 to {capture.n_layers - 1} (got {layer})")
    if head is not None and not 0 <= head < capture.n_heads:
        raise ValueError(f"head must be 0 to {capture.n_heads - 1} (got {head})")


def _scores(capture: Capture, layer: int, head: int) -> np.ndarray | None:
    """One head's raw scores for the hover, or None when the capture was made without them (``hooks=``)."""
    try:
        return capture.scores(layer)[head]
    except KeyError:
        return None


def _keep(capture: Capture, hide_special: bool, keep: np.ndarray | None | str) -> np.ndarray | None:
    return kept_positions(capture.special, capture.key_is_real, hide_special) if isinstance(keep, str) else keep


COMPOSED_PERCENTILE = 99.9  # composed weights: the colours span this share of |w|, the rare extremes saturate


def weight_limit(capture: Capture) -> float | None:
    """The ±limit that every view of this capture's heads shares when its weights leave [0, 1] (a DCFormer's
    post-composed maps: :func:`~attnviz.figures.style.weight_colours`), so that one head has one colour in its map,
    its layer's grid, the overview and a comparison; None for softmax weights (0–1). The limit is the 99.9th
    percentile of |weight| over every layer's allowed cells, and at least 1: a few extreme cells (5.2 where 99 % lie
    within ±1.1 on the shipped DCFormer) would otherwise leave every other map white. Only a model that composes
    heads after the softmax records ``hook_probs`` beside its pattern, so other captures cost nothing here."""
    if not any(name.endswith("attn.hook_probs") for name in capture.keys()):
        return None
    if "_weight_limit" not in capture.__dict__:
        patterns = [capture.pattern(layer) for layer in range(capture.n_layers)]
        limit = None
        if not all(is_probability(p) for p in patterns):
            allowed = [
                np.abs(p[np.broadcast_to(capture.mask(layer), p.shape) & np.isfinite(p)])
                for layer, p in enumerate(patterns)
            ]
            limit = max(1.0, float(np.percentile(np.concatenate(allowed), COMPOSED_PERCENTILE)))
        capture.__dict__["_weight_limit"] = limit
    return capture.__dict__["_weight_limit"]


def head_heatmap(
    capture: Capture,
    layer: int = 0,
    head: int = 0,
    *,
    lang: str = "en",
    hide_special: bool = False,
    keep: np.ndarray | None | str = "hide_special",
    scores: np.ndarray | None = None,
    title: str | None = None,
) -> go.Figure:
    """One head's attention map: queries on rows, keys on columns, masked cells grey, raw scores in the hover, and
    the model's own sliding window for this layer (Mistral's, Gemma 2's, a DCFormer's local layers) outlined.

    The border of what the user's mask rules leave the layer is outlined too (RULES_COLOR), whatever their shape.

    The main page, the Presenter and a notebook draw a head with this one builder. ``keep``: the positions drawn
    (by default all, or all but [CLS]/[SEP] with ``hide_special``); ``scores``: the head's raw scores when the
    capture does not hold them (a page computes them from q and k); ``title``: in place of "Layer l · head h"."""
    _check(capture, layer, head)
    kept = _keep(capture, hide_special, keep)
    fig = attention.map_heatmap(
        capture.pattern(layer)[head],
        capture.tokens,
        scores=_scores(capture, layer, head) if scores is None else scores,
        allowed=capture.mask(layer),
        keep=kept,
        title=translate("main.head_title", lang, layer=layer, head=head) if title is None else title,
        limit=weight_limit(capture),
        lang=lang,
    )
    own = capture.own_windows[layer] if capture.own_windows is not None else None
    n = len(capture.tokens)
    if capture.spec.takes_keys and kept is None and n <= attention.MAX_DRAWN_TOKENS:
        fig.add_shape(  # the user's rules, whatever their shape: the border of what this layer may attend to
            type="path",
            path=" ".join(f"M{x0:g},{y0:g}L{x1:g},{y1:g}" for x0, y0, x1, y1 in outline_segments(capture.mask(layer))),
            name="mask rules",
            line=dict(color=RULES_COLOR, width=1.5),
            layer="above",
        )
    if own is not None and kept is None and n <= attention.MAX_DRAWN_TOKENS:
        fig.add_shape(
            type="path",
            path=window_band_path(n, own, capture.causal),  # an encoder's own window (ModernBERT) reaches both ways
            name="own window",
            line=dict(color=WINDOW_COLOR, width=1.5),
            fillcolor="rgba(0,0,0,0)",
            layer="above",
        )
    return fig


def layer_grid(
    capture: Capture,
    layer: int = 0,
    *,
    head: int | None = None,
    lang: str = "en",
    hide_special: bool = False,
    keep: np.ndarray | None | str = "hide_special",
    columns: int = 6,
) -> go.Figure:
    """Every head of one layer as small maps, ``columns`` a row; ``head`` is framed, heads sharing a K/V head
    grouped."""
    _check(capture, layer, head)
    return attention.map_grid(
        capture.pattern(layer),
        capture.tokens,
        allowed=capture.mask(layer),
        keep=_keep(capture, hide_special, keep),
        layer=layer,
        selected_head=head,
        kv_heads=capture.kv_heads,
        columns=columns,
        limit=weight_limit(capture),
        lang=lang,
    )


def overview(
    capture: Capture,
    *,
    layer: int | None = None,
    head: int | None = None,
    lang: str = "en",
    hide_special: bool = False,
    keep: np.ndarray | None | str = "hide_special",
    clickable: bool = False,
) -> go.Figure:
    """All layers × all heads as thumbnails, coloured as each head's own map; (layer, head) framed when both given.
    ``clickable``: the hover invites a click (the app's page answers it by choosing that head)."""
    if layer is not None:
        _check(capture, layer, head)
    selected = (layer, head) if layer is not None and head is not None else None
    fig = attention.maps_overview(
        [capture.pattern(l) for l in range(capture.n_layers)],
        keep=_keep(capture, hide_special, keep),
        selected=selected,
        kv_heads=capture.kv_heads,
        limit=weight_limit(capture),
        lang=lang,
    )
    if not clickable:  # the builder's hover invites a click, which only the app answers; here it names the thumbnail
        fig.data[1].hovertemplate = (
            translate("main.head_title", lang, layer="%{customdata[0]}", head="%{customdata[1]}") + "<extra></extra>"
        )
    return fig


def compare(
    capture: Capture,
    a: tuple[int, int] = (0, 0),
    b: tuple[int, int] = (0, 1),
    *,
    lang: str = "en",
    hide_special: bool = False,
    keep: np.ndarray | None | str = "hide_special",
) -> go.Figure:
    """Heads ``a`` and ``b`` (each ``(layer, head)``) side by side, and their difference A − B."""
    (a_layer, a_head), (b_layer, b_head) = a, b
    _check(capture, a_layer, a_head)
    _check(capture, b_layer, b_head)
    return attention.comparison(
        capture.pattern(a_layer)[a_head],
        capture.pattern(b_layer)[b_head],
        capture.tokens,
        name_a=translate("compare.name", lang, which="A", layer=a_layer, head=a_head),
        name_b=translate("compare.name", lang, which="B", layer=b_layer, head=b_head),
        # A cell either head could attend to is drawn: where only one could, the other's weight there is a real
        # 0 and the difference is that head's weight. (Two layers' masks differ only with per-layer windows.)
        allowed=capture.mask(a_layer) | capture.mask(b_layer),
        keep=_keep(capture, hide_special, keep),
        weight_limit=weight_limit(capture),
        lang=lang,
    )


def word_order(a: Capture, b: Capture, layer: int, head: int, *, lang: str = "en") -> list[go.Figure]:
    """The same words in two orders (the Word order page, its slides): head ``(layer, head)``'s map of A and of B,
    and, when B is a reordering of A's tokens, A − B with B's rows and columns put back in A's order."""
    figures = [
        attention.map_heatmap(a.pattern(layer)[head], a.tokens, title="A", lang=lang),
        attention.map_heatmap(b.pattern(layer)[head], b.tokens, title="B", lang=lang),
    ]
    diff = order_difference(a.pattern(layer)[head], b.pattern(layer)[head], a.tokens, b.tokens)
    if diff is not None:
        figures.append(
            attention.matrix_figure(
                diff,
                a.tokens,
                a.tokens,
                title=translate("order.diff_title", lang),
                diverging=True,
                x_title=translate("plot.key", lang),
                y_title=translate("plot.query", lang),
            )
        )
    return figures


def positional_encodings(
    n: int,
    d_model: int,
    *,
    model_name: str,
    learned: np.ndarray | None = None,
    rope: tuple[float, int] | None = None,
    lang: str = "en",
) -> dict[str, go.Figure]:
    """The Word order page's positions (and its slides'): the sinusoidal formula's first ``n`` positions ("sin"),
    the model's own ("own": its ``learned`` vectors, or RoPE's rotations for ``rope=(base, d_head)``), and each one's
    cosine similarity between positions ("sim_sin", "sim_own"); "own" and "sim_own" only when the model has either."""
    t = functools.partial(translate, lang=lang)

    def matrix(values: np.ndarray, title: str, x_title: str, y_title: str, **scale) -> go.Figure:
        return attention.matrix_figure(
            values, None, None, title=title, diverging=True, x_title=x_title, y_title=y_title, **scale
        )

    sin = sinusoidal(n, d_model)
    figures = {
        "sin": matrix(sin, t("order.sin_title", n=n, d=d_model), t("plot.dimension"), t("plot.position")),
        "sim_sin": matrix(cosine_similarity(sin), t("order.sim_sin"), t("plot.position"), t("plot.position")),
    }
    if learned is not None:
        # A few outlying dimensions (±1.8 where the rest are ±0.1) would set the whole scale and leave the map white:
        # the colours span the 99th percentile of |value| and saturate beyond it, which the colour bar says.
        limit = float(np.percentile(np.abs(learned), 99)) or None
        saturated = limit is not None and float(np.abs(learned).max()) > limit
        figures["own"] = matrix(
            learned,
            t("order.learned_title", model=model_name),
            t("plot.dimension"),
            t("plot.position"),
            limit=limit,
            limit_note=t("plot.clipped", limit=limit) if saturated else "",
        )
        own_similarity, own_title = cosine_similarity(learned), t("order.sim_learned")
    elif rope is not None:
        base, d_head = rope
        figures["own"] = matrix(
            np.cos(rotary_angles(n, d_head, base)),
            t("order.rope_title", model=model_name, base=f"{base:g}", d=d_head),
            t("order.rope_pair"),
            t("plot.position"),
        )
        own_similarity, own_title = rotary_similarity(n, d_head, base), t("order.sim_rope")
    else:
        return figures
    figures["sim_own"] = matrix(own_similarity, own_title, t("plot.position"), t("plot.position"))
    return figures


def _window(chosen: int, count: int, fits: int) -> list[int]:
    """The ``fits`` consecutive indices of ``range(count)`` that hold ``chosen`` as near their middle as possible."""
    fits = max(1, min(fits, count))
    start = min(max(chosen - fits // 2, 0), count - fits)
    return list(range(start, start + fits))


def _how_many_fit(fig: go.Figure, budget_bytes: int) -> int:
    return max(1, budget_bytes // max(1, len(fig.to_json())))


def head_heatmap_slider(
    capture: Capture,
    layer: int = 0,
    head: int = 0,
    *,
    lang: str = "en",
    hide_special: bool = False,
    budget_bytes: int = SLIDER_BUDGET_BYTES,
) -> go.Figure:
    """:func:`head_heatmap` of ``head`` with a slider over the heads of ``layer``.

    Within ``budget_bytes`` of JSON every head of the layer is on the slider; a longer text keeps the heads
    nearest ``head`` (the builder block-averages a very long text's map already).
    """
    chosen = head_heatmap(capture, layer, head, lang=lang, hide_special=hide_special)
    heads = _window(head, capture.n_heads, _how_many_fit(chosen, budget_bytes))
    figures = [
        chosen if h == head else head_heatmap(capture, layer, h, lang=lang, hide_special=hide_special) for h in heads
    ]
    return with_slider(
        figures, [str(h) for h in heads], active=heads.index(head), prefix=translate("main.head", lang) + ": "
    )


def layer_grid_slider(
    capture: Capture,
    layer: int = 0,
    head: int | None = None,
    *,
    lang: str = "en",
    hide_special: bool = False,
    budget_bytes: int = SLIDER_BUDGET_BYTES,
) -> go.Figure:
    """:func:`layer_grid` of ``layer`` with a slider over the layers (``head`` framed in each)."""
    chosen = layer_grid(capture, layer, head=head, lang=lang, hide_special=hide_special)
    layers = _window(layer, capture.n_layers, _how_many_fit(chosen, budget_bytes))
    figures = [
        chosen if l == layer else layer_grid(capture, l, head=head, lang=lang, hide_special=hide_special)
        for l in layers
    ]
    return with_slider(
        figures, [str(l) for l in layers], active=layers.index(layer), prefix=translate("main.layer", lang) + ": "
    )


def _same(a, b) -> bool:
    return json.dumps(a, sort_keys=True, default=str) == json.dumps(b, sort_keys=True, default=str)


def _differing(entries: list[dict], base: dict) -> list[str]:
    """The keys whose value differs from ``base``'s in at least one of ``entries``."""
    keys = {key for entry in entries for key in entry}
    return sorted(key for key in keys if any(not _same(entry.get(key), base.get(key)) for entry in entries))


def with_slider(figures: list[go.Figure], labels: list[str], *, active: int, prefix: str) -> go.Figure:
    """One figure that shows any of ``figures`` (built alike: same traces, fixed margins) through a slider.

    ``figures[active]`` is drawn first and gets the slider; each step restyles the trace properties and
    relayouts the layout entries in which its figure differs (the maps, colour ranges, titles, frames), so
    what the slider shows is exactly what the builder drew. Plotly.js does the switching: no kernel needed.
    """
    base = figures[active]
    margin, height = base.layout.margin, base.layout.height
    if any(len(fig.data) != len(base.data) for fig in figures):
        raise ValueError("with_slider needs figures with the same traces")
    if margin.t is None or margin.b is None or height is None:
        raise ValueError("with_slider needs figures with a fixed height and top and bottom margins")
    # to_dict: arrays as Plotly's base64 typed-array specs, which plotly.js decodes in restyle as in newPlot.
    dicts = [fig.to_dict() for fig in figures]
    base_traces = dicts[active]["data"]
    trace_keys = [_differing([d["data"][i] for d in dicts], base_traces[i]) for i in range(len(base_traces))]
    restyled = sorted({key for keys in trace_keys for key in keys})
    relaid = _differing([d["layout"] for d in dicts], dicts[active]["layout"])
    steps = []
    for label, d in zip(labels, dicts):
        # restyle takes one value per trace: the step's own where that trace differs, else the unchanged one
        restyle = {
            key: [
                trace.get(key) if key in keys else base_trace.get(key)
                for trace, base_trace, keys in zip(d["data"], base_traces, trace_keys)
            ]
            for key in restyled
        }
        relayout = {key: d["layout"].get(key) for key in relaid}  # None (JSON null) resets an entry the step lacks
        steps.append(dict(method="update", label=label, args=[restyle, relayout]))
    base.update_layout(
        # The slider hangs from the bottom of the plot, padded past the old margin (the key labels stay where they
        # were) into room added below. Padding in px, not a paper y: that would scale with the plot's height.
        sliders=[
            dict(
                active=active,
                steps=steps,
                currentvalue=dict(prefix=prefix),
                x=0,
                len=1,
                y=0,
                yanchor="top",
                pad=dict(t=margin.b + 8, b=0),
            )
        ],
        height=height + SLIDER_ROOM,
        margin=dict(b=margin.b + SLIDER_ROOM),
    )
    return base
