"""Figures of attnviz.figures.heads and attnviz.figures.flow, checked without a browser: what each trace
carries, escaped token text, few traces for many lines, and live figures that validation would not change."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import attnviz
from attnviz.analysis import flow, projection, redundancy
from attnviz.figures import flow as flow_plots
from attnviz.figures import heads as head_plots

HOSTILE = "<b>x</b>"
ESCAPED = "&lt;b&gt;x&lt;/b&gt;"
TOKENS = ["[CLS]", HOSTILE, "cat", "&", "[SEP]"]


def sent(fig: go.Figure) -> dict:
    """What st.plotly_chart sends for a figure (validated, then to_json without validation), parsed."""
    import plotly.io as pio
    import plotly.tools

    return json.loads(
        pio.to_json(plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True), validate=False)
    )


def no_raw_token(fig: go.Figure) -> bool:
    return HOSTILE not in str(fig.to_plotly_json())


@pytest.fixture(scope="module")
def synthetic():
    """Distance matrix of 2 layers × 3 heads, a rank table, maps over TOKENS and a projection."""
    rng = np.random.default_rng(0)
    distance = rng.uniform(0, 1, (6, 6))
    distance = (distance + distance.T) / 2
    np.fill_diagonal(distance, 0)
    table = pd.DataFrame(
        {
            "layer": [0, 0, 0, 1, 1, 1],
            "head": [0, 1, 2, 0, 1, 2],
            "pattern_erank": rng.uniform(1, 5, 6),
            "pattern_rank90": [1, 2, 3, 1, 2, 3],
            "scores_erank": rng.uniform(1, 4, 6),
            "scores_rank90": [1, 1, 2, 2, 3, 3],
            "d_head": [4] * 6,
        }
    )
    allowed = np.tril(np.ones((5, 5), bool))
    maps = np.stack([np.where(allowed, rng.random((5, 5)), 0.0) for _ in range(3)])
    maps /= maps.sum(axis=-1, keepdims=True)
    proj = {
        "queries": rng.normal(size=(5, 2)),
        "keys": rng.normal(size=(5, 2)),
        "positions": np.arange(5),
        "explained_variance": np.array([0.5, 0.25]),
    }
    return {"distance": distance, "table": table, "maps": maps, "allowed": allowed, "projection": proj}


def test_similarity_matrix_applies_the_order_and_names_both_heads(synthetic):
    distance = synthetic["distance"]
    names = redundancy.head_labels(2, 3)
    names[4] = HOSTILE  # the labels are escaped as any label is
    order = np.array([3, 0, 5, 1, 4, 2])
    fig = head_plots.similarity_matrix(distance, names, is_distance=True, order=order)
    heat, targets = fig.data
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float), distance[np.ix_(order, order)])
    assert list(fig.layout.xaxis.ticktext) == ["L1 H0", "L0 H0", "L1 H2", "L0 H1", ESCAPED, "L0 H2"]
    # a click target on every cell: (row head, column head) in the original numbering, the names, the value
    cell = 1 * 6 + 4  # row 1, column 4 of the ordered matrix
    assert (targets.x[cell], targets.y[cell]) == (4, 1)
    assert list(targets.customdata[cell][:4]) == [0, 4, "L0 H0", ESCAPED]
    assert targets.customdata[cell][4] == pytest.approx(distance[0, 4], abs=1e-4)
    assert targets.hovertemplate.startswith("%{customdata[2]} ↔ %{customdata[3]}: %{customdata[4]:.3f}")
    assert fig.layout.clickmode == "event+select" and heat.hoverinfo == "skip"
    assert heat.reversescale and heat.colorbar.title.text == "JS distance" and heat.zmin == 0 and heat.zmax == 1
    assert no_raw_token(fig)
    cosine = head_plots.similarity_matrix(1 - distance, names, is_distance=False, lang="zh")
    assert not cosine.data[0].reversescale and cosine.data[0].colorbar.title.text == "余弦相似度"
    np.testing.assert_allclose(np.asarray(cosine.data[0].z, dtype=float), 1 - distance)


def test_rank_bars_show_both_ranks_and_the_d_head_line(synthetic):
    table = synthetic["table"]
    fig = head_plots.rank_bars(table, d_head=4)
    bars = [trace for trace in fig.data if trace.type == "bar"]
    assert [trace.name for trace in bars] == ["attention map", "scores q·kᵀ"]
    np.testing.assert_allclose(bars[0].y, table["pattern_erank"])
    np.testing.assert_allclose(bars[1].y, table["scores_erank"])
    assert list(np.asarray(bars[1].customdata)[:, 1]) == [1, 1, 2, 2, 3, 3]  # the 90 % rank in the hover
    (line,) = [trace for trace in fig.data if trace.type == "scatter"]
    assert list(line.y) == [4.0, 4.0] and line.name == "d_head = 4"
    assert len(fig.layout.shapes) == 1 and fig.layout.shapes[0].x0 == 2.5  # between layer 0 and layer 1
    assert list(fig.layout.xaxis.ticktext)[:2] == ["L0 H0", "L0 H1"]
    assert len(head_plots.rank_bars(table, d_head=None).data) == 2


def test_rollout_map_escapes_tokens_and_greys_unreachable_cells(synthetic):
    rolled = flow.rollout_maps(synthetic["maps"])[-1]
    fig = flow_plots.rollout_map(rolled, TOKENS, allowed=synthetic["allowed"], title="rollout")
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isnan(z[0, 1:]).all() and not np.isnan(z[np.tril_indices(5)]).any()
    assert list(fig.layout.yaxis.ticktext) == ["[CLS]", ESCAPED, "cat", "&amp;", "[SEP]"]
    assert no_raw_token(fig)


def test_flow_graph_draws_many_lines_with_few_traces(synthetic):
    rng = np.random.default_rng(1)
    n_layers, n_tokens = 6, 40
    maps = rng.random((n_layers, n_tokens, n_tokens)) ** 4
    maps /= maps.sum(axis=-1, keepdims=True)
    edges = flow.flow_edges(maps, top_k=None)
    assert len(edges) == n_layers * n_tokens * n_tokens
    tokens = [HOSTILE if i == 3 else f"t{i}" for i in range(n_tokens)]
    fig = flow_plots.flow_graph(edges, tokens, n_layers)
    lines = [trace for trace in fig.data if trace.mode == "lines"]
    assert len(fig.data) <= flow_plots.WIDTH_BUCKETS + 2
    assert sum(list(trace.x).count(None) for trace in lines) == len(edges)  # every line, each ended by None
    widths = [trace.line.width for trace in lines]
    assert widths == sorted(widths) and widths[-1] == flow_plots.MAX_WIDTH
    middles = next(trace for trace in fig.data if trace.mode == "markers" and len(trace.customdata[0]) == 6)
    first = next(row for row in middles.customdata if row[2] == 3)
    assert first[1] == ESCAPED
    assert list(fig.layout.xaxis.ticktext) == ["input"] + [f"after L{layer}" for layer in range(n_layers)]
    assert ESCAPED in fig.layout.yaxis.ticktext and no_raw_token(fig)


def test_flow_graph_buckets_by_weight(synthetic):
    edges = [flow.FlowEdge(0, 0, 0, 1.0), flow.FlowEdge(0, 0, 1, 0.5), flow.FlowEdge(1, 1, 1, 0.05)]
    fig = flow_plots.flow_graph(edges, TOKENS[:2], 2, lang="zh")
    lines = [trace for trace in fig.data if trace.mode == "lines"]
    assert [list(trace.x) for trace in lines] == [[1.0, 2.0, None], [0.0, 1.0, None], [0.0, 1.0, None]]
    assert [trace.line.width for trace in lines] == pytest.approx([1.2, 3.6, 6.0])
    nodes = fig.data[-1]
    assert len(nodes.x) == 3 * 2 and nodes.customdata[1][0] == ESCAPED
    assert list(fig.layout.xaxis.ticktext) == ["输入", "第 0 层后", "第 1 层后"]
    empty = flow_plots.flow_graph([], TOKENS, 2)
    assert len(empty.data) == 1  # only the nodes


def test_qk_scatter_colours_queries_and_keys_and_names_the_token(synthetic):
    proj = synthetic["projection"]
    fig = flow_plots.qk_scatter(proj, TOKENS)
    queries, keys = fig.data
    assert (queries.name, keys.name) == ("queries", "keys") and queries.marker.color != keys.marker.color
    np.testing.assert_allclose(np.column_stack([queries.x, queries.y]), proj["queries"])
    np.testing.assert_allclose(np.column_stack([keys.x, keys.y]), proj["keys"])
    assert list(queries.customdata[1]) == [ESCAPED, 1]
    assert list(queries.text) == ["[CLS]", ESCAPED, "cat", "&amp;", "[SEP]"]
    assert "query" in queries.hovertemplate and "key" in keys.hovertemplate
    opacity = list(queries.marker.opacity)
    assert opacity == sorted(opacity) and opacity[0] < opacity[-1] == 1.0  # later tokens more opaque
    assert fig.layout.xaxis.title.text == "PC 1 (50% of variance)" and fig.layout.yaxis.scaleanchor == "x"
    assert no_raw_token(fig)
    umap_like = flow_plots.qk_scatter({**proj, "explained_variance": None}, TOKENS, lang="zh")
    assert umap_like.layout.yaxis.title.text == "UMAP 2" and "查询" in umap_like.data[0].hovertemplate


def _figures(synthetic):
    rolled = flow.rollout_maps(synthetic["maps"])
    edges = flow.flow_edges(synthetic["maps"], top_k=2)
    return {
        "similarity": lambda: head_plots.similarity_matrix(
            synthetic["distance"],
            redundancy.head_labels(2, 3),
            is_distance=True,
            order=np.arange(6)[::-1],
            title="<i>t</i>",
        ),
        "ranks": lambda: head_plots.rank_bars(synthetic["table"], d_head=4, lang="zh"),
        "rollout": lambda: flow_plots.rollout_map(rolled[-1], TOKENS, allowed=synthetic["allowed"]),
        "flow": lambda: flow_plots.flow_graph(edges, TOKENS, 3, keep=np.array([True, True, True, False, True])),
        "scatter": lambda: flow_plots.qk_scatter(synthetic["projection"], TOKENS),
    }


@pytest.mark.parametrize("name", ["similarity", "ranks", "rollout", "flow", "scatter"])
def test_live_figures_send_exactly_what_plotly_validation_gives(synthetic, name):
    # live_figure skips validation: each figure must already be what validation makes of it
    fig = _figures(synthetic)[name]()
    validated = go.Figure(fig.to_dict())
    validated.layout.template = None
    assert sent(fig) == sent(validated)
    assert fig.layout.datarevision


def test_figures_of_a_real_capture(minilm):
    cap = attnviz.capture(f"The cat {HOSTILE} sat on the mat.", minilm, causal=True, window=3)
    distance = redundancy.head_similarity(cap)
    fig = head_plots.similarity_matrix(
        distance,
        redundancy.head_labels(cap.n_layers, cap.n_heads),
        is_distance=True,
        order=redundancy.cluster_order(distance, True),
    )
    assert np.asarray(fig.data[0].z).shape == (72, 72)
    table = redundancy.rank_table(cap)
    assert len(head_plots.rank_bars(table, d_head=int(table["d_head"][0])).layout.shapes) == cap.n_layers - 1
    rolled = flow.rollout(cap)
    rollout_fig = flow_plots.rollout_map(rolled[-1], cap.tokens, allowed=flow.reachable(cap)[-1])
    graph = flow_plots.flow_graph(flow.flow_edges(flow.mixed_maps(cap)), cap.tokens, cap.n_layers)
    scatter = flow_plots.qk_scatter(projection.qk_projection(cap, 2, 3), cap.tokens)
    for figure in (rollout_fig, graph, scatter):
        assert no_raw_token(figure)
    assert any("&lt;" in label for label in rollout_fig.layout.yaxis.ticktext)


def test_the_rank_chart_draws_the_bound_that_binds(synthetic):
    """A 16-token text's maps can never exceed rank 16: the line is drawn at the text's length and says so, not at
    d_head = 32 where it would bind nothing ("0 of 72 maps above d_head")."""
    table = synthetic["table"]
    short = head_plots.rank_bars(table, d_head=32, n_tokens=16).data[-1]
    assert list(short.y) == [16.0, 16.0] and "T = 16" in short.name and "32" in short.name
    long = head_plots.rank_bars(table, d_head=32, n_tokens=200).data[-1]
    assert list(long.y) == [32.0, 32.0] and long.name == "d_head = 32"
