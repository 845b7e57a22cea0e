"""attnviz.figures.importance: the Head importance page's figures carry exactly the arrays given, escape every
token, and speak Chinese when asked."""

import numpy as np
import plotly.graph_objects as go

from attnviz.figures import importance as figs

HOSTILE = ["<s>", "<b>x</b>", " ", "a&b", "<img src=x onerror=alert(1)>", "\n"]


def strings(value):
    """Every string anywhere in a figure's JSON (labels, hover templates, customdata, titles)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, (list, tuple, np.ndarray)):
        for item in value:
            yield from strings(item)


def assert_escaped(fig: go.Figure) -> None:
    everything = list(strings(fig.to_plotly_json()))
    assert not any("<b>x</b>" in s or "<img" in s or "<s>" in s for s in everything)
    assert any("&lt;b&gt;x&lt;/b&gt;" in s for s in everything)


def test_loss_per_token_carries_both_arrays_with_escaped_readable_tokens():
    clean = np.array([2.5, 0.25, 1.125, 3.0, 0.5], dtype=np.float32)
    ablated = np.array([2.75, 0.5, 1.0, 3.5, 0.75], dtype=np.float32)
    fig = figs.loss_per_token(clean, ablated, HOSTILE, title="loss")
    before, after = fig.data
    np.testing.assert_array_equal(before.y, clean)
    np.testing.assert_array_equal(after.y, ablated)
    assert list(before.x) == list(range(5))
    # the x axis names the predicted token (token i + 1), readable (␣, ↵) and escaped
    assert list(fig.layout.xaxis.ticktext) == [
        "&lt;b&gt;x&lt;/b&gt;",
        "␣",
        "a&amp;b",
        "&lt;img␣src=x␣onerror=alert(1)&gt;",
        "↵",
    ]  # every space visible
    assert [tuple(row) for row in before.customdata[:2]] == [
        ("&lt;s&gt;", "&lt;b&gt;x&lt;/b&gt;"),
        ("&lt;b&gt;x&lt;/b&gt;", "␣"),
    ]
    assert_escaped(fig)
    assert fig.layout.xaxis.title.text == "predicted token" and fig.layout.yaxis.title.text == "loss (nats)"
    assert before.name == "before (clean)" and after.name == "after (ablated)"


def test_token_cosine_carries_the_array_and_a_line_at_one():
    cosine = np.array([1.0, 0.999, 0.5, 0.875, 0.99, 1.0])
    fig = figs.token_cosine(cosine, HOSTILE)
    line, points = fig.data
    np.testing.assert_array_equal(points.y, cosine)
    assert list(line.y) == [1.0, 1.0]
    assert list(points.customdata) == figs.token_labels(HOSTILE)
    assert_escaped(fig)


def test_layer_head_map_carries_the_values_and_every_cell_its_head():
    values = np.arange(24, dtype=np.float32).reshape(4, 6) / 100
    extra = values * 2
    fig = figs.layer_head_map(
        values, title="t", value_name="v", extra=extra, extra_name="max", marked=[(1, 2), (3, 5), (9, 9)]
    )
    heat, cells, marks = fig.data
    np.testing.assert_array_equal(heat.z, values)
    assert heat.zmin == 0 and heat.zmax == np.float32(0.23)
    layer, head, label, value, top = cells.customdata[2 * 6 + 4]  # row-major: layer 2, head 4
    assert (layer, head, label) == (2, 4, "L2 H4") and value == float(values[2, 4]) and top == float(extra[2, 4])
    assert (cells.x[2 * 6 + 4], cells.y[2 * 6 + 4]) == (4, 2)
    assert list(zip(marks.y, marks.x)) == [(1, 2), (3, 5)]  # a head the model does not have is not drawn
    assert marks.hoverinfo == "skip"  # a click lands on the cell's square, never on the cross
    assert fig.layout.clickmode is None
    assert fig.layout.yaxis.autorange is None and list(fig.layout.yaxis.range) == [3.5, -0.5]  # layer 0 on top


def test_a_clickable_signed_map_is_centred_on_zero():
    values = np.array([[0.5, -0.25], [0.0, 0.125]])
    fig = figs.layer_head_map(values, signed=True, clickable=True)
    heat = fig.data[0]
    assert heat.zmin == -0.5 and heat.zmax == 0.5
    assert fig.layout.clickmode == "event+select"
    assert len(fig.data) == 2  # nothing marked: no crosses
    all_zero = figs.layer_head_map(np.zeros((2, 3)))
    assert all_zero.data[0].zmax == 1.0  # an all-zero map still has a scale (white, not undefined)


def test_chinese_axis_titles_legends_and_hover_words():
    fig = figs.loss_per_token(np.ones(2), np.ones(2), ["a", "b", "c"], lang="zh")
    assert fig.layout.xaxis.title.text == "被预测的词元" and fig.layout.yaxis.title.text == "损失（nat）"
    assert fig.data[0].name == "消融前（干净）" and "nat" in fig.data[1].hovertemplate
    cosine = figs.token_cosine(np.ones(3), ["a", "b", "c"], lang="zh")
    assert cosine.layout.xaxis.title.text == "词元" and cosine.layout.yaxis.title.text == "与原来的余弦相似度"
    grid = figs.layer_head_map(np.zeros((2, 2)), marked=[(0, 0)], lang="zh")
    assert grid.layout.xaxis.title.text == "头" and grid.layout.yaxis.title.text == "层"
    assert grid.data[2].name == "已消融"


def test_long_texts_thin_out_the_token_labels():
    n = 300
    fig = figs.loss_per_token(np.zeros(n), np.zeros(n), [f"t{i}" for i in range(n + 1)])
    assert len(fig.layout.xaxis.ticktext) <= figs.MAX_TOKEN_TICKS and len(fig.data[0].y) == n


def test_rounding_is_never_drawn_as_a_change_in_the_token_cosine():
    """With nothing ablated, 1 − cosine is ~1e-16: drawn to scale it zig-zagged across an axis without labels."""
    from attnviz.figures.importance import token_cosine

    noise = 1.0 - np.array([1e-16, 3e-12, 0.0, 2e-9])
    fig = token_cosine(noise, ["a", "b", "c", "d"])
    assert list(fig.data[1].y) == [1.0] * 4
    low, high = fig.layout.yaxis.range
    assert high - low >= 0.05 and low < 1.0 < high  # a readable axis around 1, not a zoom into rounding
    moved = token_cosine(np.array([1.0, 0.7, 0.99, 1.0]), ["a", "b", "c", "d"])
    assert list(moved.data[1].y) == [1.0, 0.7, 0.99, 1.0] and moved.layout.yaxis.range[0] < 0.7
