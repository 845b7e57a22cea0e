"""Head redundancy: which heads attend alike, and how many directions a head's map really uses.

Two kinds of number, both over the real (non-padding) tokens of one capture:

* how alike two heads are (:func:`head_similarity`, :func:`layer_similarity`), for every pair of heads of every
  layer, ordered for display by :func:`cluster_order` so that heads that attend alike sit together;
* how low-rank a head is (:func:`rank_table`): the effective rank of its attention map and of its raw score
  matrix q·kᵀ/√d_head. The score matrix is a product of a (T, d_head) and a (d_head, T) matrix, so its rank can
  never exceed d_head (the "low-rank bottleneck" of multi-head attention, Bhojanapalli et al. 2020); the softmax
  can raise the rank of the map above d_head again.

Head index convention of the all-layer matrices: ``layer * n_heads + head`` (:func:`head_labels` names them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import entr

from ..models.base import hook_name

METRICS = ("js", "cosine")


def head_labels(n_layers: int, n_heads: int) -> list[str]:
    """``"L{layer} H{head}"`` for every head, in the order of :func:`head_similarity`'s rows."""
    return [f"L{layer} H{head}" for layer in range(n_layers) for head in range(n_heads)]


def real_query_rows(capture, query_rows: np.ndarray | None = None) -> np.ndarray:
    """bool (T,): the real (non-padding) tokens, further restricted to ``query_rows`` (bool (T,)) when given."""
    rows = np.asarray(capture.key_is_real, dtype=bool).copy()
    if query_rows is not None:
        rows &= np.asarray(query_rows, dtype=bool)
    return rows


JS_ROW_BLOCK = 64  # query rows compared at a time: every head's rows of a 512-token text in about 20 MB, not 700


def _entropy_bits(p: np.ndarray) -> np.ndarray:
    """Shannon entropy (bits) along the last axis; 0·log 0 = 0."""
    return entr(p).sum(axis=-1) / np.log(2)


def _js_distance(capture, layers: list[int], rows: np.ndarray) -> np.ndarray:
    """(N, N) mean over the chosen query rows of the Jensen–Shannon distance between heads' rows, N = every head of
    ``layers``; each row a distribution over the real keys (padding keys carry no weight, so dropping them changes
    no distribution).

    Uses JSD(p, q) = H((p + q) / 2) − (H(p) + H(q)) / 2, so each pair costs one entropy of the mixture; the
    distance is √JSD with base-2 logarithms, hence in [0, 1]. Each row is normalised to sum 1 first (as
    scipy.spatial.distance.jensenshannon does), so maps whose rows drift from 1 by rounding compare as
    distributions. Streamed over blocks of ``JS_ROW_BLOCK`` query rows, one head against every later one at a
    time: memory (N, rows of a block, keys), never every row of every head at once (five students comparing
    512-token texts held +700 MB each when all rows of all heads and their mixtures were in memory together).
    """
    keys = np.asarray(capture.key_is_real, dtype=bool)
    chosen = np.flatnonzero(rows)
    n = len(layers) * capture.n_heads
    total = np.zeros((n, n))
    for start in range(0, len(chosen), JS_ROW_BLOCK):
        block = chosen[start : start + JS_ROW_BLOCK]
        maps = np.concatenate([capture.pattern(layer)[:, block][:, :, keys] for layer in layers]).astype(np.float64)
        if (maps < 0).any():
            # JS is defined for distributions only: DCMHA's post-composed maps can hold negative weights
            raise ValueError("Jensen–Shannon distance needs non-negative attention weights; use metric='cosine'")
        sums = maps.sum(axis=-1, keepdims=True)
        p = np.divide(maps, np.where(sums > 0, sums, 1.0), out=maps)  # (N, r, K)
        own = _entropy_bits(p)  # (N, r)
        for a in range(n - 1):  # one head against every later one
            mixture = (p[a][None] + p[a + 1 :]) / 2  # (N - a - 1, r, K)
            divergence = _entropy_bits(mixture) - (own[a][None] + own[a + 1 :]) / 2  # (N - a - 1, r)
            # rounding can leave a divergence of −1e-16 for identical rows: √ of that would be NaN
            total[a, a + 1 :] += np.sqrt(np.clip(divergence, 0.0, 1.0)).sum(axis=1)
    distance = total / max(1, len(chosen))
    return distance + distance.T  # symmetric by construction; the diagonal stays exactly 0


def _compare(capture, layers: list[int], rows: np.ndarray, metric: str) -> np.ndarray:
    """(N, N) over the heads of ``layers``: the streamed cosine, or the JS distance of the stored maps."""
    if metric == "cosine":
        return _streamed_cosine(capture, rows, layers)
    if metric != "js":
        raise ValueError(f"metric must be one of {', '.join(METRICS)} (got {metric!r})")
    if capture.is_linear(layers[0]):
        raise ValueError(
            "a long text's heads are compared by the cosine of their maps (metric='cosine'): "
            "Jensen–Shannon compares every row of every pair of heads"
        )
    return _js_distance(capture, layers, rows)


def head_similarity(capture, metric: str = "js", query_rows: np.ndarray | None = None) -> np.ndarray:
    """How alike every pair of heads of every layer attends: (L·H, L·H), head index ``layer * H + head``.

    metric "js": a DISTANCE (0 = identical, 1 = disjoint supports). For each real query row (optionally only
    ``query_rows``, bool (T,)), the Jensen–Shannon distance (base 2: √ of the JS divergence) between the two
    heads' rows, which are distributions over the same keys even when the two layers' masks differ; then the
    mean over those rows. Zero diagonal.

    metric "cosine": a SIMILARITY (1 = identical up to scale, 0 = no shared cell). The cosine of the two
    heads' maps, each flattened over the same query rows × real keys. 1.0 on the diagonal.

    Both are symmetric.
    """
    return _compare(capture, list(range(capture.n_layers)), real_query_rows(capture, query_rows), metric)


def _streamed_cosine(capture, rows: np.ndarray, layers: list[int]) -> np.ndarray:
    """(N, N) cosine of the heads' maps flattened over ``rows`` × real keys, as the Gram matrix of the flattened maps
    summed over blocks of query rows, each over the keys the mask rule lets those rows see (every other cell is 0 in
    every map): regions of stored maps, or a long text's computed from its q and k. A head whose map is all zero
    (it cannot happen after a softmax) has no direction: 0 to every other head, 1 to itself."""
    from .. import tiles

    n, keys = len(capture.tokens), np.asarray(capture.key_is_real, dtype=bool)
    gram = np.zeros((len(layers) * capture.n_heads,) * 2)
    for block in tiles.row_blocks(0, n):
        spans = [tiles.allowed_span(capture, layer, block) for layer in layers]
        cols = slice(min(s.start for s in spans), max(s.stop for s in spans))
        if cols.stop <= cols.start or not rows[block].any():
            continue
        maps = np.concatenate([tiles.heads_tile(capture, layer, block, cols) for layer in layers])
        flat = maps[:, rows[block]][:, :, keys[cols]].reshape(maps.shape[0], -1).astype(np.float64)  # (N, r·c)
        gram += flat @ flat.T
    norms = np.sqrt(np.clip(np.diag(gram), 0.0, None))
    safe = np.where(norms > 0, norms, 1.0)
    similarity = np.clip(gram / safe[:, None] / safe[None, :], -1.0, 1.0)
    similarity = (similarity + similarity.T) / 2
    np.fill_diagonal(similarity, 1.0)
    return similarity


def layer_similarity(capture, layer: int, metric: str = "js", query_rows: np.ndarray | None = None) -> np.ndarray:
    """:func:`head_similarity` for the heads of one layer only: (H, H)."""
    return _compare(capture, [layer], real_query_rows(capture, query_rows), metric)


def cluster_order(matrix: np.ndarray, is_distance: bool) -> np.ndarray:
    """A permutation of the heads (int (N,)) that puts heads with similar attention next to each other.

    matrix: (N, N) symmetric, a distance (``is_distance``) or a similarity, which becomes the distance
    1 − similarity. Average-linkage hierarchical clustering, with its leaves ordered so that neighbours in the
    order are as close as possible (scipy's optimal_leaf_ordering), read off as the leaf order.
    """
    from scipy.cluster.hierarchy import leaves_list, linkage, optimal_leaf_ordering
    from scipy.spatial.distance import squareform

    matrix = np.asarray(matrix, dtype=np.float64)
    n = matrix.shape[0]
    if matrix.shape != (n, n):
        raise ValueError(f"cluster_order needs a square matrix (got shape {matrix.shape})")
    if not np.isfinite(matrix).all():
        raise ValueError("cluster_order needs a finite matrix")
    if n < 3:  # nothing to reorder: any order of two heads puts them together
        return np.arange(n)
    distance = matrix if is_distance else 1.0 - matrix
    distance = np.clip((distance + distance.T) / 2, 0.0, None)
    np.fill_diagonal(distance, 0.0)
    condensed = squareform(distance, checks=False)
    tree = linkage(condensed, method="average")
    return leaves_list(optimal_leaf_ordering(tree, condensed)).astype(np.int64)


def _spectrum(matrix: np.ndarray) -> np.ndarray:
    """The singular values of ``matrix`` that are above its numerical noise floor.

    The floor is the one :func:`numpy.linalg.matrix_rank` uses, at the precision the matrix was computed in
    (float32 captures: float32's ε): the SVD itself runs in float64, where float32 rounding would otherwise
    show up as small but "nonzero" singular values beyond the true rank.
    """
    matrix = np.asarray(matrix)
    eps = np.finfo(matrix.dtype if np.issubdtype(matrix.dtype, np.floating) else np.float64).eps
    values = np.linalg.svd(matrix.astype(np.float64), compute_uv=False)
    if values.size == 0 or values[0] == 0:
        return values[:0]
    return values[values > values[0] * max(matrix.shape) * eps]


def effective_rank(matrix: np.ndarray) -> float:
    """Entropy-based effective rank (Roy & Vetterli 2007): exp of the Shannon entropy (nats) of the singular
    values normalised to sum 1. 1 for a rank-one matrix, n for n equal singular values; never above the rank.
    A zero matrix has effective rank 0. matrix: (m, n)."""
    values = _spectrum(matrix)
    if values.size == 0:
        return 0.0
    p = values / values.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


def energy_rank(matrix: np.ndarray, energy: float = 0.9) -> int:
    """How many of the largest singular values hold ``energy`` of the matrix's energy (the sum of squared
    singular values, its squared Frobenius norm). 0 for a zero matrix. matrix: (m, n)."""
    if not 0 < energy <= 1:
        raise ValueError(f"energy must be in (0, 1] (got {energy})")
    values = _spectrum(matrix)
    if values.size == 0:
        return 0
    share = np.cumsum(values**2) / np.sum(values**2)
    # a share of exactly `energy` counts as reached, whatever the last bit of rounding says
    return int(np.searchsorted(share, energy - 1e-12) + 1)


def _d_head(capture, layer: int) -> float:
    for name in ("q", "k"):
        key = hook_name(name, layer)
        if key in capture:
            return int(capture[key].shape[-1])
    return float("nan")  # neither q nor k was recorded


RANK_COLUMNS = ("layer", "head", "pattern_erank", "pattern_rank90", "scores_erank", "scores_rank90", "d_head")


def rank_table(capture, query_rows: np.ndarray | None = None, energy: float = 0.9) -> pd.DataFrame:
    """One row per (layer, head): effective rank and ``energy`` (90 %) rank of the attention map and of the raw
    scores (the columns of ``RANK_COLUMNS``).

    Both matrices are taken over the real query rows (optionally only ``query_rows``, bool (T,)) × the real
    keys, so padding never enters. The map keeps its masked cells, which the softmax made 0: they are part of
    the map. The scores are q·kᵀ/√d_head *before* the mask, and they are kept whole on real tokens even where
    a causal or windowed mask hides a cell: the bottleneck is the bilinear form q·kᵀ, of rank ≤ d_head, and the
    mask is applied after it; blanking the hidden cells (to 0 or −∞) would measure the mask's triangle, not the
    head. So ``scores_erank`` ≤ min(n_real_tokens, d_head) always; ``pattern_erank`` may exceed d_head.
    """
    rows = real_query_rows(capture, query_rows)
    keys = np.asarray(capture.key_is_real, dtype=bool)
    records = []
    for layer in range(capture.n_layers):
        patterns = capture.pattern(layer)[:, rows][:, :, keys]  # (heads, n_rows, n_keys)
        scores = capture.scores(layer)[:, rows][:, :, keys]  # recorded, or rebuilt from q and k (Capture.__missing__)
        d_head = _d_head(capture, layer)
        for head in range(patterns.shape[0]):
            records.append(
                {
                    "layer": layer,
                    "head": head,
                    "pattern_erank": effective_rank(patterns[head]),
                    "pattern_rank90": energy_rank(patterns[head], energy),
                    "scores_erank": effective_rank(scores[head]),
                    "scores_rank90": energy_rank(scores[head], energy),
                    "d_head": d_head,
                }
            )
    return pd.DataFrame.from_records(records, columns=list(RANK_COLUMNS))
