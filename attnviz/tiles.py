"""Any part of an attention map, exactly, from what is linear in the sequence.

A capture of ``q``, ``k``, ``lse`` (each row's log-sum-exp over its allowed scores) and ``score_scale`` per layer —
(heads × T × d) numbers, not (heads × T × T) — plus the mask as a rule (the capture's causal flag, each layer's
window, the chunk and the padding) holds every cell of every map:

    score[i, j]   = scale · q_i · k_j          (then softcap · tanh(score / softcap) when the model caps scores)
    pattern[i, j] = exp(score[i, j] − lse_i)   where the rule allows (i, j), else 0

FlashAttention keeps the same two things to avoid the map; here they let a page draw a downsampled map of a long
text, then the exact tile under a zoom box, without a (T × T) array ever existing for more than a block of rows.
Works for the BERT family, the Hugging Face decoders (grouped K/V heads, sliding windows, softcapping, sinks) and
the DCFormer (its per-token compose weights are linear in the text too: each tile is composed as the forward does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from .compose import compose
from .masks import MaskSpec, key_span, position_mask, score_mod
from .models.base import hook_name

LINEAR_HOOKS = ("q", "k", "lse", "score_scale")  # what a capture needs for tiles, per layer
# and for a DCFormer, its per-token compose weights (pre_qw1 … post_kdd), linear in the text too
DCMHA_HOOKS = tuple(
    f"{stage}_{name}" for stage in ("pre", "post") for name in ("qw1", "qw2", "kw1", "kw2", "qdd", "kdd")
)
ROWS_PER_BLOCK = 256  # rows computed at once by the functions that sweep a whole map


def linear_hooks(layers, dcmha: bool = False) -> list[str]:
    """The hook names a tiles-ready capture records for ``layers`` (``dcmha``: a DCFormer's compose weights too)."""
    names = LINEAR_HOOKS + (DCMHA_HOOKS if dcmha else ())
    return [hook_name(name, layer) for layer in layers for name in names]


def _stored(cap, kind: str, layer: int) -> np.ndarray | None:
    """``layer``'s recorded (heads, T, T) map of this kind, or None: the tiles of a capture that stores its maps whole
    are regions of them, so one path draws blocks and zooms for both kinds of capture."""
    name = hook_name(kind, layer)
    return dict.__getitem__(cap, name) if dict.__contains__(cap, name) else None


def mask_rules(cap, layer: int) -> list[MaskSpec]:
    """``layer``'s mask as rules that all hold (padding: ``key_is_real``): the capture's rules with its causality and
    that layer's window; with sinks under a layer's own window, that window apart (the sinks see through the user's
    window only, never widening the model's own mask)."""
    own = cap.own_windows[layer] if cap.own_windows is not None else None
    if cap.spec.sinks is None or own is None:
        return [replace(cap.spec, causal=cap.causal, window=cap.layer_windows[layer])]
    return [MaskSpec(causal=cap.causal, window=own), replace(cap.spec, causal=cap.causal)]


def allowed_tile(cap, layer: int, rows: slice, cols: slice) -> np.ndarray:
    """(rows, cols) bool: the mask rule of ``layer`` in that region (True = may attend)."""
    n = len(cap.key_is_real)
    q_pos, k_pos = np.arange(n)[rows], np.arange(n)[cols]
    allowed = cap.key_is_real[cols][None, :]
    for rule in mask_rules(cap, layer):
        allowed = allowed & position_mask(q_pos, k_pos, rule)
    return allowed


def row_blocks(start: int, stop: int):
    """Slices of at most ROWS_PER_BLOCK rows covering [start, stop): how every function that sweeps a map goes."""
    for a in range(start, stop, ROWS_PER_BLOCK):
        yield slice(a, min(stop, a + ROWS_PER_BLOCK))


def _head_index(cap, layer: int, heads) -> np.ndarray:
    """The query heads asked for, as an index array (None: every head of the layer)."""
    return np.arange(cap.n_heads) if heads is None else np.asarray(heads, dtype=np.int64)


def _scale_and_cap(products: np.ndarray, cap, layer: int, head, query, key) -> np.ndarray:
    """q·k products (float64) of query head ``head`` at query positions ``query`` and key positions ``key`` (all
    broadcasting against each other) as the layer's scores: times its scale, then softcap · tanh(s / softcap) when the
    model caps its scores, then the user's score modifications (ALiBi, soft-capping; attnviz.masks.score_mod)."""
    scale, softcap = (float(x) for x in cap[hook_name("score_scale", layer)])
    scores = products * scale
    scores = softcap * np.tanh(scores / softcap) if softcap else scores
    return score_mod(scores, head, query, key, cap.spec, cap.n_heads)


def _scores(cap, layer: int, rows: slice, cols: slice, heads=None) -> np.ndarray:
    """(heads, rows, cols) float64 scores before the mask: the recorded ones when the capture holds them, else from
    q and k (grouped-query attention: query head h reads K/V head h // group)."""
    index = _head_index(cap, layer, heads)
    stored = _stored(cap, "scores", layer)
    if stored is not None:
        return np.asarray(stored[:, rows, cols][index], dtype=np.float64)
    q, k = cap[hook_name("q", layer)], cap[hook_name("k", layer)]  # (H, T, d), (Hkv, T, d)
    kv = index // (q.shape[0] // k.shape[0])
    products = q[:, rows][index].astype(np.float64) @ k[:, cols][kv].astype(np.float64).transpose(0, 2, 1)  # (h, r, c)
    n = len(cap.key_is_real)
    query, key = np.arange(n)[rows][None, :, None], np.arange(n)[cols][None, None, :]
    return _scale_and_cap(products, cap, layer, index[:, None, None], query, key)


def scores_tile(cap, layer: int, head: int, rows: slice, cols: slice) -> np.ndarray:
    """(rows, cols) float32 scores of ``head``, before the mask, exactly as the forward computed them (the recorded
    scores when the capture holds them, else from q and k)."""
    return _scores(cap, layer, rows, cols, [head])[0].astype(np.float32)


def allowed_span(cap, layer: int, rows: slice) -> slice:
    """The columns that the mask rule lets any of ``rows`` attend to (a superset: padding is not looked at). A
    sliding window or a chunk keeps it near the rows, so a long text's tiles cost O(T·w), not O(T²)."""
    n = len(cap.key_is_real)
    start, stop = rows.start or 0, min(n, rows.stop if rows.stop is not None else n)
    spans = [key_span(start, stop, n, rule) for rule in mask_rules(cap, layer)]
    lo = max(span[0] for span in spans)
    return slice(lo, max(lo, min(span[1] for span in spans)))


def pattern_tile(cap, layer: int, head: int, rows: slice, cols: slice) -> np.ndarray:
    """(rows, cols) float32 attention weights of ``head``: exactly the softmax's, masked cells exactly 0 (for a
    DCFormer, after post-compose: the weights that mix v). Only the columns the mask rule allows are computed."""
    return heads_tile(cap, layer, rows, cols, [head])[0]


def heads_tile(cap, layer: int, rows: slice, cols: slice, heads=None) -> np.ndarray:
    """(heads, rows, cols) weights (float32) of these heads (every head by default) over a region, computed together:
    the stored maps' region, or exp(score − lse) where the mask rule allows (zeros outside its span of keys, which
    is all that is computed); a DCFormer's after post-compose."""
    n = len(cap.key_is_real)
    rows, cols = slice(*rows.indices(n)), slice(*cols.indices(n))
    index = _head_index(cap, layer, heads)
    stored = _stored(cap, "pattern", layer)
    if stored is not None:  # a capture that holds the whole maps (a text of a few hundred tokens): the region itself,
        return stored[:, rows, cols][index]  # in its own precision (a forward's: float32)
    span = allowed_span(cap, layer, rows)
    inside = slice(max(cols.start, span.start), min(cols.stop, span.stop))
    if inside.start > cols.start or inside.stop < cols.stop:  # zeros outside the rule's span, computed within it
        out = np.zeros((len(index), rows.stop - rows.start, cols.stop - cols.start), dtype=np.float32)
        if inside.stop > inside.start:
            out[:, :, inside.start - cols.start : inside.stop - cols.start] = heads_tile(
                cap, layer, rows, inside, index
            )
        return out
    if hook_name("pre_qw1", layer) in cap:
        return _composed_stages(cap, layer, rows, cols, _scores(cap, layer, rows, cols))["pattern"][index]
    scores = _scores(cap, layer, rows, cols, index)
    lse = cap[hook_name("lse", layer)][:, rows][index].astype(np.float64)[:, :, None]
    allowed = allowed_tile(cap, layer, rows, cols)[None]
    with np.errstate(invalid="ignore", over="ignore"):
        weights = np.where(allowed & np.isfinite(lse), np.exp(scores - lse), 0.0)
    return weights.astype(np.float32)


STAGE_HOOKS = {
    "raw": "scores",
    "composed": "scores_composed",
    "probs": "probs",
    "pattern": "pattern",
}  # DCMHA's four maps


def stage_tiles(cap, layer: int, rows: slice, cols: slice) -> dict[str, np.ndarray]:
    """(heads, rows, cols) float32 of each of a DCFormer layer's four maps over a region: raw scores, scores after
    pre-compose, softmax (before post-compose), weights after post-compose. Regions of the stored maps when the
    capture holds them; else computed from q, k, the recorded lse and the per-token compose weights, as the forward
    does on a block of queries. An MHA model (no compose weights): composed = raw, probs = pattern."""
    n = len(cap.key_is_real)
    rows, cols = slice(*rows.indices(n)), slice(*cols.indices(n))
    stored = {stage: _stored(cap, hook, layer) for stage, hook in STAGE_HOOKS.items()}
    if all(maps is not None for maps in stored.values()):
        return {
            stage: np.asarray(maps[:, rows, cols], dtype=np.float32)
            for stage, maps in stored.items()
            if maps is not None
        }
    raw = _scores(cap, layer, rows, cols)
    if hook_name("pre_qw1", layer) not in cap:
        pattern = heads_tile(cap, layer, rows, cols)
        return {"raw": raw.astype(np.float32), "composed": raw.astype(np.float32), "probs": pattern, "pattern": pattern}
    return _composed_stages(cap, layer, rows, cols, raw)


def _composed_stages(cap, layer: int, rows: slice, cols: slice, raw: np.ndarray) -> dict[str, np.ndarray]:
    """DCMHA on a tile: every head's raw scores (H, r, c) composed with the rows' query-wise and the columns' key-wise
    weights (pre), normalised by the recorded lse, masked, and composed again (post): the model's own ``compose``."""

    def tensor(name: str, index=slice(None)) -> torch.Tensor:  # a copy: a shared capture's arrays are read-only
        return torch.tensor(np.asarray(cap[hook_name(name, layer)])[index])

    def weights(stage: str, side: str, span: slice) -> list[torch.Tensor]:
        return [tensor(f"{stage}_{side}{part}", span)[None] for part in ("w1", "w2")]

    def composed(a: torch.Tensor, stage: str) -> torch.Tensor:  # a: (1, H, r, c)
        qw1, qw2 = weights(stage, "q", rows)
        kw1, kw2 = weights(stage, "k", cols)
        qdd, kdd = tensor(f"{stage}_qdd", rows)[None], tensor(f"{stage}_kdd", cols)[None]
        static = tensor(f"{stage}_static") if hook_name(f"{stage}_static", layer) in cap else None
        return compose(a, qw1, qw2, kw1, kw2, qdd, kdd, static)

    scores = torch.from_numpy(raw.astype(np.float32))[None]  # (1, H, r, c), in the compose weights' precision
    lse = tensor("lse", (slice(None), rows))[None, :, :, None]
    allowed = torch.from_numpy(allowed_tile(cap, layer, rows, cols))
    with torch.inference_mode():
        logits = composed(scores, "pre")
        probs = torch.where(allowed & torch.isfinite(lse), torch.exp(logits - lse), torch.zeros(()))
        post = composed(probs, "post")
    return {
        stage: value[0].numpy().astype(np.float32)
        for stage, value in (("raw", scores), ("composed", logits), ("probs", probs), ("pattern", post))
    }


def _blocks(n: int, size: int) -> list[int]:
    """Start of each of ``size`` nearly equal blocks of 0..n (size ≥ n: one block per position)."""
    size = min(size, n)
    return [round(i * n / size) for i in range(size)]


def downsampled(cap, layer: int, head: int, size: int, how: str = "mean") -> np.ndarray:
    """The whole (T × T) map of ``head`` at ``size`` × ``size`` blocks (fewer for a shorter text): each block's mean
    or max of the exact weights, computed ROWS_PER_BLOCK rows at a time (never the whole map at once)."""
    if how not in ("mean", "max"):
        raise ValueError("how must be 'mean' or 'max'")
    n = len(cap.key_is_real)
    row_starts, col_starts = _blocks(n, size), np.asarray(_blocks(n, size))
    widths = np.diff(np.append(col_starts, n))
    out = np.zeros((len(row_starts), len(col_starts)), dtype=np.float64)
    row_edges = row_starts + [n]
    for b, (a, e) in enumerate(zip(row_edges[:-1], row_edges[1:])):
        acc = None
        for block in row_blocks(a, e):
            part = pattern_tile(cap, layer, head, block, slice(0, n)).astype(np.float64)
            reduced = (
                np.add.reduceat(part, col_starts, axis=1).sum(0)
                if how == "mean"
                else np.maximum.reduceat(part, col_starts, axis=1).max(0)
            )
            acc = reduced if acc is None else (acc + reduced if how == "mean" else np.maximum(acc, reduced))
        out[b] = acc / ((e - a) * widths) if how == "mean" else acc
    return out.astype(np.float32)


def full_pattern(cap, layer: int) -> np.ndarray:
    """(heads, T, T): every head's whole map, assembled a block of rows at a time (costs T² per head: say so before
    asking)."""
    n = len(cap.key_is_real)
    return np.concatenate([heads_tile(cap, layer, rows, slice(0, n)) for rows in row_blocks(0, n)], axis=1)


@dataclass
class BlockMap:
    """One head's map over ``rows`` × ``cols`` at block resolution, exact: each block's mean weight, and where its
    strongest cell is (absolute query and key positions), with that cell's weight and raw score.

    mean, weight, score: (R, C) float32; query, key: (R, C) int64; row_starts, col_starts: (R,), (C,) absolute
    positions of each block's first token (the block runs to the next start, or to ``rows.stop`` / ``cols.stop``).
    """

    mean: np.ndarray
    weight: np.ndarray
    query: np.ndarray
    key: np.ndarray
    score: np.ndarray
    row_starts: np.ndarray
    col_starts: np.ndarray
    rows: slice
    cols: slice

    @property
    def exact(self) -> bool:
        """One block per cell: the map itself, not a summary."""
        return (
            len(self.row_starts) == self.rows.stop - self.rows.start
            and len(self.col_starts) == self.cols.stop - self.cols.start
        )


def block_map(
    cap,
    layer: int,
    head: int,
    size: int,
    rows: slice | None = None,
    cols: slice | None = None,
    *,
    strongest: bool = True,
) -> BlockMap:
    """``head``'s map over ``rows`` × ``cols`` (the whole map by default) as at most ``size`` × ``size`` blocks,
    computed a block of rows at a time from the linear capture: never more than (block rows × cols) at once.
    ``strongest=False``: the block means only (thumbnails), and ``weight`` is then 1 where a block has an allowed
    cell and 0 where it has none, ``query``/``key``/``score`` 0."""
    n = len(cap.key_is_real)
    rows, cols = slice(*(rows or slice(0, n)).indices(n)), slice(*(cols or slice(0, n)).indices(n))
    row_starts = rows.start + np.asarray(_blocks(rows.stop - rows.start, size))
    col_offsets = np.asarray(_blocks(cols.stop - cols.start, size))
    widths = np.diff(np.append(col_offsets, cols.stop - cols.start))
    # (C, widest) indices of each column block's columns, padded with the block's last column (never the maximum twice)
    within = np.minimum(col_offsets[:, None] + np.arange(widths.max())[None, :], (col_offsets + widths - 1)[:, None])
    shape = (len(row_starts), len(col_offsets))
    mean, weight = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    query, key = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    for b, (a, e) in enumerate(zip(row_starts, np.append(row_starts[1:], rows.stop))):
        part = pattern_tile(cap, layer, head, slice(int(a), int(e)), cols).astype(np.float64)  # (block rows, cols)
        mean[b] = np.add.reduceat(part.sum(0), col_offsets) / ((e - a) * widths)
        if not strongest:
            weight[b] = np.add.reduceat((part > 0).any(0), col_offsets) > 0
            continue
        column_max, column_arg = part.max(0), part.argmax(0)  # per column: its strongest row
        best = column_max[within].argmax(1)  # per column block: its strongest column
        columns = within[np.arange(len(col_offsets)), best]
        weight[b], query[b], key[b] = column_max[columns], a + column_arg[columns], cols.start + columns
    if not strongest:
        return BlockMap(
            mean, weight, query, key, np.zeros(shape, np.float32), row_starts, cols.start + col_offsets, rows, cols
        )
    return BlockMap(
        mean,
        weight,
        query,
        key,
        cell_scores(cap, layer, head, query, key),
        row_starts,
        cols.start + col_offsets,
        rows,
        cols,
    )


def layer_block_means(cap, layer: int, size: int) -> np.ndarray:
    """(heads, R, R) float32: every head's whole map of ``layer`` as at most ``size`` × ``size`` exact block means
    (the thumbnails of the overview and the layer grid), NaN where a block has no allowed cell. From stored maps in
    one pass over the layer; from a linear capture a block of rows at a time, every head together (``heads_tile``)."""
    n = len(cap.key_is_real)
    starts = np.asarray(_blocks(n, size))
    widths = np.diff(np.append(starts, n))
    stored = _stored(cap, "pattern", layer)
    if stored is not None:
        sums = np.add.reduceat(np.add.reduceat(stored, starts, axis=1, dtype=np.float64), starts, axis=2)  # (H, R, R)
        allowed = allowed_tile(cap, layer, slice(0, n), slice(0, n))
        reachable = np.add.reduceat(np.add.reduceat(allowed, starts, axis=0, dtype=np.int64), starts, axis=1) > 0
    else:  # a block of rows at a time, every head at once, over the keys the mask rule lets those rows see
        heads = cap[hook_name("q", layer)].shape[0]
        sums, reachable = np.zeros((heads, len(starts), len(starts))), np.zeros((len(starts), len(starts)), bool)
        for b, (a, e) in enumerate(zip(starts, np.append(starts[1:], n))):
            rows = slice(int(a), int(e))
            keys = allowed_span(cap, layer, rows)
            column_sums, column_any = np.zeros((heads, n)), np.zeros(n, bool)
            column_sums[:, keys] = heads_tile(cap, layer, rows, keys).sum(axis=1, dtype=np.float64)
            column_any[keys] = allowed_tile(cap, layer, rows, keys).any(axis=0)
            sums[:, b] = np.add.reduceat(column_sums, starts, axis=1)
            reachable[b] = np.add.reduceat(column_any, starts) > 0
    return np.where(reachable, sums / (widths[:, None] * widths[None, :]), np.nan).astype(np.float32)


def cell_scores(cap, layer: int, head: int, query: np.ndarray, key: np.ndarray) -> np.ndarray:
    """float32 raw scores of ``head`` at the cells (query[i], key[i]) (any shape): recorded, or from q and k."""
    stored = _stored(cap, "scores", layer)
    if stored is not None:
        return np.asarray(stored[head][query, key], dtype=np.float32)
    q, k = cap[hook_name("q", layer)], cap[hook_name("k", layer)]
    kv = head // (q.shape[0] // k.shape[0])
    products = np.einsum("...d,...d->...", q[head][query].astype(np.float64), k[kv][key].astype(np.float64))
    return _scale_and_cap(products, cap, layer, head, np.asarray(query), np.asarray(key)).astype(np.float32)
