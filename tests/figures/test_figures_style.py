"""The one style (attnviz/figures/style.py): label widths, colour-bar room, and one template policy for every figure."""

import numpy as np
import plotly.io as pio
import pytest

from attnviz.figures import attention as plots
from attnviz.figures import dcmha, seq2seq, steps, style


def test_label_width_counts_wide_characters_and_entities_as_shown():
    assert style.text_width("猫猫") == pytest.approx(2 * 12)  # CJK: one em each
    assert style.text_width("🍕") == pytest.approx(12)
    assert style.text_width("ab") == pytest.approx(2 * 0.62 * 12)
    assert style.text_width("&lt;b&gt;") == style.text_width("<b>")  # measured as drawn, not as escaped
    p = np.full((2, 2), 0.5)
    assert (
        plots.head_heatmap(p, ["猫猫猫猫", "a"]).layout.margin.l > plots.head_heatmap(p, ["abcd", "a"]).layout.margin.l
    )


def test_colour_bar_room_fits_its_title():
    assert style.colorbar_room("weight") == style.COLORBAR_ROOM
    assert style.colorbar_room("a much longer colour bar title") > style.COLORBAR_ROOM


def _templates_sent(fig) -> object:
    return fig.to_plotly_json()["layout"].get("template")


def _every_static_figure():
    """One figure of each builder that is not a live map, from every figures module."""
    rng = np.random.default_rng(0)
    p = np.tril(np.ones((4, 4)))
    p /= p.sum(-1, keepdims=True)
    allowed = p > 0
    tokens = ["a", "b", "c", "d"]
    stages = {k: np.stack([p] * 2) for k in ("raw", "composed", "probs", "pattern")}
    parts = {k: rng.normal(size=(2, 2)) for k in ("identity", "query", "key", "C")}
    return {
        "attention.matrix_figure": plots.matrix_figure(rng.normal(size=(4, 4)), tokens, tokens, title="m"),
        "dcmha.compose_parts": dcmha.compose_parts(parts, title="c", part_titles={}),
        "dcmha.draw_matrices": dcmha.draw_matrices([("a", np.abs(parts["C"]))], title="d"),
        "dcmha.head_bars": dcmha.head_bars({"a": np.ones(2)}, title="b"),
        "dcmha.stage_figure": dcmha.stage_figure(
            {k: v[0] for k, v in stages.items()},
            tokens,
            allowed,
            title="s",
            panel_titles={k: k for k in ("raw", "composed", "dpre", "probs", "pattern", "dpost")},
        ),
        "dcmha.stage_grid": dcmha.stage_grid(stages, allowed, title="g", column_titles={k: k for k in stages}),
        "dcmha.side_by_side": dcmha.side_by_side([("a", p), ("b", p)], tokens, allowed, title="x"),
        "dcmha.head_grid": dcmha.head_grid(np.stack([p] * 2), allowed, title="h"),
        "dcmha.token_head_maps": dcmha.token_head_maps(
            {"g": rng.normal(size=(4, 2))}, tokens, title="t", panel_titles={}
        ),
        "steps.key_bars": steps.key_bars(p[3], tokens, title="k"),
        "steps.vector_rows": steps.vector_rows(rng.normal(size=(2, 4)), ["x", "y"], title="v"),
        "seq2seq.attention_map": seq2seq.attention_map(p, tokens, tokens, allowed=allowed, title="a"),
        "seq2seq.heads_row": seq2seq.heads_row(
            np.stack([p] * 2), tokens, tokens, allowed=allowed, highlight_row=1, title="r"
        ),
    }


@pytest.mark.parametrize("name", list(_every_static_figure()))
def test_every_figure_follows_the_one_template_policy(name):
    # One look on every page and in every export: template "none" (white, Plotly's default colours, the app's font),
    # never plotly.py's default template with its blue-grey background, which the DCMHA page used to pin.
    # A figure sent without a template (the live maps) is drawn with plotly.js's own defaults: the same look.
    fig = _every_static_figure()[name]
    template = _templates_sent(fig)
    assert template is None or template == pio.templates["none"].to_plotly_json()
    assert fig.layout.font.family == style.FONT["family"]


@pytest.mark.parametrize("name", list(_every_static_figure()))
def test_every_axis_makes_room_for_its_labels_and_lets_them_be(name):
    # Labels that fit need no check against the figure's edge (style.ROOMY_AXIS): Plotly's default measured every
    # tick label on every redraw, 80 ms of a 128-token map's 100 (benchmarks/plotly_redraw.py).
    fig = _every_static_figure()[name]
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
