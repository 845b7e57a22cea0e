"""Head similarity, clustering order and effective rank (attnviz.analysis.redundancy), checked against
independent computations: scipy's Jensen–Shannon distance, a flattened cosine, numpy's SVD and matrix_rank."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import jensenshannon

import attnviz
from attnviz.analysis import redundancy
from attnviz.capture import Capture, run_capture
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name

LONG_TEXT = " ".join("the quick brown fox jumps over the lazy dog while a cat sleeps on the warm mat".split() * 3)


def synthetic_capture(patterns: list[np.ndarray], *, key_is_real=None, scores=None, q=None, k=None) -> Capture:
    """A Capture of made-up arrays: patterns[l] (heads, T, T); scores/q/k per layer when given."""
    n_heads, n_tokens, _ = patterns[0].shape
    arrays = {hook_name("pattern", l): p for l, p in enumerate(patterns)}
    arrays |= {hook_name("mask", l): p.sum(axis=0) > 0 for l, p in enumerate(patterns)}
    for name, values in (("scores", scores), ("q", q), ("k", k)):
        if values is not None:
            arrays |= {hook_name(name, l): v for l, v in enumerate(values)}
    arrays["tokens"] = np.array([f"t{i}" for i in range(n_tokens)])
    return Capture(
        arrays,
        model_name="synthetic",
        n_layers=len(patterns),
        n_heads=n_heads,
        spec=MaskSpec(),
        special=np.zeros(n_tokens, bool),
        truncated=False,
        full_length=n_tokens,
        key_is_real=key_is_real,
    )


def random_patterns(rng, n_layers: int, n_heads: int, n_tokens: int, allowed: list[np.ndarray]) -> list[np.ndarray]:
    """Softmax maps under each layer's allowed (T, T) cells."""
    out = []
    for layer in range(n_layers):
        logits = rng.normal(scale=2.0, size=(n_heads, n_tokens, n_tokens))
        weights = np.where(allowed[layer], np.exp(logits), 0.0)
        out.append(weights / weights.sum(axis=-1, keepdims=True))
    return out


@pytest.fixture(scope="module")
def padded_synthetic():
    """2 layers × 3 heads over 6 tokens, the last one padding; layer 0 causal, layer 1 bidirectional.
    The padding query row is filled with junk that must never enter a result."""
    rng = np.random.default_rng(0)
    real = np.array([True] * 5 + [False])
    causal = np.tril(np.ones((6, 6), bool)) & real[None, :]
    full = np.ones((6, 6), bool) & real[None, :]
    patterns = random_patterns(rng, 2, 3, 6, [causal, full])
    for p in patterns:
        p[:, 5] = rng.random((3, 6))  # junk in the padding row
    return synthetic_capture(patterns, key_is_real=real)


def test_js_distance_is_scipys_averaged_over_real_query_rows(padded_synthetic):
    cap = padded_synthetic
    distance = redundancy.head_similarity(cap, "js")
    heads = np.concatenate([cap.pattern(0), cap.pattern(1)])  # (6, T, T), index layer * 3 + head
    expected = np.array(
        [
            [np.mean([jensenshannon(heads[a, i, :5], heads[b, i, :5], base=2) for i in range(5)]) for b in range(6)]
            for a in range(6)
        ]
    )
    np.testing.assert_allclose(distance, expected, atol=1e-7)
    assert distance.shape == (6, 6) and np.array_equal(distance, distance.T)
    assert np.all(np.diag(distance) == 0) and distance.min() >= 0 and distance.max() <= 1


def test_js_streamed_over_blocks_of_query_rows_is_the_same_distance(padded_synthetic, monkeypatch):
    """The distance is streamed over blocks of query rows (memory: one block of every head, not every row); blocks
    of 2 rows, some holding the padding row or a row left out, give scipy's mean over the chosen rows."""
    cap = padded_synthetic
    whole = redundancy.head_similarity(cap, "js")
    rows = np.array([True, False, True, True, True, True])
    monkeypatch.setattr(redundancy, "JS_ROW_BLOCK", 2)
    np.testing.assert_allclose(redundancy.head_similarity(cap, "js"), whole, atol=1e-12)
    heads = np.concatenate([cap.pattern(0), cap.pattern(1)])
    expected = np.array(
        [
            [np.mean([jensenshannon(heads[a, i, :5], heads[b, i, :5], base=2) for i in (0, 2, 3, 4)]) for b in range(6)]
            for a in range(6)
        ]
    )
    np.testing.assert_allclose(redundancy.head_similarity(cap, "js", query_rows=rows), expected, atol=1e-7)


def test_query_rows_restrict_the_average(padded_synthetic):
    cap = padded_synthetic
    rows = np.array([False, True, False, True, False, True])  # the padding row stays out even when asked for
    distance = redundancy.head_similarity(cap, "js", query_rows=rows)
    a, b = cap.pattern(0)[1], cap.pattern(1)[2]
    expected = np.mean([jensenshannon(a[i, :5], b[i, :5], base=2) for i in (1, 3)])
    assert distance[1, 3 + 2] == pytest.approx(expected, abs=1e-7)


def test_cosine_is_the_cosine_of_the_flattened_real_maps(padded_synthetic):
    cap = padded_synthetic
    similarity = redundancy.head_similarity(cap, "cosine")
    flat = np.concatenate([cap.pattern(0), cap.pattern(1)])[:, :5, :5].reshape(6, -1)
    for a in range(6):
        for b in range(6):
            cosine = flat[a] @ flat[b] / (np.linalg.norm(flat[a]) * np.linalg.norm(flat[b]))
            assert similarity[a, b] == pytest.approx(cosine, abs=1e-12)
    assert np.all(np.diag(similarity) == 1.0) and np.array_equal(similarity, similarity.T)


def test_identical_heads_are_at_distance_0_and_disjoint_ones_at_1():
    one_hot = np.zeros((3, 4, 4))
    one_hot[0, :, 0] = one_hot[1, :, 0] = 1.0  # heads 0 and 1: every query on key 0
    one_hot[2, :, 3] = 1.0  # head 2: every query on key 3
    distance = redundancy.head_similarity(synthetic_capture([one_hot]), "js")
    np.testing.assert_allclose(distance, [[0, 0, 1], [0, 0, 1], [1, 1, 0]], atol=1e-12)
    similarity = redundancy.head_similarity(synthetic_capture([one_hot]), "cosine")
    np.testing.assert_allclose(similarity, [[1, 1, 0], [1, 1, 0], [0, 0, 1]], atol=1e-12)


def test_layer_similarity_is_that_layers_block(padded_synthetic):
    for metric in redundancy.METRICS:
        everything = redundancy.head_similarity(padded_synthetic, metric)
        np.testing.assert_allclose(
            redundancy.layer_similarity(padded_synthetic, 1, metric), everything[3:, 3:], atol=1e-12
        )
    assert redundancy.head_labels(2, 3) == ["L0 H0", "L0 H1", "L0 H2", "L1 H0", "L1 H1", "L1 H2"]


def test_js_refuses_negative_weights_and_unknown_metrics():
    signed = np.full((2, 3, 3), 1 / 3)
    signed[1, 0] = [1.2, -0.1, -0.1]  # a DCMHA post-composed map can look like this
    with pytest.raises(ValueError, match="cosine"):
        redundancy.head_similarity(synthetic_capture([signed]), "js")
    with pytest.raises(ValueError, match="metric"):
        redundancy.head_similarity(synthetic_capture([signed]), "euclid")


def test_cluster_order_puts_alike_heads_together():
    # heads 0, 2, 4 attend alike, and so do 1, 3, 5: interleaved on input, contiguous after ordering
    group = np.array([0, 1, 0, 1, 0, 1])
    rng = np.random.default_rng(1)
    noise = rng.uniform(0, 0.05, (6, 6))
    distance = np.where(group[:, None] == group[None, :], 0.1, 0.9) + (noise + noise.T) / 2
    np.fill_diagonal(distance, 0)
    for matrix, is_distance in ((distance, True), (1 - distance, False)):
        order = redundancy.cluster_order(matrix, is_distance)
        assert sorted(order.tolist()) == list(range(6))
        groups = group[order]
        assert (np.diff(groups) != 0).sum() == 1, groups  # one boundary between the two blocks
    assert redundancy.cluster_order(np.zeros((2, 2)), True).tolist() == [0, 1]
    with pytest.raises(ValueError):
        redundancy.cluster_order(np.full((3, 3), np.nan), True)


def test_cluster_order_of_a_real_capture_is_a_permutation(minilm):
    cap = attnviz.capture("The cat sat on the mat.", minilm)
    order = redundancy.cluster_order(redundancy.head_similarity(cap), True)
    assert sorted(order.tolist()) == list(range(cap.n_layers * cap.n_heads))


def test_effective_rank_of_one_hot_identity_and_uniform_maps():
    n = 7
    points_at_one_key = np.zeros((n, n))
    points_at_one_key[:, 2] = 1.0
    assert redundancy.effective_rank(points_at_one_key) == pytest.approx(1.0)
    assert redundancy.energy_rank(points_at_one_key) == 1
    assert redundancy.effective_rank(np.eye(n)) == pytest.approx(n)
    assert redundancy.energy_rank(np.eye(n)) == int(np.ceil(0.9 * n))
    assert redundancy.effective_rank(np.full((n, n), 1 / n)) == pytest.approx(1.0)
    assert redundancy.effective_rank(np.zeros((n, n))) == 0.0 and redundancy.energy_rank(np.zeros((n, n))) == 0


def test_effective_rank_and_energy_rank_follow_their_formulas():
    rng = np.random.default_rng(2)
    matrix = rng.normal(size=(9, 6))
    values = np.linalg.svd(matrix, compute_uv=False)
    p = values / values.sum()
    assert redundancy.effective_rank(matrix) == pytest.approx(np.exp(-(p * np.log(p)).sum()))
    diagonal = np.diag([3.0, 2.0, 1.0])  # energies 9, 4, 1 of 14: 64 %, 93 %, 100 %
    assert redundancy.energy_rank(diagonal, 0.6) == 1
    assert redundancy.energy_rank(diagonal, 0.9) == 2
    assert redundancy.energy_rank(diagonal, 1.0) == 3
    with pytest.raises(ValueError):
        redundancy.energy_rank(diagonal, 0.0)


def test_score_rank_is_at_most_d_head_whatever_the_length():
    rng = np.random.default_rng(3)
    n_tokens, d_head = 20, 4
    q, k = rng.normal(size=(1, 2, n_tokens, d_head)), rng.normal(size=(1, 2, n_tokens, d_head))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d_head)  # (1 layer, 2 heads, T, T)
    patterns = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    cap = synthetic_capture(
        [patterns[0]], scores=scores.astype(np.float32), q=q.astype(np.float32), k=k.astype(np.float32)
    )
    table = redundancy.rank_table(cap)
    assert table.columns.tolist() == list(redundancy.RANK_COLUMNS)
    assert (table["d_head"] == d_head).all()
    for head in range(2):
        assert np.linalg.matrix_rank(scores[0, head]) == d_head
        assert 1 < table.loc[head, "scores_erank"] <= min(n_tokens, d_head)
        assert table.loc[head, "scores_rank90"] <= d_head
        # the softmax is not bound by d_head: the map is full-rank
        assert np.linalg.matrix_rank(patterns[0, head]) == n_tokens


@pytest.fixture(scope="module")
def long_capture(minilm):
    return attnviz.capture(LONG_TEXT, minilm)


def test_minilm_scores_stay_under_d_head_and_the_maps_do_not(long_capture):
    cap = long_capture
    n_tokens = len(cap.tokens)
    d_head = cap[hook_name("q", 0)].shape[-1]
    assert n_tokens > d_head  # else the bound would say nothing
    table = redundancy.rank_table(cap)
    assert len(table) == cap.n_layers * cap.n_heads and (table["d_head"] == d_head).all()
    assert (table["scores_erank"] <= min(n_tokens, d_head)).all() and (table["scores_rank90"] <= d_head).all()
    score_ranks = [np.linalg.matrix_rank(cap.scores(l)[h]) for l in range(cap.n_layers) for h in range(cap.n_heads)]
    map_ranks = [np.linalg.matrix_rank(cap.pattern(l)[h]) for l in range(cap.n_layers) for h in range(cap.n_heads)]
    assert max(score_ranks) <= d_head < max(map_ranks)
    # each number is the formula on numpy's SVD of that head's matrix
    row = table.iloc[13]
    values = np.linalg.svd(cap.pattern(int(row["layer"]))[int(row["head"])].astype(np.float64), compute_uv=False)
    values = values[values > values[0] * n_tokens * np.finfo(np.float32).eps]
    p = values / values.sum()
    assert row["pattern_erank"] == pytest.approx(np.exp(-(p * np.log(p)).sum()), rel=1e-9)


def test_minilm_similarity_matches_scipy_on_a_pair_and_has_the_documented_ranges(long_capture):
    cap = long_capture
    distance = redundancy.head_similarity(cap, "js")
    similarity = redundancy.head_similarity(cap, "cosine")
    n = cap.n_layers * cap.n_heads
    assert distance.shape == similarity.shape == (n, n)
    assert np.all(np.diag(distance) == 0) and np.all(np.diag(similarity) == 1)
    assert 0 <= distance.min() and distance.max() <= 1 and np.array_equal(distance, distance.T)
    a, b = cap.pattern(1)[4].astype(np.float64), cap.pattern(4)[7].astype(np.float64)
    expected = np.mean([jensenshannon(a[i], b[i], base=2) for i in range(len(a))])
    assert distance[1 * 12 + 4, 4 * 12 + 7] == pytest.approx(expected, abs=1e-6)


def test_a_causal_windowed_capture_compares_rows_on_different_masks(minilm):
    cap = attnviz.capture("The cat sat on the mat.", minilm, causal=True, window=3)
    distance = redundancy.head_similarity(cap, "js")
    a, b = cap.pattern(0)[0].astype(np.float64), cap.pattern(5)[3].astype(np.float64)
    expected = np.mean([jensenshannon(a[i], b[i], base=2) for i in range(len(a))])
    assert distance[0, 5 * 12 + 3] == pytest.approx(expected, abs=1e-6)
    table = redundancy.rank_table(cap)
    assert (table["scores_erank"] <= len(cap.tokens)).all()


def test_padding_changes_nothing(minilm):
    """A sentence padded in a batch gives the numbers of the same sentence alone."""
    short = "The cat sat on the mat."
    alone = attnviz.capture(short, minilm)
    padded, _ = run_capture(minilm, [short, LONG_TEXT])
    assert (~padded.key_is_real).sum() > 0
    for metric in redundancy.METRICS:
        np.testing.assert_allclose(
            redundancy.head_similarity(padded, metric), redundancy.head_similarity(alone, metric), atol=2e-4
        )
    pd_padded, pd_alone = redundancy.rank_table(padded), redundancy.rank_table(alone)
    np.testing.assert_allclose(pd_padded["pattern_erank"], pd_alone["pattern_erank"], rtol=1e-3)
    np.testing.assert_allclose(pd_padded["scores_erank"], pd_alone["scores_erank"], rtol=1e-3)


def test_rank_table_rebuilds_the_scores_from_q_and_k_when_they_were_not_recorded():
    """A page records q, k and the score scale instead of every layer's scores: the ranks are the same."""
    from attnviz.capture import Capture, run_capture, get_model
    from attnviz.masks import MaskSpec
    from attnviz.models.base import hook_name

    model = get_model("all-MiniLM-L6-v2")
    text = "The animal didn't cross the street because it was too tired."
    (full,) = run_capture(model, [text], MaskSpec(causal=True))
    kept = {name: value for name, value in full.items() if "hook_scores" not in name}
    without = Capture(
        kept,
        model_name=full.model_name,
        n_layers=full.n_layers,
        n_heads=full.n_heads,
        spec=full.spec,
        special=full.special,
        truncated=False,
        full_length=full.full_length,
        causal=True,
        key_is_real=full.key_is_real,
    )
    assert not without.recorded(hook_name("scores", 0)) and hook_name("scores", 0) in without  # computable from q, k
    pd.testing.assert_frame_equal(redundancy.rank_table(without), redundancy.rank_table(full), atol=1e-3)


@pytest.mark.parametrize(
    "name, spec", [("mistral-char", "window"), ("dcformer-tiny", "causal"), ("all-MiniLM-L6-v2", "chunk")]
)
def test_a_long_texts_cosine_streamed_from_linear_state_equals_the_whole_maps(name, spec, monkeypatch):
    from attnviz import tiles
    from attnviz.capture import get_model, run_capture
    from attnviz.masks import MaskSpec

    model = get_model(name)
    mask = {"window": MaskSpec(causal=True, window=7), "causal": MaskSpec(causal=True), "chunk": MaskSpec(chunk=9)}[
        spec
    ]
    text = "the cat sat on the mat and the dog sat on the log; " * 5
    (full,) = run_capture(model, [text], mask)
    (linear,) = run_capture(
        model, [text], mask, hooks=tiles.linear_hooks(range(model.n_layers), dcmha=getattr(model, "use_dcmha", False))
    )
    monkeypatch.setattr(tiles, "ROWS_PER_BLOCK", 16)  # several blocks of rows
    rows = np.ones(len(full.tokens), bool)
    rows[3:6] = False  # "hide special tokens" drops some query rows: the same rows both ways
    np.testing.assert_allclose(
        redundancy.head_similarity(linear, "cosine", query_rows=rows),
        redundancy.head_similarity(full, "cosine", query_rows=rows),
        atol=1e-6,
    )
    with pytest.raises(ValueError, match="cosine"):
        redundancy.head_similarity(linear, "js")
