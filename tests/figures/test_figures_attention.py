"""Figure builders, checked without a browser: traces, labels, hover text, masked cells."""

import warnings

import numpy as np
import pytest
import plotly.graph_objects as go

from attnviz.figures import attention as plots

TOKENS = ["[CLS]", "<b>", "cat", "&", "[SEP]"]


def pattern_and_mask():
    allowed = np.tril(np.ones((5, 5), dtype=bool))
    p = np.where(allowed, 1.0, 0.0)
    p /= p.sum(-1, keepdims=True)
    return p, allowed


def test_head_heatmap_labels_are_escaped_and_hover_names_tokens():
    p, allowed = pattern_and_mask()
    scores = np.arange(25, dtype=float).reshape(5, 5)
    fig = plots.map_heatmap(p, TOKENS, scores=scores, allowed=allowed, title="L0 H0")
    assert isinstance(fig, go.Figure)
    (trace,) = fig.data
    assert list(fig.layout.yaxis.ticktext) == ["[CLS]", "&lt;b&gt;", "cat", "&amp;", "[SEP]"]
    assert list(fig.layout.xaxis.ticktext) == list(fig.layout.yaxis.ticktext)
    assert "customdata[0]" in trace.hovertemplate and "raw score" in trace.hovertemplate
    custom = np.asarray(trace.customdata)
    assert custom[2, 1, 0] == "cat" and custom[2, 1, 1] == "&lt;b&gt;" and float(custom[2, 1, 2]) == 11.0
    z = np.asarray(trace.z, dtype=float)
    assert np.isnan(z[0, 1:]).all() and not np.isnan(z[np.tril_indices(5)]).any()
    assert fig.layout.yaxis.range[0] > fig.layout.yaxis.range[1]  # reversed: first query on top


def test_hiding_special_tokens_keeps_positions():
    p, allowed = pattern_and_mask()
    fig = plots.map_heatmap(p, TOKENS, allowed=allowed, keep=np.array([1, 2, 3]))
    assert list(fig.layout.yaxis.ticktext) == ["&lt;b&gt;", "cat", "&amp;"]
    assert list(fig.data[0].y) == [1, 2, 3]
    np.testing.assert_allclose(np.asarray(fig.data[0].z, dtype=float)[2], [1 / 4, 1 / 4, 1 / 4])


def test_long_inputs_keep_hover_light_and_ticks_thinned():
    n = 400
    p = np.full((n, n), 1 / n)
    fig = plots.map_heatmap(p, [f"t{i}" for i in range(n)], scores=np.zeros((n, n)))
    assert np.asarray(fig.data[0].customdata).dtype != object
    assert len(fig.layout.yaxis.tickvals) <= 64


def test_downsample_block_means():
    m = np.arange(16, dtype=float).reshape(4, 4)
    np.testing.assert_allclose(plots.downsample(m, 2), [[2.5, 4.5], [10.5, 12.5]])
    assert plots.downsample(m, 8) is m


def test_layer_grid_places_every_head_on_one_canvas_and_marks_the_selection():
    patterns = np.random.default_rng(0).random((12, 5, 5))
    fig = plots.map_grid(patterns, TOKENS, layer=2, selected_head=4)
    (heat,) = fig.data
    z = np.asarray(heat.z, dtype=float)
    gap, room = 1, 2  # 1 blank column between tiles; 2 blank rows above each row of tiles for its head titles
    assert z.shape == (room + 2 * 5 + room, 6 * 5 + 5 * gap)
    assert np.isnan(z[:room]).all() and np.isnan(z[room + 5 : 2 * room + 5]).all()
    np.testing.assert_allclose(z[room : room + 5, 4 * 6 : 4 * 6 + 5], patterns[4])  # head 4: row 0, column 4
    np.testing.assert_allclose(z[2 * room + 5 :, 2 * 6 : 2 * 6 + 5], patterns[8])  # head 8: row 1, column 2
    custom = np.asarray(heat.customdata)
    assert custom[2 * room + 5 + 1, 2 * 6 + 3].tolist() == [8, 1, 3]  # head 8, query 1, key 3
    # each title sits in the blank rows above its own tile, below the tile of the row above
    head_8 = fig.layout.annotations[8]
    assert room + 5 - 0.5 < head_8.y < 2 * room + 5 - 0.5 and head_8.yanchor == "bottom"
    titles = [a.text for a in fig.layout.annotations]
    assert titles[4] == "<b>head 4</b>" and titles[3] == "head 3"
    frames = [s for s in fig.layout.shapes if s.line.color == "#e65000"]
    assert len(frames) == 1 and frames[0].x0 < 24 < frames[0].x1


def test_layer_grid_gaps_cost_nothing_to_send():
    """The blank cells between tiles carry hover data nobody sees: they must not weigh on every rerun's message.
    (Plotly's JSON escapes each "/" of a base64 array as six bytes; the bytes of -1 are all "/".)"""
    import plotly.io as pio

    patterns = np.random.default_rng(0).random((12, 20, 20))
    fig = plots.map_grid(patterns, [f"w{i}" for i in range(20)], layer=1)
    sent = pio.to_json(fig, validate=False)
    custom = np.asarray(fig.data[0].customdata)
    z = np.asarray(fig.data[0].z, dtype=float)
    gaps = np.isnan(z)
    assert gaps.sum() > 0.2 * z.size  # the title rows and the columns between tiles
    assert (custom[gaps] == 0).all()
    # about the size of its arrays in base64 (4/3 of their bytes), not half again as much
    raw = custom.astype(np.int16).nbytes + z.astype(np.float32).nbytes
    assert len(sent) < 1.3 * raw * 4 / 3 + 10_000


def test_layer_grid_shows_masked_cells_as_gaps_over_grey():
    patterns = np.full((12, 4, 4), 0.25)
    fig = plots.map_grid(patterns, ["a", "b", "c", "d"], allowed=np.tril(np.ones((4, 4), dtype=bool)))
    z = np.asarray(fig.data[0].z, dtype=float)[2:]  # below the top row's 2 rows of title room
    assert np.isnan(z[0, 1]) and z[1, 0] == 0.25
    assert sum(1 for s in fig.layout.shapes if s.fillcolor == plots.MASKED_COLOR) == 12


def test_layer_grid_downsamples_long_inputs():
    patterns = np.random.default_rng(0).random((12, 300, 300))
    fig = plots.map_grid(patterns, [str(i) for i in range(300)], max_cells=48)
    z = np.asarray(fig.data[0].z)
    gap, room = 5, 12  # a tenth of a tile between tiles, a quarter above each row
    assert z.shape == (2 * (room + 48), 6 * 48 + 5 * gap)
    np.testing.assert_allclose(
        z[room : room + 48, :48], plots.downsample(patterns[0].astype(np.float32), 48), rtol=1e-5
    )


def test_overview_points_carry_layer_and_head():
    patterns = [np.random.default_rng(l).random((12, 7, 7)) for l in range(6)]
    fig = plots.maps_overview(patterns, thumb=8, selected=(2, 5))
    heat, points = fig.data
    assert np.asarray(heat.z).shape == (6 * 8 - 1, 12 * 8 - 1)  # 7-token tiles, 1 blank between
    custom = np.asarray(points.customdata)
    assert custom.shape == (72, 2) and custom[2 * 12 + 5].tolist() == [2, 5]
    (frame,) = fig.layout.shapes  # the selected thumbnail is framed
    assert frame.x0 < 5 * 8 < frame.x1 and frame.y0 < 2 * 8 < frame.y1
    z = np.asarray(heat.z, dtype=float)
    expected = plots.downsample_stack(patterns[2].astype(np.float32), 8)[5]
    # the weights themselves, on the 0–1 scale every view of a head uses (no longer scaled to each thumbnail's max)
    np.testing.assert_allclose(z[2 * 8 : 2 * 8 + 7, 5 * 8 : 5 * 8 + 7], patterns[2][5], rtol=1e-5)
    assert (heat.zmin, heat.zmax) == (0.0, 1.0) and heat.colorbar.title.text == "weight (0–1)"
    assert expected.shape == (7, 7)
    assert list(fig.layout.yaxis.ticktext) == [f"L{l}" for l in range(6)]


def test_one_head_has_one_colour_rule_in_every_view():
    """Its map, its layer's grid, the overview and a comparison: softmax weights on 0–1 whatever the head's largest
    weight (a diffuse head at 0.35 was 0–0.35 in its map and 0–1 in the grid); weights that leave [0, 1] (DCMHA's
    post-composed maps) diverge around 0 on one ±limit in every view, and the colour bar says which rule."""
    from attnviz.figures import capture_views as views
    from notebooks import synthetic_capture

    diffuse = np.full((1, 4, 4), 0.25)

    def views_of(p, **k):
        return [
            plots.map_heatmap(p[0], TOKENS[:4], **k).data[0],
            plots.map_grid(p, TOKENS[:4], **k).data[0],
            plots.maps_overview([p], **k).data[0],
            plots.comparison(p[0], p[0], TOKENS[:4], name_a="A", name_b="B", weight_limit=k.get("limit")).data[1],
        ]

    for trace in views_of(diffuse):
        assert (trace.zmin, trace.zmax) == (0.0, 1.0) and "0–1" in trace.colorbar.title.text
    composed = np.array([[[1.4, -0.3, 0, 0], [0.5, 0.5, 0, 0], [0.2, 0.2, 0.6, 0], [0.1, 0.1, 0.1, 0.7]]])
    for trace in views_of(composed, limit=1.6):
        assert (trace.zmin, trace.zmid, trace.zmax) == (
            -1.6,
            0.0,
            1.6,
        ) and trace.colorbar.title.text == "composed weight"
    capture = synthetic_capture(TOKENS[:4])
    assert views.weight_limit(capture) is None  # a softmax model's capture: nothing to compute, 0–1


def test_comparison_difference_is_a_minus_b_on_a_centred_scale():
    a = np.eye(5)
    b = np.full((5, 5), 0.2)
    fig = plots.comparison(a, b, TOKENS, name_a="A <x>", name_b="B")
    assert len(fig.data) == 3
    np.testing.assert_allclose(np.asarray(fig.data[2].z, dtype=float), a - b)
    assert fig.data[2].zmid == 0
    assert fig.layout.annotations[0].text == "A &lt;x&gt;"


def test_negative_weights_get_a_diverging_scale_centred_on_zero():
    p = np.array([[1.2, -0.2], [0.5, 0.5]])
    fig = plots.map_heatmap(p, ["a", "b"])
    assert fig.data[0].zmid == 0 and fig.data[0].zmin == pytest.approx(-1.2) and fig.data[0].zmax == pytest.approx(1.2)
    assert plots.map_heatmap(np.eye(2), ["a", "b"]).data[0].zmin == 0


def test_downsample_skips_nan_and_keeps_all_nan_blocks_nan():
    m = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 5.0], [7.0, 8.0, 9.0]])
    out = plots.downsample(m, 2)  # blocks: rows [0,1] [2], cols [0,1] [2]
    np.testing.assert_allclose(out, [[1.0, 4.0], [7.5, 9.0]])
    all_nan = np.full((4, 4), np.nan)
    all_nan[2:, 2:] = 1.0
    assert np.isnan(plots.downsample(all_nan, 2)[0, 0]) and plots.downsample(all_nan, 2)[1, 1] == 1.0


# --- margins computed from the labels (the live maps draw once, without Plotly's automargin) ---


def _drawn_in_one_pass(fig: go.Figure) -> bool:
    return (
        fig.layout.margin.autoexpand is False
        and fig.layout.xaxis.automargin is False
        and fig.layout.yaxis.automargin is False
    )


def test_live_maps_fix_their_margins_instead_of_automargin():
    p, allowed = pattern_and_mask()
    patterns = np.stack([p] * 12)
    for fig in (
        plots.map_heatmap(p, TOKENS, allowed=allowed, title="L0 H0"),
        plots.map_grid(patterns, TOKENS, allowed=allowed),
        plots.maps_overview([patterns] * 6, selected=(0, 0)),
    ):
        assert _drawn_in_one_pass(fig)
        margin = fig.layout.margin
        assert min(margin.l, margin.r, margin.t, margin.b) >= 10
        # The margins hold every label, so Plotly is told not to measure each one against the figure's edge
        # (style.ROOMY_AXIS: benchmarks/plotly_redraw.py).
        assert fig.layout.xaxis.ticklabeloverflow == fig.layout.yaxis.ticklabeloverflow == "allow"


def test_heatmap_margins_grow_with_the_longest_token():
    p = np.full((3, 3), 1 / 3)
    short = plots.map_heatmap(p, ["a", "b", "c"]).layout.margin
    long = plots.map_heatmap(p, ["a", "supercalifragilistic", "c"]).layout.margin
    # The query labels sit left of the map, the key labels (turned 60°) below it.
    assert long.l - short.l == pytest.approx(19 * 0.62 * 12, abs=1)
    assert long.b - short.b == pytest.approx(19 * 0.62 * 12 * np.sin(np.radians(60)), abs=1)
    assert long.r == short.r and long.t == short.t


def test_live_maps_carry_no_template_and_a_revision_of_their_data():
    # Streamlit re-sends a mounted chart a JSON copy of its figure; without a template and with an unchanged
    # datarevision, Plotly.react sees nothing to redraw.
    p, allowed = pattern_and_mask()
    a = plots.map_heatmap(p, TOKENS, allowed=allowed)
    assert a.layout.template is None or not a.layout.template.to_plotly_json()
    assert "template" not in a.to_plotly_json()["layout"]
    assert isinstance(a.data[0].x, tuple) and list(a.data[0].x) == [0, 1, 2, 3, 4]  # plain values, not typed arrays
    same = plots.map_heatmap(p, TOKENS, allowed=allowed)
    other_weights = plots.map_heatmap(p[::-1].copy(), TOKENS, allowed=allowed)
    other_tokens = plots.map_heatmap(p, ["[CLS]", "a", "b", "c", "[SEP]"], allowed=allowed)
    assert a.layout.datarevision == same.layout.datarevision
    assert len({a.layout.datarevision, other_weights.layout.datarevision, other_tokens.layout.datarevision}) == 3
    patterns = np.stack([p] * 12)
    for fig in (plots.map_grid(patterns, TOKENS), plots.maps_overview([patterns] * 6)):
        assert "template" not in fig.to_plotly_json()["layout"] and fig.layout.datarevision


def _sent(fig: go.Figure) -> dict:
    """What st.plotly_chart sends for a figure (Streamlit 1.67: ``plotly.tools.return_figure_from_figure_or_data``,
    then ``plotly.io.to_json`` without validation), parsed."""
    import json

    import plotly.io as pio
    import plotly.tools

    return json.loads(
        pio.to_json(plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True), validate=False)
    )


def _live_maps():
    rng = np.random.default_rng(3)
    p, allowed = pattern_and_mask()
    patterns = np.stack([p] * 12)
    long_tokens = [f"t<{i}>" for i in range(170)]  # over FULL_DETAIL_TOKENS: positions in the hover
    long = rng.random((12, 170, 170)).astype(np.float32)
    return {
        "head": lambda: plots.map_heatmap(
            p, TOKENS, scores=rng.normal(size=(5, 5)), allowed=allowed, title="L0 <b>H0</b>"
        ),
        "head hidden tokens": lambda: plots.map_heatmap(
            p, TOKENS, allowed=allowed, keep=np.array([1, 2, 3]), lang="zh"
        ),
        "head long": lambda: plots.map_heatmap(long[0], long_tokens, scores=long[1], height=500),
        "head over budget": lambda: plots.map_heatmap(np.full((600, 600), 1 / 600), [str(i) for i in range(600)]),
        "head diverging": lambda: plots.map_heatmap(p - 0.3, TOKENS, key_tokens=TOKENS[::-1]),
        "grid": lambda: plots.map_grid(patterns, TOKENS, allowed=allowed, layer=2, selected_head=4),
        "grid long, K/V groups": lambda: plots.map_grid(
            long, long_tokens, keep=np.arange(1, 169), kv_heads=[h // 4 for h in range(12)], lang="de"
        ),
        "overview": lambda: plots.maps_overview([patterns] * 6, selected=(2, 5)),
        "overview K/V groups": lambda: plots.maps_overview(
            [long[:, :40, :40]] * 4, keep=np.arange(30), kv_heads=[h // 3 for h in range(12)]
        ),
        "long text in blocks": lambda: plots.block_heatmap(_block_map(), title="L0 <b>H0</b>", lang="zh"),
        "long text, A − B in blocks": lambda: plots.block_difference(_block_map(), _block_map()),
    }


def _block_map():
    """A BlockMap of a 170-token text at 10 × 10 blocks, from tiles.block_map's own type."""
    from attnviz.tiles import BlockMap

    rng = np.random.default_rng(5)
    shape = (10, 10)
    starts = np.arange(0, 170, 17)
    weight = rng.random(shape).astype(np.float32)
    weight[0, 5:] = 0  # blocks with no allowed cell
    return BlockMap(
        mean=weight / 4,
        weight=weight,
        query=rng.integers(0, 170, shape),
        key=rng.integers(0, 170, shape),
        score=rng.normal(size=shape).astype(np.float32),
        row_starts=starts,
        col_starts=starts,
        rows=slice(0, 170),
        cols=slice(0, 170),
    )


def test_a_long_texts_block_map_names_each_blocks_strongest_cell():
    fig = plots.block_heatmap(_block_map(), statistic="max")
    heat, targets = fig.data
    z = np.array(heat.z, dtype=float)
    assert np.isnan(z[0, 5:]).all() and np.isfinite(z[1]).all()  # no allowed cell: grey, not a weight of 0
    assert list(heat.x) == list(range(0, 170, 17)) and "block max" in heat.hovertemplate
    assert np.asarray(heat.customdata).shape == (10, 10, 4) and np.asarray(heat.customdata).dtype == np.float32
    # a block holds many tokens: its axes name round text positions, not a block's first token
    assert (
        list(fig.layout.yaxis.ticktext) == [str(v) for v in fig.layout.yaxis.tickvals]
        and 0 in fig.layout.yaxis.tickvals
    )
    assert fig.layout.dragmode == "select" and targets.type == "scatter" and targets.hoverinfo == "skip"


@pytest.mark.parametrize("name", list(_live_maps()))
def test_live_maps_send_exactly_what_plotly_validation_gives(name):
    # plots.live_figure builds these figures without validating every property again: they must already be
    # what validation makes of them (colour scales spelt out, titles as dicts, no None), or the page would differ.
    fig = _live_maps()[name]()
    validated = go.Figure(fig.to_dict())
    validated.layout.template = None
    assert _sent(fig) == _sent(validated)


def test_changes_to_a_live_map_are_validated_as_usual():
    p, allowed = pattern_and_mask()
    fig = plots.map_heatmap(p, TOKENS, allowed=allowed)
    with pytest.raises(ValueError):
        fig.update_layout(not_a_layout_property=1)
    with pytest.raises(ValueError):
        fig.data[0].zmin = "not a number"
    fig.update_layout(title_text="changed")
    assert _sent(fig)["layout"]["title"]["text"] == "changed"


def test_a_map_over_the_payload_budget_is_block_averaged_and_says_so():
    """A 1,024-token map would be ~14 MB of JSON: it is drawn as 512 × 512 block means, hover naming it."""
    from attnviz.figures.style import MAX_DRAWN_TOKENS

    n = 2 * MAX_DRAWN_TOKENS
    rng = np.random.default_rng(0)
    pattern = rng.random((n, n)).astype(np.float32)
    allowed = np.tril(np.ones((n, n), dtype=bool))
    fig = plots.map_heatmap(pattern, [f"t{i}" for i in range(n)], scores=pattern, allowed=allowed)
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (MAX_DRAWN_TOKENS, MAX_DRAWN_TOKENS)
    masked = np.where(allowed, pattern, np.nan).reshape(MAX_DRAWN_TOKENS, 2, MAX_DRAWN_TOKENS, 2)
    with warnings.catch_warnings():  # fully masked blocks: "mean of empty slice" is their NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        expected = np.nanmean(masked, axis=(1, 3))
    np.testing.assert_allclose(z, expected, rtol=1e-6, equal_nan=True)  # independent block means
    assert "block average" in fig.data[0].hovertemplate
    assert list(fig.data[0].y[:3]) == [0, 2, 4]  # each row sits at its block's first position
    assert len(fig.to_json()) < 4_000_000


def test_layer_grid_groups_heads_that_share_a_kv_head():
    """Grouped-query attention: heads reading one K/V head form one row, and each title names its K/V head."""
    rng = np.random.default_rng(0)
    patterns = rng.random((8, 5, 5)).astype(np.float32)
    tokens = list("abcde")
    fig = plots.map_grid(patterns, tokens, kv_heads=[h // 4 for h in range(8)])
    titles = [a.text for a in fig.layout.annotations]
    assert titles[0] == "head 0 · K/V 0" and titles[5] == "head 5 · K/V 1"
    rows = {}
    for head, note in enumerate(fig.layout.annotations):
        rows.setdefault(round(note.y, 3), []).append(head)
    assert sorted(rows.values()) == [[0, 1, 2, 3], [4, 5, 6, 7]]  # one row per K/V head
    plain = plots.map_grid(patterns, tokens, kv_heads=list(range(8)))  # one K/V head per head: no grouping
    assert [a.text for a in plain.layout.annotations][:2] == ["head 0", "head 1"]


def test_overview_separates_the_kv_groups():
    rng = np.random.default_rng(1)
    layers = [rng.random((8, 6, 6)).astype(np.float32) for _ in range(3)]
    lines = lambda fig: [s for s in fig.layout.shapes if s.type == "line"]  # noqa: E731
    grouped = plots.maps_overview(layers, kv_heads=[h // 2 for h in range(8)])
    assert len(lines(grouped)) == 3  # 4 K/V heads: 3 separators
    xs = sorted(s.x0 for s in lines(grouped))
    centres = list(grouped.layout.xaxis.tickvals)
    assert all(centres[2 * g + 1] < x < centres[2 * g + 2] for g, x in enumerate(xs))  # each between two groups
    assert lines(plots.maps_overview(layers, kv_heads=list(range(8)))) == []
    assert lines(plots.maps_overview(layers)) == []


def test_hidden_special_tokens_keep_each_label_on_its_own_row_and_column():
    """With [CLS]/[SEP] hidden the cells sit at their token positions (1..n-2): so must the tick labels."""
    p, allowed = pattern_and_mask()
    fig = plots.map_heatmap(p, TOKENS, allowed=allowed, keep=np.array([1, 2, 3]))
    (trace,) = fig.data
    for axis, cells in ((fig.layout.xaxis, trace.x), (fig.layout.yaxis, trace.y)):
        assert list(axis.tickvals) == list(cells) == [1, 2, 3]
        assert dict(zip(axis.tickvals, axis.ticktext)) == {1: "&lt;b&gt;", 2: "cat", 3: "&amp;"}
    over = plots.map_heatmap(np.full((600, 600), 1 / 600), [f"t{i}" for i in range(600)], keep=np.arange(1, 599))
    ticks = dict(zip(over.layout.xaxis.tickvals, over.layout.xaxis.ticktext))
    assert all(ticks[v] == f"t{v}" for v in ticks)  # block starts: each label at its own token's position


def test_a_block_map_with_negative_means_is_drawn_on_a_diverging_scale_centred_on_zero():
    """A DCFormer's post-composed weights can be negative: their block means must not be clipped at 0."""
    blocks = _block_map()
    signed = type(blocks)(**{**vars(blocks), "mean": blocks.mean - 0.5 * float(blocks.mean.max())})
    trace = plots.block_heatmap(signed).to_plotly_json()["data"][0]
    assert trace["zmid"] == 0 and trace["zmin"] == -trace["zmax"] and trace["zmin"] < 0
    assert "zmid" not in plots.block_heatmap(blocks).to_plotly_json()["data"][0]


def test_an_axis_names_every_token_or_round_positions_never_every_other_token():
    """A label per token while a row holds its letters; past that, positions (a long text's zoom at ~70 rows labelled
    every second character, "t ␣ e g h", which read as a word that is not in the text)."""
    text = [f"w{i}" for i in range(70)]
    positions = np.arange(1000, 1070)
    assert plots.token_or_position_ticks(text[:20], positions[:20], row_px=14, size=10)["ticktext"] == text[:20]
    thin = plots.token_or_position_ticks(text, positions, row_px=6, size=10)
    assert thin["ticktext"] == [str(v) for v in thin["tickvals"]] and thin["tickvals"][0] == 1000
    assert set(np.diff(thin["tickvals"])) == {10} and thin["tickvals"][-1] <= 1069
    for first, stop, most in ((0, 8001, 10), (37, 41, 10), (1000, 1600, 6), (0, 1, 4)):
        ticks = plots.position_ticks(first, stop, most)["tickvals"]
        step = ticks[1] - ticks[0] if len(ticks) > 1 else 1
        assert ticks and first <= ticks[0] and ticks[-1] < stop and len(ticks) <= 2 * most
        assert int(str(step).strip("0") or 1) in (1, 2, 5)  # a round step: 1, 2 or 5 × 10ⁿ
    # a 70-row zoom of a long text, drawn square in its column: positions on both axes, cells square
    p = np.tril(np.ones((70, 70))) / np.arange(1, 71)[:, None]
    fig = plots.map_heatmap(p, text, first_query=1000, first_key=1000, square_width=820)
    assert all(t.isdigit() for t in fig.layout.xaxis.ticktext + fig.layout.yaxis.ticktext)
    assert fig.layout.yaxis.scaleanchor == "x" and list(fig.layout.yaxis.range) == [1069.5, 999.5]
    m = fig.layout.margin
    assert abs((820 - m.l - m.r) - (fig.layout.height - m.t - m.b)) <= 1  # the plot area is square in that column


def test_a_long_texts_block_axes_name_positions():
    fig = plots.block_difference(_block_map(), _block_map(), square_width=400)
    for axis in (fig.layout.xaxis, fig.layout.yaxis):
        assert list(axis.ticktext) == [str(v) for v in axis.tickvals] and axis.tickvals[0] == 0
    assert list(fig.layout.xaxis.range) == [-0.5, 169.5] and list(fig.layout.yaxis.range) == [169.5, -0.5]
