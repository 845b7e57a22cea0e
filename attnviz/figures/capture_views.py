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

import json
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from ..i18n import translate
from ..masks import kept_positions
from . import attention

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


def head_heatmap(
    capture: Capture, layer: int = 0, head: int = 0, *, lang: str = "en", hide_special: bool = False
) -> go.Figure:
    """One head's attention map: queries on rows, keys on columns, masked cells grey, raw scores in the hover."""
    _check(capture, layer, head)
    return attention.map_heatmap(
        capture.pattern(layer)[head],
        capture.tokens,
        scores=_scores(capture, layer, head),
        allowed=capture.mask(layer),
        keep=kept_positions(capture.special, capture.key_is_real, hide_special),
        title=translate("main.head_title", lang, layer=layer, head=head),
        lang=lang,
    )


def layer_grid(
    capture: Capture, layer: int = 0, *, head: int | None = None, lang: str = "en", hide_special: bool = False
) -> go.Figure:
    """Every head of one layer as small maps; ``head`` is framed."""
    _check(capture, layer, head)
    return attention.map_grid(
        capture.pattern(layer),
        capture.tokens,
        allowed=capture.mask(layer),
        keep=kept_positions(capture.special, capture.key_is_real, hide_special),
        layer=layer,
        selected_head=head,
        lang=lang,
    )


def overview(
    capture: Capture, *, layer: int | None = None, head: int | None = None, lang: str = "en", hide_special: bool = False
) -> go.Figure:
    """All layers × all heads as thumbnails, each scaled to its own maximum; (layer, head) framed when both given."""
    if layer is not None:
        _check(capture, layer, head)
    selected = (layer, head) if layer is not None and head is not None else None
    fig = attention.maps_overview(
        [capture.pattern(l) for l in range(capture.n_layers)],
        keep=kept_positions(capture.special, capture.key_is_real, hide_special),
        selected=selected,
        lang=lang,
    )
    # The builder's hover invites a click, which only the app answers; here it just names the thumbnail.
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
        keep=kept_positions(capture.special, capture.key_is_real, hide_special),
        lang=lang,
    )


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
