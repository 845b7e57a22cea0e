"""The one style (attnviz/figures/style.py): label widths, colour-bar room, and one template policy for every figure:
every builder of the attnviz.figures package, found by reading the package, is checked or excluded with a reason."""

import importlib
import inspect
import pkgutil

from types import SimpleNamespace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from attnviz import figures
from attnviz.analysis import flow as flow_analysis
from attnviz.analysis.steps import online_softmax
from attnviz.figures import attention as plots
from attnviz.analysis.kernel_blocks import census_of_mask
from attnviz.analysis.sinks import SinkExperiment
from attnviz.figures import (
    capture_views,
    dcmha,
    flow,
    heads,
    importance,
    kernel_blocks,
    patches,
    seq2seq,
    sinks,
    steps,
    style,
)
from notebooks import synthetic_capture


def test_label_width_counts_wide_characters_and_entities_as_shown():
    assert style.text_width("猫猫") == pytest.approx(2 * 12)  # CJK: one em each
    assert style.text_width("🍕") == pytest.approx(12)
    assert style.text_width("ab") == pytest.approx(2 * 0.62 * 12)
    assert style.text_width("&lt;b&gt;") == style.text_width("<b>")  # measured as drawn, not as escaped
    p = np.full((2, 2), 0.5)
    assert plots.map_heatmap(p, ["猫猫猫猫", "a"]).layout.margin.l > plots.map_heatmap(p, ["abcd", "a"]).layout.margin.l


def test_colour_bar_room_fits_its_title():
    assert style.colorbar_room("weight") == style.COLORBAR_ROOM
    assert style.colorbar_room("a much longer colour bar title") > style.COLORBAR_ROOM


def _templates_sent(fig) -> object:
    return fig.to_plotly_json()["layout"].get("template")


def _public_functions():
    """``("module.name", return annotation)`` of every public function defined in the attnviz.figures package, found by
    reading the package (its modules, their functions' signatures), not from a list. The annotation is resolved in
    its module's names (``from __future__ import annotations`` keeps it a string); None when it is missing or cannot
    be resolved."""
    for info in pkgutil.walk_packages(figures.__path__, figures.__name__ + "."):
        module = importlib.import_module(info.name)
        for name, member in vars(module).items():
            function = inspect.unwrap(member) if callable(member) else None
            if name.startswith("_") or not inspect.isfunction(function) or function.__module__ != module.__name__:
                continue  # private, not a function, or imported from elsewhere (found where it is defined)
            returns = inspect.signature(function).return_annotation
            try:
                returns = eval(returns, vars(module)) if isinstance(returns, str) else returns
            except Exception:  # a name the module does not hold
                returns = None
            yield (
                f"{info.name.removeprefix(figures.__name__ + '.')}.{name}",
                (None if returns is inspect.Signature.empty else returns),
            )


def _figure_builders() -> set[str]:
    """Every public function of the attnviz.figures package that returns a ``go.Figure``."""
    return {
        name for name, returns in _public_functions() if isinstance(returns, type) and issubclass(returns, go.Figure)
    }


# Functions that return a figure but build none of their own: each says why it is not checked here.
EXCLUDED = {
    "style.finish": "styles a figure a builder made; every static builder checked here ends with it",
    "style.live_figure": "assembles a live map from its builder's traces and layout; every live builder is checked here",
}


def _block_map():
    """A BlockMap of a 12-token text at 4 × 4 blocks, of tiles.block_map's own type."""
    from attnviz.tiles import BlockMap

    rng = np.random.default_rng(5)
    starts = np.arange(0, 12, 3)
    weight = rng.random((4, 4)).astype(np.float32)
    return BlockMap(
        mean=weight / 3,
        weight=weight,
        query=rng.integers(0, 12, (4, 4)),
        key=rng.integers(0, 12, (4, 4)),
        score=rng.normal(size=(4, 4)).astype(np.float32),
        row_starts=starts,
        col_starts=starts,
        rows=slice(0, 12),
        cols=slice(0, 12),
    )


def _every_figure():
    """How to make one figure of each builder, static or live map, by its name in _figure_builders()."""
    rng = np.random.default_rng(0)
    p = np.tril(np.ones((4, 4)))
    p /= p.sum(-1, keepdims=True)
    allowed = p > 0
    tokens = ["a", "b", "c", "d"]
    stages = {k: np.stack([p] * 2) for k in ("raw", "composed", "probs", "pattern")}
    parts = {k: rng.normal(size=(2, 2)) for k in ("identity", "query", "key", "C")}
    capture = synthetic_capture(tokens)
    picture = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)  # an image of 4 × 4 patches of 4 pixels
    masked = np.where(allowed[3], rng.normal(size=4), -np.inf)
    row = SimpleNamespace(masked=masked, probs=p[3], tokens=tokens, allowed=allowed[3], first=0, query=3)  # a Steps
    table = pd.DataFrame(
        {
            "layer": [0, 0, 1, 1],
            "head": [0, 1, 0, 1],
            "pattern_erank": [1.0, 2.0, 3.0, 4.0],
            "pattern_rank90": [1, 2, 1, 2],
            "scores_erank": [1.0, 2.0, 3.0, 4.0],
            "scores_rank90": [1, 1, 2, 2],
            "d_head": [4] * 4,
        }
    )
    projection = {
        "queries": rng.normal(size=(4, 2)),
        "keys": rng.normal(size=(4, 2)),
        "positions": np.arange(4),
        "explained_variance": np.array([0.5, 0.25]),
    }
    return {
        "attention.block_difference": lambda: plots.block_difference(_block_map(), _block_map()),
        "attention.block_heatmap": lambda: plots.block_heatmap(_block_map(), title="b"),
        "attention.comparison": lambda: plots.comparison(p, p.T, tokens, name_a="A", name_b="B", allowed=allowed),
        "attention.map_heatmap": lambda: plots.map_heatmap(p, tokens, allowed=allowed, title="h"),
        "attention.map_grid": lambda: plots.map_grid(np.stack([p] * 2), tokens, allowed=allowed),
        "attention.matrix_figure": lambda: plots.matrix_figure(rng.normal(size=(4, 4)), tokens, tokens, title="m"),
        "attention.maps_overview": lambda: plots.maps_overview([np.stack([p] * 2)] * 2, selected=(1, 0)),
        "capture_views.compare": lambda: capture_views.compare(capture),
        "capture_views.head_heatmap": lambda: capture_views.head_heatmap(capture),
        "capture_views.head_heatmap_slider": lambda: capture_views.head_heatmap_slider(capture),
        "capture_views.layer_grid": lambda: capture_views.layer_grid(capture),
        "capture_views.layer_grid_slider": lambda: capture_views.layer_grid_slider(capture),
        "capture_views.overview": lambda: capture_views.overview(capture),
        "capture_views.with_slider": lambda: capture_views.with_slider(
            [plots.map_heatmap(p, tokens), plots.map_heatmap(p.T, tokens)], ["0", "1"], active=0, prefix="h: "
        ),
        "dcmha.compose_parts": lambda: dcmha.compose_parts(parts, title="c", part_titles={}),
        "dcmha.draw_matrices": lambda: dcmha.draw_matrices([("a", np.abs(parts["C"]))], title="d"),
        "dcmha.head_bars": lambda: dcmha.head_bars({"a": np.ones(2)}, title="b"),
        "dcmha.stage_figure": lambda: dcmha.stage_figure(
            {k: v[0] for k, v in stages.items()},
            tokens,
            allowed,
            title="s",
            panel_titles={k: k for k in ("raw", "composed", "dpre", "probs", "pattern", "dpost")},
        ),
        "dcmha.stage_grid": lambda: dcmha.stage_grid(stages, allowed, title="g", column_titles={k: k for k in stages}),
        "dcmha.side_by_side": lambda: dcmha.side_by_side([("a", p), ("b", p)], tokens, allowed, title="x"),
        "dcmha.head_grid": lambda: dcmha.head_grid(np.stack([p] * 2), allowed, title="h"),
        "dcmha.token_head_maps": lambda: dcmha.token_head_maps(
            {"g": rng.normal(size=(4, 2))}, tokens, title="t", panel_titles={}
        ),
        "flow.flow_graph": lambda: flow.flow_graph(flow_analysis.flow_edges(np.stack([p] * 2), top_k=2), tokens, 2),
        "flow.qk_scatter": lambda: flow.qk_scatter(projection, tokens),
        "flow.rollout_map": lambda: flow.rollout_map(p, tokens, allowed=allowed),
        "heads.rank_bars": lambda: heads.rank_bars(table, d_head=4),
        "heads.similarity_matrix": lambda: heads.similarity_matrix(
            1 - np.eye(4), ["L0 H0", "L0 H1", "L1 H0", "L1 H1"], is_distance=True
        ),
        "kernel_blocks.kernel_blocks_figure": lambda: kernel_blocks.kernel_blocks_figure(
            census_of_mask(lambda rows: allowed[rows], 4, 2)
        ),
        "sinks.sink_losses_figure": lambda: sinks.sink_losses_figure(
            SinkExperiment(2, 1, rng.random(6), rng.random(6), rng.random(6), 0.01)
        ),
        "importance.layer_head_map": lambda: importance.layer_head_map(rng.random((2, 2)), value_name="v"),
        "importance.loss_per_token": lambda: importance.loss_per_token(np.ones(3), np.full(3, 1.5), tokens),
        "importance.token_cosine": lambda: importance.token_cosine(np.ones(4), tokens),
        "seq2seq.attention_map": lambda: seq2seq.attention_map(p, tokens, tokens, allowed=allowed, title="a"),
        "seq2seq.heads_row": lambda: seq2seq.heads_row(
            np.stack([p] * 2), tokens, tokens, allowed=allowed, highlight_row=1, title="r"
        ),
        "seq2seq.next_token_bar": lambda: seq2seq.next_token_bar(np.full(4, 0.25), tokens, 1, title="n"),
        "steps.attention_weights": lambda: steps.attention_weights(row, lang="zh"),
        "steps.key_bars": lambda: steps.key_bars(p[3], tokens, title="k"),
        "steps.masked_scores": lambda: steps.masked_scores(row),
        "steps.online_softmax_figure": lambda: steps.online_softmax_figure(
            masked, online_softmax(masked, rng.normal(size=(4, 2)), 2)[0], tokens, title="o"
        ),
        "steps.probability_bars": lambda: steps.probability_bars(p[3], tokens, allowed=allowed[3], title="p"),
        "steps.projection_split": lambda: steps.projection_split(rng.normal(size=(8, 8)), head=1, d_head=4),
        "steps.vector_rows": lambda: steps.vector_rows(rng.normal(size=(2, 4)), ["x", "y"], title="v"),
        "patches.patch_overlay": lambda: patches.patch_overlay(picture, rng.random((4, 4)), query=(1, 2), title="o"),
        "patches.overlay_grid": lambda: patches.overlay_grid(picture, rng.random((2, 3, 4, 4)), selected=(1, 1)),
        "patches.class_bars": lambda: patches.class_bars(np.full(4, 0.25), tokens, unmasked=np.full(4, 0.25)),
        "patches.distance_figure": lambda: patches.distance_figure(rng.random((2, 3)) * 8, patch_pixels=4),
        "patches.position_grid": lambda: patches.position_grid(rng.uniform(-1, 1, (3, 3, 3, 3))),
    }


CHECKED = sorted(_figure_builders() - EXCLUDED.keys())


def test_every_figure_builder_is_checked_or_excluded_with_a_reason():
    unknown = [name for name, returns in _public_functions() if returns is None]
    assert not unknown, f"functions of attnviz.figures whose return type is missing or unresolvable: {unknown}"
    builders, examples = _figure_builders(), set(_every_figure())
    unchecked = builders - examples - EXCLUDED.keys()
    assert not unchecked, f"figure builders neither checked here nor in EXCLUDED with a reason: {sorted(unchecked)}"
    assert not (examples | EXCLUDED.keys()) - builders, "listed here but not a figure builder of attnviz.figures"
    assert not examples & EXCLUDED.keys() and all(reason.strip() for reason in EXCLUDED.values())


def _figure(name: str, monkeypatch):
    """One figure of builder ``name``, made by that very builder: its result is the figure checked."""
    made = _every_figure().get(name)
    assert made is not None, f"{name} returns a figure: give it an example in _every_figure() or a reason in EXCLUDED"
    module_name, function = name.split(".")
    module = importlib.import_module(f"{figures.__name__}.{module_name}")
    builder, returned = getattr(module, function), []

    def spy(*args, **kwargs):
        returned.append(builder(*args, **kwargs))
        return returned[-1]

    monkeypatch.setattr(module, function, spy)
    fig = made()
    assert returned and fig is returned[-1], f"the example for {name} is not made by {name}"
    return fig


@pytest.mark.parametrize("name", CHECKED)
def test_every_figure_follows_the_one_template_policy(name, monkeypatch):
    # One look on every page and in every export: template "none" (white, Plotly's default colours, the app's font),
    # never plotly.py's default template with its blue-grey background, which the DCMHA page used to pin.
    # A figure sent without a template (the live maps) is drawn with plotly.js's own defaults: the same look.
    fig = _figure(name, monkeypatch)
    template = _templates_sent(fig)
    assert template is None or template == pio.templates["none"].to_plotly_json()
    assert fig.layout.font.family == style.FONT["family"]


@pytest.mark.parametrize("name", CHECKED)
def test_every_axis_makes_room_for_its_labels_and_lets_them_be(name, monkeypatch):
    # Labels that fit need no check against the figure's edge (style.ROOMY_AXIS): Plotly's default measured every
    # tick label on every redraw, 80 ms of a 128-token map's 100 (benchmarks/plotly_redraw.py).
    fig = _figure(name, monkeypatch)
    axes = [fig.layout[key] for key in fig.to_plotly_json()["layout"] if key[1:5] == "axis"]
    fixed = fig.layout.margin.autoexpand is False  # margins computed from the labels (style.fixed_layout)
    assert axes and all((fixed or axis.automargin is True) and axis.ticklabeloverflow == "allow" for axis in axes)


def test_maps_side_by_side_share_one_scale_and_one_meaning_of_each_colour():
    """A DCFormer post-composed map with a negative weight beside an MHA softmax: both diverging, one limit."""
    p = np.tril(np.ones((4, 4)))
    p /= p.sum(-1, keepdims=True)
    negative = p.copy()
    negative[3, 0] = -0.2
    fig = dcmha.side_by_side([("dc", negative), ("mha", p)], list("abcd"), p > 0, title="")
    left, right = fig.data
    assert left.zmid == right.zmid == 0 and left.zmin == right.zmin and left.zmax == right.zmax
    assert [tuple(c) for c in left.colorscale] == [tuple(c) for c in right.colorscale]


# --- a figure on a slide (style.fit_to_box) ----------------------------------------------------------------------------


def _fonts(fig: go.Figure) -> list[tuple[str, float | None]]:
    """Every font size a figure states for text it draws: ticks, axis titles, annotations, colour bars, bar labels."""
    found = [("layout", fig.layout.font.size)]
    for key in fig.layout:
        if style._AXIS_NAME.match(key):
            found += [(f"{key} ticks", fig.layout[key].tickfont.size)]
    found += [("annotation", a.font.size) for a in fig.layout.annotations]
    for trace in fig.data:
        if "colorbar" in trace and trace.showscale is not False:
            found += [
                ("colour bar", trace.colorbar.tickfont.size),
                ("colour-bar title", trace.colorbar.title.font.size),
            ]
        if trace.type == "bar" and trace.text is not None:
            found += [("bar label", trace.textfont.size)]
    return found


@pytest.mark.parametrize("name", CHECKED)
def test_every_figure_fits_a_slide_box_with_no_text_below_the_slide_size(name, monkeypatch):
    fig = _figure(name, monkeypatch)
    step = style.fit_to_box(fig, 600, 420, tick_px=14, font_px=17)
    assert step >= 1 and (fig.layout.width, fig.layout.height) == (600, 420)
    small = [(what, size) for what, size in _fonts(fig) if size is None or size < 14]
    assert not small, f"{name}: text below 14 px on a slide: {small}"
    assert fig.layout.margin.autoexpand is not False  # Plotly grows the margins to hold the larger labels
    fig.to_json()  # still a valid figure


def test_a_long_sentence_keeps_its_labels_at_slide_size_and_labels_every_kth_token():
    n = 60
    tokens = [f"w{i}" for i in range(n)]
    p = np.full((n, n), 1.0 / n)
    fig = plots.map_heatmap(p, tokens, title="head")
    assert fig.layout.yaxis.tickfont.size < 14  # the page's size for 60 tokens
    step = style.fit_to_box(fig, 520, 520, tick_px=14)
    assert step > 1 and fig.layout.yaxis.tickfont.size == 14 == fig.layout.xaxis.tickfont.size
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        values = list(axis.tickvals)
        assert list(axis.ticktext) == [f"w{v}" for v in values]  # each label still names its own token
        # neighbours at least a line apart in a plot of at most 520 px over 60 rows
        assert min(np.diff(values)) * 520 / n >= 1.3 * 14
    assert fig.layout.title.pad.b >= 14  # the title stays clear of the top row's label


def test_bars_over_token_names_are_thinned_over_every_subplot_that_shares_the_axis():
    tokens = [f"tok{i}" for i in range(40)]
    masked = np.random.default_rng(0).normal(size=40)
    online, _, _ = online_softmax(masked, np.ones((40, 2)), 4)
    fig = steps.online_softmax_figure(masked, online, tokens, title="t")
    step = style.fit_to_box(fig, 480, 420, tick_px=14)
    names = [f"{i}: {t}" for i, t in enumerate(tokens)]
    shown = [axis for key in fig.layout if key.startswith("xaxis") and (axis := fig.layout[key]).tickvals]
    assert step > 1 and shown
    for axis in shown:  # every key of the row, not only the blocks' centres the lower subplot draws bars at
        assert list(axis.tickvals) == names[::step]


def test_a_long_title_is_wrapped_to_the_box_and_bar_labels_turn_or_go_rather_than_collide():
    title = "The row of “was”, 4 keys at a time, as FlashAttention computes it, with more words"
    fig = steps.key_bars(np.linspace(0, 1, 30), [f"t{i}" for i in range(30)], title=title, allowed=np.ones(30, bool))
    style.fit_to_box(fig, 420, 400, tick_px=14, font_px=17)
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) > 1 and all(style.text_width(line, 19) <= 400 for line in lines)
    assert " ".join(lines) == title
    bars = next(trace for trace in fig.data if trace.type == "bar")
    assert bars.textangle == -90 or bars.textposition == "none"
    narrow = steps.key_bars(np.linspace(0, 1, 80), [f"t{i}" for i in range(80)], title="", allowed=np.ones(80, bool))
    style.fit_to_box(narrow, 400, 400, tick_px=14)
    assert next(t for t in narrow.data if t.type == "bar").textposition == "none"  # 5 px a bar: no room even upright
    assert style.wrap_text("注意力" * 30, 200, 20).count("<br>") >= 3  # text without spaces breaks anywhere


def test_a_pages_figure_keeps_its_tick_labels_apart_in_the_narrowest_column():
    """Tick labels thinned for the width a column has on a 1280 × 720 screen, at the figure's own font size: a
    DCMHA stage grid of character tokens piled its turned labels into one another at a third of the page."""
    n = 50
    tokens = [f"c{i}" for i in range(n)]
    p = np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None]
    wide = plots.map_heatmap(p, tokens, title="h")
    assert style.fit_ticks_to_width(wide, 2000) == 1 and len(wide.layout.xaxis.ticktext) == n  # room: untouched
    narrow = plots.map_heatmap(p, tokens, title="h")
    step = style.fit_ticks_to_width(narrow, 260)
    ticks = list(narrow.layout.xaxis.tickvals)
    m = narrow.layout.margin
    apart = (ticks[1] - ticks[0]) * (260 - m.l - m.r) / n
    size = narrow.layout.xaxis.tickfont.size
    assert step > 1 and apart >= (size + 2) / np.sin(np.radians(60)) - 0.5  # turned labels clear of each other
    assert narrow.layout.xaxis.tickfont.size == wide.layout.xaxis.tickfont.size  # thinned, never shrunk
    # a square map: its columns are as wide as its rows are tall, however wide the column
    square = plots.map_heatmap(p, tokens, square_width=600)
    rows_px = (square.layout.height - square.layout.margin.t - square.layout.margin.b) / n
    style.fit_ticks_to_width(square, 3000)
    kept = list(square.layout.xaxis.tickvals)
    assert (kept[1] - kept[0]) * rows_px >= (size + 2) / np.sin(np.radians(60)) - 0.5
