"""Attention rollout, attention flow and the drawable edges (attnviz.analysis.flow), against a hand-built
rollout loop, max flows worked out by hand, and networkx's max-flow."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

import attnviz
from attnviz.analysis import flow
from attnviz.capture import run_capture

TEXT = "The cat sat on the mat."


@pytest.fixture(scope="module")
def bidirectional(minilm):
    return attnviz.capture(TEXT, minilm)


@pytest.fixture(scope="module")
def causal(minilm):
    return attnviz.capture(TEXT, minilm, causal=True, window=3)


def hand_rollout(patterns: list[np.ndarray], residual: float) -> np.ndarray:
    """Abnar & Zuidema's loop, written out once more for an unmasked capture."""
    n = patterns[0].shape[-1]
    rolled, out = np.eye(n), []
    for pattern in patterns:
        mixed = residual * np.eye(n) + (1 - residual) * pattern.astype(np.float64).mean(axis=0)
        mixed /= mixed.sum(axis=1, keepdims=True)
        rolled = mixed @ rolled
        out.append(rolled)
    return np.stack(out)


def test_rollout_is_the_papers_loop(bidirectional):
    cap = bidirectional
    for residual in (0.5, 0.2):
        rolled = flow.rollout(cap, residual)
        expected = hand_rollout([cap.pattern(l) for l in range(cap.n_layers)], residual)
        np.testing.assert_allclose(rolled, expected, atol=1e-12)
        np.testing.assert_allclose(rolled.sum(axis=-1), 1.0, atol=1e-12)
    assert rolled.shape == (cap.n_layers, len(cap.tokens), len(cap.tokens))


def test_one_layers_rollout_is_its_mean_map_mixed_with_the_identity(bidirectional):
    cap = bidirectional
    n = len(cap.tokens)
    first = flow.rollout(cap, residual=0.5)[0]
    np.testing.assert_allclose(first, 0.5 * np.eye(n) + 0.5 * cap.pattern(0).astype(np.float64).mean(axis=0), atol=1e-6)


def test_head_fusions(bidirectional):
    cap = bidirectional
    single = flow.mixed_map(cap.pattern(2), cap.mask(2), residual=0.0, heads=4)
    np.testing.assert_allclose(single, cap.pattern(2)[4], atol=1e-6)
    peak = cap.pattern(2).astype(np.float64).max(axis=0)
    np.testing.assert_allclose(
        flow.mixed_map(cap.pattern(2), cap.mask(2), 0.0, "max"), peak / peak.sum(1, keepdims=True)
    )
    with pytest.raises(ValueError):
        flow.mixed_map(cap.pattern(2), cap.mask(2), heads="median")
    with pytest.raises(ValueError):
        flow.mixed_map(cap.pattern(2), cap.mask(2), residual=1.5)


def test_causal_rollout_has_no_weight_above_the_diagonal_and_widens_with_depth(causal):
    cap = causal
    rolled = flow.rollout(cap)
    assert np.all(np.triu(rolled, k=1) == 0)
    np.testing.assert_allclose(rolled.sum(axis=-1), 1.0, atol=1e-12)
    reach = flow.reachable(cap)
    # nonzero exactly where a path through the masks exists: window 3 reaches 2 more tokens back per layer
    assert np.array_equal(rolled > 0, reach)
    offsets = np.subtract.outer(np.arange(len(cap.tokens)), np.arange(len(cap.tokens)))
    for layer in range(cap.n_layers):
        assert np.array_equal(reach[layer], (offsets >= 0) & (offsets <= 2 * (layer + 1)))


def test_padding_rows_and_columns_are_zero_and_the_rest_is_unchanged(minilm, bidirectional):
    padded, _ = run_capture(minilm, [TEXT, "a much longer sentence than the first one, so that the first is padded"])
    real = padded.key_is_real
    assert (~real).any()
    rolled = flow.rollout(padded)
    assert np.all(rolled[:, ~real] == 0) and np.all(rolled[:, :, ~real] == 0)
    n = real.sum()
    np.testing.assert_allclose(rolled[:, :n, :n], flow.rollout(bidirectional), atol=2e-4)
    np.testing.assert_allclose(rolled[:, real].sum(axis=-1), 1.0, atol=1e-12)


# Two layers over three tokens, rows = the token after the layer, columns = the token before it.
A0 = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
A1 = np.array([[1.0, 0.0, 0.0], [0.4, 0.6, 0.0], [0.1, 0.1, 0.8]])


def test_attention_flow_on_a_graph_worked_out_by_hand():
    raw = flow.flow_from_maps(np.stack([A0, A1]), normalise=False)
    np.testing.assert_allclose(raw[0], A0, atol=1e-7)  # one layer: each flow is the single edge
    # token 2 after layer 1 sends 0.1, 0.1, 0.8 to the middle tokens; to input 0 it gets min(0.1, 1) via
    # token 0, min(0.1, 0.5) via token 1, min(0.8, 0.2) via token 2: 0.4; to input 1: min(0.1, 0.5) +
    # min(0.8, 0.3) = 0.4; to input 2: min(0.8, 0.5) = 0.5.  Token 1: 0.4 + min(0.6, 0.5) = 0.9, 0.5, 0.
    expected = np.array([[1.0, 0.0, 0.0], [0.9, 0.5, 0.0], [0.4, 0.4, 0.5]])
    np.testing.assert_allclose(raw[1], expected, atol=1e-7)
    normalised = flow.flow_from_maps(np.stack([A0, A1]))
    np.testing.assert_allclose(normalised[1], expected / expected.sum(axis=1, keepdims=True), atol=1e-7)
    # where paths share an edge, flow is not rollout's product
    assert not np.allclose(normalised[1], A1 @ A0, atol=1e-3)


def test_attention_flow_agrees_with_networkx():
    rng = np.random.default_rng(4)
    n_layers, n_tokens = 3, 5
    maps = rng.random((n_layers, n_tokens, n_tokens)) * (rng.random((n_layers, n_tokens, n_tokens)) > 0.3)
    maps /= np.maximum(maps.sum(axis=-1, keepdims=True), 1e-9)
    graph = nx.DiGraph()
    for layer in range(n_layers):
        for i in range(n_tokens):
            for j in range(n_tokens):
                if maps[layer, i, j] > 0:
                    graph.add_edge((layer + 1, i), (layer, j), capacity=maps[layer, i, j])
    raw = flow.flow_from_maps(maps, normalise=False)
    for layer in range(n_layers):
        for i in range(n_tokens):
            for j in range(n_tokens):
                source, sink = (layer + 1, i), (0, j)
                expected = nx.maximum_flow_value(graph, source, sink) if source in graph and sink in graph else 0.0
                assert raw[layer, i, j] == pytest.approx(expected, abs=1e-6)


def test_attention_flow_of_a_causal_capture(causal):
    flows = flow.attention_flow(causal)
    n = len(causal.tokens)
    assert flows.shape == (causal.n_layers, n, n)
    np.testing.assert_allclose(flows.sum(axis=-1), 1.0, atol=1e-9)
    assert np.all(np.triu(flows, k=1) == 0)
    np.testing.assert_allclose(flows[0], flow.rollout(causal)[0], atol=1e-7)  # one layer: flow = the map


def test_attention_flow_refuses_long_inputs_with_a_clear_error(bidirectional):
    with pytest.raises(ValueError, match="at most 4 tokens"):
        flow.attention_flow(bidirectional, max_tokens=4)
    assert flow.MAX_FLOW_TOKENS == 64


def test_flow_edges_keep_each_targets_heaviest_lines():
    maps = np.stack([A0, A1])
    edges = flow.flow_edges(maps, top_k=2)
    assert all(isinstance(edge, flow.FlowEdge) for edge in edges)
    # zeros never become lines; at most two per target
    assert [(e.layer, e.source, e.target) for e in edges] == [
        (0, 0, 0),
        (0, 0, 1),
        (0, 1, 1),
        (0, 2, 2),
        (0, 1, 2),
        (1, 0, 0),
        (1, 1, 1),
        (1, 0, 1),
        (1, 2, 2),
        (1, 0, 2),
    ]
    assert edges[3].weight == 0.5
    heavy = flow.flow_edges(maps, top_k=None, threshold=0.45)
    assert {(e.layer, e.source, e.target) for e in heavy} == {
        (0, 0, 0),
        (0, 0, 1),
        (0, 1, 1),
        (0, 2, 2),
        (1, 0, 0),
        (1, 1, 1),
        (1, 2, 2),
    }
    kept = flow.flow_edges(maps, top_k=None, keep=np.array([True, False, True]))
    assert all(1 not in (e.source, e.target) for e in kept) and len(kept) == 6
    assert flow.flow_edges(maps, top_k=None, keep=[0, 2]) == kept


def test_flow_edges_of_a_real_capture_are_drawable(causal):
    edges = flow.flow_edges(flow.mixed_maps(causal), top_k=3)
    n = len(causal.tokens)
    assert 0 < len(edges) <= causal.n_layers * n * 3
    assert all(e.source <= e.target for e in edges)  # causal: lines only come from earlier tokens


def test_attention_flow_counts_only_real_tokens_and_leaves_padding_at_zero(minilm, bidirectional):
    padded, _ = run_capture(minilm, [TEXT, "a much longer sentence than the first one, so that the first is padded"])
    real = padded.key_is_real
    n = int(real.sum())
    flows = flow.attention_flow(padded, max_tokens=n)  # the padded length is over the limit, the text is not
    assert len(real) > n
    assert np.all(flows[:, ~real] == 0) and np.all(flows[:, :, ~real] == 0)
    np.testing.assert_allclose(flows[:, :n, :n], flow.attention_flow(bidirectional), atol=1e-3)
