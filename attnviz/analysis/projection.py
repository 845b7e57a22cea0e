"""One head's queries and keys in one 2-D picture (after AttentionViz, Yeh et al. 2023).

A head attends from query i to key j by q_i·k_j. To read that off a scatter plot, queries and keys are projected
*jointly* (one PCA fitted on both sets), after two changes that leave every attention weight as it was:

* scaling: q → c·q and k → k/c keep every q·k; c is chosen so that queries and keys have the same mean norm,
  otherwise one set sits in a tight ball in the middle of the other;
* translation: k → k + t adds q·t to every score of query q, the same for all its keys, which the softmax
  cancels; t moves the keys' centroid onto the queries'.

Then |q − k|² = |q|² + |k|² − 2 q·k: among keys of similar norm, the one a query scores highest is the nearest.
That is a tendency, not a guarantee: keys' norms differ, and the projection keeps only the share of the geometry
in ``explained_variance``. The result reports how often it held on this sentence (``attended_nearby``).
"""

from __future__ import annotations

import warnings

import numpy as np

from ..capture import Capture
from ..models.base import hook_name
from .redundancy import real_query_rows

METHODS = ("pca", "umap")


def default_kv_head(head: int, n_heads: int, n_kv_heads: int) -> int:
    """The K/V head that query head ``head`` reads under the standard grouped-query layout (consecutive query
    heads share one K/V head), as the Hugging Face adapter's ``kv_head_of`` maps it."""
    if n_heads % n_kv_heads:
        raise ValueError(f"{n_heads} query heads do not divide into {n_kv_heads} K/V heads")
    return head * n_kv_heads // n_heads


def align_queries_and_keys(q: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """q (n_q, d) and k (n_k, d) scaled and translated as the module docstring says: (q', k', c).

    Every softmax row over the keys is unchanged: q'·k'_j − q·k_j is the same for all j of one query.
    """
    q = np.asarray(q, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    q_norm, k_norm = np.linalg.norm(q, axis=1).mean(), np.linalg.norm(k, axis=1).mean()
    scale = float(np.sqrt(k_norm / q_norm)) if q_norm > 0 and k_norm > 0 else 1.0
    q_scaled, k_scaled = q * scale, k / scale
    k_moved = k_scaled - k_scaled.mean(axis=0) + q_scaled.mean(axis=0)
    return q_scaled, k_moved, scale


def pca_2d(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """points (n, d) → (coordinates (n, 2), explained variance ratio (2,)), by SVD of the centred points.

    Each axis's sign is fixed (its largest loading positive) so that the picture does not flip between runs.
    Fewer than two dimensions of spread: the missing axis is 0 with ratio 0.
    """
    centred = points - points.mean(axis=0)
    _, values, axes = np.linalg.svd(centred, full_matrices=False)
    axes = axes[:2]
    axes = axes * np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])[:, None]
    coords = np.zeros((len(points), 2))
    coords[:, : len(axes)] = centred @ axes.T
    energy = float(np.sum(values**2))
    ratio = np.zeros(2)
    if energy > 0:
        ratio[: len(axes)] = values[: len(axes)] ** 2 / energy
    return coords, ratio


def _umap_2d(points: np.ndarray, seed: int) -> np.ndarray:
    try:
        import umap
    except ImportError as error:  # optional: umap-learn (with numba) is not among attnviz's dependencies
        raise ImportError("method='umap' needs the umap-learn package (pip install umap-learn)") from error
    neighbours = max(2, min(15, len(points) - 1))
    with warnings.catch_warnings():  # a fixed seed makes UMAP single-threaded, and it says so every time
        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)
        return umap.UMAP(n_components=2, n_neighbors=neighbours, random_state=seed, init="random").fit_transform(points)


def _attended_nearby(queries: np.ndarray, keys: np.ndarray, pattern: np.ndarray, neighbours: int) -> float:
    """Share of queries whose most-attended key is among their ``neighbours`` nearest keys in the picture.

    queries (n, 2), keys (n, 2); pattern (n, n) on the same tokens."""
    distance = np.linalg.norm(queries[:, None, :] - keys[None, :, :], axis=-1)  # (n, n)
    nearest = np.argsort(distance, axis=1, kind="stable")[:, :neighbours]
    top = pattern.argmax(axis=1)
    return float(np.mean([top[i] in nearest[i] for i in range(len(top))]))


def qk_projection(
    capture: Capture,
    layer: int,
    head: int,
    method: str = "pca",
    *,
    kv_head: int | None = None,
    neighbours: int = 3,
    seed: int = 0,
) -> dict:
    """One head's queries and keys of every real token, projected to 2-D jointly (see the module docstring).

    ``kv_head``: the K/V head whose keys the query head reads; by default the standard grouped-query layout
    (:func:`default_kv_head`; the capture holds no model to ask). ``method``: "pca" (numpy SVD) or "umap" (needs
    umap-learn; ``seed`` fixes it). Returns a dict:

    * ``queries``, ``keys``: (n, 2) coordinates, row r = the token at ``positions[r]``;
    * ``positions``: (n,) int, the real tokens' positions in the capture;
    * ``explained_variance``: (2,) share of the aligned points' variance on each PCA axis (None for UMAP);
    * ``scale``: the c of q → c·q, k → k/c; ``kv_head``, ``layer``, ``head``, ``method``;
    * ``attended_nearby``: share of queries whose most-attended key (in the captured pattern) is among their
      ``neighbours`` nearest keys in the picture (NaN without a pattern), how far "near = attended" held here.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)} (got {method!r})")
    queries_all = capture[hook_name("q", layer)]  # (heads, T, d_head)
    keys_all = capture[hook_name("k", layer)]  # (kv_heads, T, d_head)
    if kv_head is None:
        kv_head = default_kv_head(head, queries_all.shape[0], keys_all.shape[0])
    positions = np.flatnonzero(real_query_rows(capture))
    q, k, scale = align_queries_and_keys(queries_all[head][positions], keys_all[kv_head][positions])
    joint = np.concatenate([q, k])  # (2n, d): one fit for both, so their distances mean something
    if method == "pca":
        coords, explained = pca_2d(joint)
    else:
        coords, explained = _umap_2d(joint, seed), None
    n = len(positions)
    queries, keys = coords[:n], coords[n:]
    nearby = float("nan")
    pattern_key = hook_name("pattern", layer)
    if capture.recorded(pattern_key) and n:  # never a long text's whole map computed for this
        pattern = capture[pattern_key][head][np.ix_(positions, positions)]
        nearby = _attended_nearby(queries, keys, pattern, min(neighbours, n))
    return {
        "queries": queries,
        "keys": keys,
        "positions": positions,
        "explained_variance": explained,
        "scale": scale,
        "kv_head": int(kv_head),
        "layer": layer,
        "head": head,
        "method": method,
        "attended_nearby": nearby,
    }
