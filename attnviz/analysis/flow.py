"""Where a token's information comes from across layers: attention rollout and attention flow (Abnar & Zuidema
2020, "Quantifying Attention Flow in Transformers").

Both read the layers as a graph: node (l, i) is token i at the input of layer l (l = 0: the embeddings; l = L:
the last layer's output), and layer l joins (l, j) to (l + 1, i) with the weight of the *mixed* map

    A_l = residual · I + (1 − residual) · fuse_h(pattern_l[h]),   rows renormalised to sum 1,

where the identity stands for the residual connection that carries token i past the attention (the paper's
residual = 0.5) and ``fuse_h`` is the mean over heads (or the max, or one head).

* rollout multiplies the mixed maps: rolled_l = A_l @ … @ A_0, a (T, T) map per layer whose rows sum to 1;
* attention flow treats the mixed weights as capacities and takes, for every token i after layer l and every
  input token j, the maximum flow from (l + 1, i) down to (0, j); each row is then normalised to sum 1, as in the
  paper's code.

Masks are respected: only real (non-padding) tokens take part (padding rows and columns of every result are 0),
and a cell the layer's mask hides carries no weight, so a causal model's rollout and flow stay lower-triangular.
A window, though, widens with depth, as the receptive field does: after two layers of window 3 a token reaches
5 tokens back (:func:`reachable` says which cells a path can reach).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

MAX_FLOW_TOKENS = 64  # attention_flow solves L·T² max-flow problems: MiniLM (6 layers) 1–2 s at T = 32, 10–14 s at 64
# max-flow in scipy needs integer capacities: weights (≤ 1) are scaled by this and rounded, an error ≤ 1.5e-8 per edge
FLOW_SCALE = 2**25


def _allowed(capture, layer: int) -> np.ndarray:
    """bool (T, T): cells the layer's mask lets through, between real tokens only."""
    real = np.asarray(capture.key_is_real, dtype=bool)
    return capture.mask(layer).astype(bool) & real[:, None] & real[None, :]


def mixed_map(pattern: np.ndarray, allowed: np.ndarray, residual: float = 0.5, heads="mean") -> np.ndarray:
    """One layer's residual-mixed attention A (T, T) float64: rows of real tokens sum to 1, other rows are 0.

    pattern: (heads, T, T); allowed: bool (T, T), False at masked cells and at padding rows and columns (a row
    with any allowed cell is a real token's). ``heads``: "mean" or "max" over heads, or one head's index.
    """
    if not 0 <= residual <= 1:
        raise ValueError(f"residual must be in [0, 1] (got {residual})")
    pattern = np.asarray(pattern, dtype=np.float64)
    if heads == "mean":
        fused = pattern.mean(axis=0)
    elif heads == "max":
        fused = pattern.max(axis=0)
    elif isinstance(heads, (int, np.integer)) and not isinstance(heads, bool):
        fused = pattern[int(heads)]
    else:
        raise ValueError(f"heads must be 'mean', 'max' or a head index (got {heads!r})")
    allowed = np.asarray(allowed, dtype=bool)
    real = allowed.any(axis=1)
    # a masked cell carries nothing even if the map holds rounding there; the residual path only joins real tokens
    mixed = residual * np.diag(real.astype(np.float64)) + (1 - residual) * np.where(allowed, fused, 0.0)
    sums = mixed.sum(axis=1, keepdims=True)
    return np.where(sums > 0, mixed / np.where(sums > 0, sums, 1.0), 0.0)


def mixed_maps(capture, residual: float = 0.5, heads="mean") -> np.ndarray:
    """Every layer's mixed map (:func:`mixed_map`) of a capture: (L, T, T)."""
    return np.stack(
        [
            mixed_map(capture.pattern(layer), _allowed(capture, layer), residual, heads)
            for layer in range(capture.n_layers)
        ]
    )


def rollout_maps(maps: np.ndarray) -> np.ndarray:
    """Cumulative products of per-layer maps: out[l] = maps[l] @ … @ maps[0]. maps, out: (L, T, T)."""
    maps = np.asarray(maps, dtype=np.float64)
    rolled = np.empty_like(maps)
    current = None
    for layer, mixed in enumerate(maps):
        current = mixed if current is None else mixed @ current
        rolled[layer] = current
    return rolled


def rollout(capture, residual: float = 0.5, heads="mean") -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020): (L, T, T), row i of layer l = how much of token i after layer l
    comes from each input token. Rows of real tokens sum to 1; padding rows and columns are 0; cells no path
    reaches (above the diagonal of a causal model) are exactly 0. ``heads``: "mean" (the paper's), "max" or one
    head index in every layer."""
    return rollout_maps(mixed_maps(capture, residual, heads))


def reachable(capture) -> np.ndarray:
    """bool (L, T, T): cell (l, i, j) is True when some path through the masks joins input token j to token i
    after layer l (the cells where rollout and flow can be nonzero; a window grows by its width per layer)."""
    real = np.asarray(capture.key_is_real, dtype=bool)
    current = None
    out = []
    for layer in range(capture.n_layers):
        step = _allowed(capture, layer) | np.diag(real)  # the residual path keeps a token reaching itself
        current = step if current is None else (step.astype(np.int64) @ current.astype(np.int64)) > 0
        out.append(current)
    return np.stack(out)


def flow_from_maps(maps: np.ndarray, *, normalise: bool = True, max_tokens: int = MAX_FLOW_TOKENS) -> np.ndarray:
    """Attention flow through a stack of per-layer maps (L, T, T) used as capacities: out (L, T, T).

    out[l, i, j] = the maximum flow from token i after layer l (node (l + 1, i)) down to input token j (node
    (0, j)), where layer l's edge (l + 1, i) → (l, j) has capacity maps[l, i, j]. With ``normalise`` each row of
    out is divided by its sum (the paper's presentation: a distribution over input tokens); all-zero rows stay
    0. Raises ValueError beyond ``max_tokens`` tokens: the work is L·T² max-flow problems.

    Solved with scipy's Dinic max-flow on integer capacities (weights × FLOW_SCALE, rounded): exact up to
    1.5e-8 per edge of the cut.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_flow

    maps = np.asarray(maps, dtype=np.float64)
    n_layers, n_tokens, _ = maps.shape
    if n_tokens > max_tokens:
        raise ValueError(
            f"attention flow solves {n_layers}·T² max-flow problems: at most {max_tokens} tokens "
            f"(got {n_tokens}); use rollout for longer texts"
        )
    if (maps < 0).any():
        raise ValueError("attention flow needs non-negative capacities")
    # node (l, i) is l * T + i; edges only run down a layer, so from a node of layer l the graph below is all
    # that a flow can use: one graph serves every source
    capacity = np.zeros(((n_layers + 1) * n_tokens,) * 2, dtype=np.int32)
    for layer in range(n_layers):
        upper, lower = (layer + 1) * n_tokens, layer * n_tokens
        capacity[upper : upper + n_tokens, lower : lower + n_tokens] = np.rint(maps[layer] * FLOW_SCALE)
    graph = csr_matrix(capacity)
    flow = np.zeros_like(maps)
    for layer in range(n_layers):
        for i in range(n_tokens):
            source = (layer + 1) * n_tokens + i
            if graph.indptr[source] == graph.indptr[source + 1]:
                continue  # no edge out (padding): no flow anywhere
            for j in range(n_tokens):
                flow[layer, i, j] = maximum_flow(graph, source, j, method="dinic").flow_value / FLOW_SCALE
    if normalise:
        sums = flow.sum(axis=2, keepdims=True)
        flow = np.where(sums > 0, flow / np.where(sums > 0, sums, 1.0), 0.0)
    return flow


def attention_flow(
    capture, residual: float = 0.5, heads="mean", *, normalise: bool = True, max_tokens: int = MAX_FLOW_TOKENS
) -> np.ndarray:
    """Attention flow (Abnar & Zuidema 2020) of a capture: (L, T, T), through the same mixed maps as
    :func:`rollout` (see :func:`flow_from_maps`). Padding rows and columns are 0. At most ``max_tokens`` real
    tokens (64 by default; ValueError beyond): MiniLM (6 layers) takes 1–2 s at 32 tokens and 10–14 s at 64."""
    maps = mixed_maps(capture, residual, heads)
    real = np.flatnonzero(capture.key_is_real)
    # padding carries no capacity: solving on the real tokens alone gives the same flows, and fewer of them
    real_flow = flow_from_maps(maps[:, real][:, :, real], normalise=normalise, max_tokens=max_tokens)
    out = np.zeros_like(maps)
    out[:, real[:, None], real[None, :]] = real_flow
    return out


class FlowEdge(NamedTuple):
    """A line of the token graph: from token ``source`` at the input of layer ``layer`` (column ``layer``; column
    0 = the embeddings) to token ``target`` at its output (column ``layer + 1``)."""

    layer: int
    source: int
    target: int
    weight: float


def flow_edges(
    maps: np.ndarray, *, top_k: int | None = 3, threshold: float = 0.0, keep: np.ndarray | None = None
) -> list[FlowEdge]:
    """The strongest edges of a per-layer stack of (T, T) maps (queries on rows), few enough to draw.

    maps: (L, T, T), maps[l, i, j] = weight of the line from token j in column l to token i in column l + 1 —
    :func:`mixed_maps` or raw head-averaged patterns, whose lines compose into paths. (A rollout or flow stack
    also works, each layer's lines then read "after layer l, token i draws this much from input token j", drawn
    between neighbouring columns.) Kept: for each target token of each layer, its ``top_k`` heaviest incoming
    edges (all when None), of those only weights above ``threshold``; zero weights never. ``keep``: bool (T,)
    or indices of the tokens that may appear at either end (hide padding or special tokens).
    Sorted by layer, target, then weight (heaviest first).
    """
    maps = np.asarray(maps, dtype=np.float64)
    n_layers, n_tokens, _ = maps.shape
    shown = np.ones(n_tokens, dtype=bool)
    if keep is not None:
        keep = np.asarray(keep)
        shown = keep.astype(bool) if keep.dtype == bool else np.isin(np.arange(n_tokens), keep)
    edges = []
    for layer in range(n_layers):
        weights = np.where(shown[:, None] & shown[None, :], maps[layer], 0.0)
        for target in np.flatnonzero(shown):
            row = weights[target]
            order = np.argsort(-row, kind="stable")
            if top_k is not None:
                order = order[:top_k]
            for source in order:
                weight = float(row[source])
                if weight > threshold and weight > 0:
                    edges.append(FlowEdge(layer, int(source), int(target), weight))
    return edges
