"""Query–key projections (attnviz.analysis.projection): the alignment keeps every attention weight, the PCA is
the covariance's eigenvectors, keys come from the right K/V head, padding stays out."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz
from attnviz.analysis import projection
from attnviz.capture import Capture, run_capture
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name


def softmax(scores: np.ndarray) -> np.ndarray:
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def qk_capture(q: np.ndarray, k: np.ndarray, key_is_real=None) -> Capture:
    """One layer of made-up queries (heads, T, d) and keys (kv_heads, T, d), with the patterns they give."""
    n_heads, n_tokens, d = q.shape
    group = n_heads // k.shape[0]
    pattern = softmax(q @ np.repeat(k, group, axis=0).transpose(0, 2, 1) / np.sqrt(d))
    arrays = {
        hook_name("q", 0): q,
        hook_name("k", 0): k,
        hook_name("pattern", 0): pattern,
        "tokens": np.array([f"t{i}" for i in range(n_tokens)]),
    }
    return Capture(
        arrays,
        model_name="synthetic",
        n_layers=1,
        n_heads=n_heads,
        spec=MaskSpec(),
        special=np.zeros(n_tokens, bool),
        truncated=False,
        full_length=n_tokens,
        key_is_real=key_is_real,
    )


def test_alignment_keeps_every_softmax_row_and_matches_norms_and_centroids():
    rng = np.random.default_rng(0)
    q = rng.normal(size=(12, 8)) * 3.0 + 1.0  # queries far bigger than keys, off-centre
    k = rng.normal(size=(12, 8)) * 0.5 - 2.0
    q2, k2, scale = projection.align_queries_and_keys(q, k)
    np.testing.assert_allclose(softmax(q2 @ k2.T), softmax(q @ k.T), atol=1e-12)
    np.testing.assert_allclose(q2, q * scale)
    assert np.linalg.norm(q2, axis=1).mean() == pytest.approx(np.linalg.norm(k / scale, axis=1).mean())
    np.testing.assert_allclose(q2.mean(axis=0), k2.mean(axis=0), atol=1e-12)


def test_pca_is_the_covariances_leading_eigenvectors():
    rng = np.random.default_rng(1)
    points = rng.normal(size=(30, 6)) @ np.diag([5.0, 3.0, 1.0, 0.5, 0.2, 0.1])
    coords, explained = projection.pca_2d(points)
    centred = points - points.mean(axis=0)
    eigenvalues, eigenvectors = np.linalg.eigh(np.cov(centred.T))
    leading = eigenvectors[:, ::-1][:, :2]
    for axis in range(2):  # an eigenvector's sign is arbitrary: compare up to it
        expected = centred @ leading[:, axis]
        assert np.allclose(coords[:, axis], expected, atol=1e-9) or np.allclose(coords[:, axis], -expected, atol=1e-9)
    np.testing.assert_allclose(explained, eigenvalues[::-1][:2] / eigenvalues.sum(), rtol=1e-9)
    assert explained[0] >= explained[1]


def test_pca_of_points_on_a_line_has_an_empty_second_axis():
    coords, explained = projection.pca_2d(np.array([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]]))
    np.testing.assert_allclose(explained, [1.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(coords[:, 1], 0.0, atol=1e-12)


def test_projection_fits_queries_and_keys_jointly():
    rng = np.random.default_rng(2)
    cap = qk_capture(rng.normal(size=(2, 10, 8)), rng.normal(size=(2, 10, 8)))
    result = projection.qk_projection(cap, 0, 1)
    q, k, _ = projection.align_queries_and_keys(cap[hook_name("q", 0)][1], cap[hook_name("k", 0)][1])
    coords, explained = projection.pca_2d(np.concatenate([q, k]))
    np.testing.assert_allclose(result["queries"], coords[:10])
    np.testing.assert_allclose(result["keys"], coords[10:])
    np.testing.assert_allclose(result["explained_variance"], explained)
    assert result["positions"].tolist() == list(range(10)) and result["kv_head"] == 1 and result["method"] == "pca"
    assert 0.0 <= result["attended_nearby"] <= 1.0


def test_grouped_query_heads_read_their_kv_head():
    assert [projection.default_kv_head(h, 8, 2) for h in range(8)] == [h // 4 for h in range(8)]  # hf's kv_head_map
    assert [projection.default_kv_head(h, 4, 4) for h in range(4)] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        projection.default_kv_head(0, 6, 4)
    rng = np.random.default_rng(3)
    cap = qk_capture(rng.normal(size=(4, 9, 8)), rng.normal(size=(2, 9, 8)))
    default = projection.qk_projection(cap, 0, 3)
    assert default["kv_head"] == 1
    np.testing.assert_allclose(default["keys"], projection.qk_projection(cap, 0, 3, kv_head=1)["keys"])
    assert not np.allclose(default["keys"], projection.qk_projection(cap, 0, 3, kv_head=0)["keys"])


def test_padding_tokens_are_left_out():
    rng = np.random.default_rng(4)
    real = np.array([True] * 6 + [False] * 2)
    cap = qk_capture(rng.normal(size=(1, 8, 4)), rng.normal(size=(1, 8, 4)), key_is_real=real)
    result = projection.qk_projection(cap, 0, 0)
    assert result["positions"].tolist() == list(range(6)) and result["queries"].shape == result["keys"].shape == (6, 2)


def test_minilm_projection_keeps_the_heads_attention(minilm):
    cap = attnviz.capture("The cat sat on the mat, and the dog sat on the rug.", minilm)
    n = len(cap.tokens)
    result = projection.qk_projection(cap, 3, 5)
    assert result["queries"].shape == result["keys"].shape == (n, 2)
    assert 0 < result["explained_variance"].sum() <= 1 and 0 <= result["attended_nearby"] <= 1
    # the aligned vectors still give the captured map: softmax(q'·k'/√d) is the pattern
    q, k, _ = projection.align_queries_and_keys(cap[hook_name("q", 3)][5], cap[hook_name("k", 3)][5])
    d = q.shape[1]
    np.testing.assert_allclose(softmax(q @ k.T / np.sqrt(d)), cap.pattern(3)[5], atol=1e-5)


def test_a_padded_minilm_capture_projects_its_real_tokens_only(minilm):
    padded, _ = run_capture(minilm, ["The cat sat.", "A far longer sentence that pads the first one."])
    result = projection.qk_projection(padded, 0, 0)
    assert result["positions"].tolist() == np.flatnonzero(padded.key_is_real).tolist()


@pytest.mark.slow  # UMAP's first use compiles (about 12 s)
def test_umap_when_installed(minilm):
    pytest.importorskip("umap")
    cap = attnviz.capture("The cat sat on the mat, and the dog sat on the rug.", minilm)
    result = projection.qk_projection(cap, 3, 5, method="umap")
    assert result["queries"].shape == (len(cap.tokens), 2) and result["explained_variance"] is None
    assert np.isfinite(result["queries"]).all() and np.isfinite(result["keys"]).all()


def test_unknown_method_is_an_error():
    rng = np.random.default_rng(5)
    with pytest.raises(ValueError, match="method"):
        projection.qk_projection(
            qk_capture(rng.normal(size=(1, 4, 4)), rng.normal(size=(1, 4, 4))), 0, 0, method="tsne"
        )
