"""Attention masks: which keys each query may attend to.

Every mask is boolean, True = "may attend".  The same convention is used by every model
in attnviz, so a window of ``w`` always means the same thing on every page:

* causal: query i sees keys j <= i (the decoder's "subsequent" mask);
* window w: query i sees keys with |i - j| < w, so a causal window holds w keys
  (itself and the w-1 before it, as in DCFormer's local layers) and a two-sided one
  2w-1 keys;
* chunk c: the sequence is cut into blocks of c tokens, attention stays inside a block;
* prefix P (prefix-LM: T5's prefix LM, UL2, PaliGemma): bidirectional among the first P tokens, causal after them;
* sinks S (StreamingLLM's attention sinks, Longformer's global tokens): the first S keys stay visible through the
  window, the dilation and the chunks (never through the causal rule or padding);
* dilation D (Longformer): only keys at a distance that is a multiple of D (inside the window, when there is one);
* documents (packed training sequences): the text cut at given positions into documents, and a query sees only
  keys of its own document;
* padding: keys that are [PAD] are never attended to.

On an image the tokens are patches in raster order after a few tokens of the model's own ([CLS], DeiT's distillation
token, DINOv2's registers): ``grid = (first, rows, cols)`` says where the patches are, and two rules read it in 2-D
(causal, above, is then raster order):

* 2-D window r (neighbourhood attention): a patch sees the patches within r rows and r columns of its own;
* 2-D blocks k (Swin's windows without the shift): the grid cut into k × k tiles, a patch sees its own tile's patches;

under both, the tokens before the grid stay global: they see every patch and every patch sees them.

Beside the rules, two score modifications (FlexAttention's ``score_mod``), applied to each head's scores before the
mask and the softmax (:func:`modify_scores`; they are what ``hook_scores`` records):

* ALiBi (Press et al., 2022): each head h adds ``-m_h · |i - j|`` to its scores, with the paper's slopes
  (:func:`alibi_slopes`: 2^(-8/H), 2^(-16/H) … for H a power of two);
* soft-capping C (Gemma 2): ``C · tanh(score / C)``, after ALiBi, so the penalised scores stay within ±C.

Each rule is a function of (query position, key position), the shape of FlexAttention's ``mask_mod``, and rules
combine with AND (the sinks relax only the local rules: window, dilation, chunk), so any combination is one mask.

Rows left with no key at all (a padded query in an all-padding chunk) get zero weight
everywhere instead of NaN; real tokens always see at least themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .i18n import translate

if TYPE_CHECKING:
    import torch

# The tensor masks import torch when first called: the rules, spans and outlines here are plain Python, and the
# figures draw those without a model (``import attnviz.figures`` never loads torch; tests/test_layering.py).


@dataclass(frozen=True)
class MaskSpec:
    causal: bool = False
    window: int | None = None  # None = no window
    chunk: int | None = None  # None = no chunking
    prefix: int | None = None  # prefix-LM: the first P tokens see each other, the rest causally
    sinks: int | None = None  # the first S keys seen through the local rules
    dilation: int | None = None  # keys at distances that are multiples of D
    documents: tuple[int, ...] = ()  # where each document after the first begins (increasing positions)
    alibi: bool = False  # score modification: ALiBi's per-head linear distance penalty
    softcap: float | None = None  # score modification: C · tanh(score / C)
    grid: tuple[int, int, int] | None = None  # an image's patches: (first patch's position, rows, columns)
    window_2d: int | None = None  # a patch sees patches within r rows and r columns (neighbourhood attention)
    blocks_2d: int | None = None  # the grid cut into k × k tiles; a patch sees its own tile

    def __post_init__(self):
        for name in ("window", "chunk", "prefix", "sinks", "dilation", "window_2d", "blocks_2d"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1 (got {value})")
        if self.grid is not None:
            grid = tuple(int(v) for v in self.grid)
            if len(grid) != 3 or grid[0] < 0 or grid[1] < 1 or grid[2] < 1:
                raise ValueError(f"grid must be (first patch, rows, columns) (got {self.grid})")
            object.__setattr__(self, "grid", grid)
        if (self.window_2d is not None or self.blocks_2d is not None) and self.grid is None:
            raise ValueError("a 2-D rule needs the image's patch grid")
        if self.softcap is not None and not (0 < float(self.softcap) < float("inf")):
            raise ValueError(f"softcap must be a positive number (got {self.softcap})")
        starts = tuple(int(start) for start in self.documents)
        if any(start < 1 for start in starts) or any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"documents must begin at increasing positions after 0 (got {starts})")
        object.__setattr__(self, "documents", starts)  # a tuple of ints: hashable, a cache key

    @property
    def takes_keys(self) -> bool:
        """True when some rule takes keys away (sinks alone take none: they only loosen the local rules)."""
        local = self.window is not None or self.chunk is not None or self.dilation is not None
        return self.causal or local or self.prefix is not None or bool(self.documents) or self.is_2d

    @property
    def is_2d(self) -> bool:
        """True when a rule reads the image's patch grid in two dimensions."""
        return self.window_2d is not None or self.blocks_2d is not None

    @property
    def modifies_scores(self) -> bool:
        """True when a score modification (ALiBi, soft-capping) changes the scores."""
        return self.alibi or self.softcap is not None

    @property
    def is_intervention(self) -> bool:
        """True when the spec changes what a bidirectional encoder was trained to see: a rule takes keys away or a
        score modification changes the scores."""
        return self.takes_keys or self.modifies_scores

    def describe(self, lang: str = "en") -> str:
        parts = []
        if self.causal:
            parts.append(translate("mask.causal", lang))
        if self.prefix is not None:
            parts.append(translate("mask.prefix", lang, p=self.prefix))
        if self.window is not None:
            parts.append(translate("mask.window", lang, w=self.window))
        if self.dilation is not None:
            parts.append(translate("mask.dilation", lang, d=self.dilation))
        if self.chunk is not None:
            parts.append(translate("mask.chunk", lang, c=self.chunk))
        if self.sinks is not None and (self.window, self.chunk, self.dilation) != (None, None, None):
            parts.append(translate("mask.sinks", lang, s=self.sinks))  # sinks alone change nothing: not named
        if self.documents:
            parts.append(translate("mask.documents", lang, n=len(self.documents) + 1))
        if self.window_2d is not None:
            parts.append(translate("mask.window_2d", lang, r=self.window_2d))
        if self.blocks_2d is not None:
            parts.append(translate("mask.blocks_2d", lang, k=self.blocks_2d))
        if self.alibi:
            parts.append(translate("mask.alibi", lang))
        if self.softcap is not None:
            parts.append(translate("mask.softcap", lang, c=f"{self.softcap:g}"))
        return ("、" if lang == "zh" else ", ").join(parts) or translate("mask.none", lang)

    def to_dict(self) -> dict:
        return asdict(self)


Positions = TypeVar("Positions", "torch.Tensor", np.ndarray)  # torch in, torch out; NumPy in, NumPy out
Position = TypeVar("Position", "torch.Tensor", np.ndarray, int)  # also one position (a block's first or last query)


def allows(q: Positions, k: Positions, spec: MaskSpec) -> Positions:
    """The mask rule cell by cell: may a query at position ``q`` attend to a key at position ``k``? ``q`` and ``k``
    broadcast against each other (index tensors, as FlexAttention's ``mask_mod`` and transformers' mask functions
    receive them, also under ``vmap``; or NumPy arrays)."""
    diff = q - k  # i - j
    allowed = diff == diff  # all True, of the inputs' kind, shape and device
    if spec.causal:
        allowed = allowed & (diff >= 0)
    if spec.prefix is not None:  # bidirectional among the first P tokens, causal after them
        allowed = allowed & ((diff >= 0) | ((q < spec.prefix) & (k < spec.prefix)))
    local = diff == diff  # the local rules, which the sinks see through
    if spec.window is not None:
        local = local & (abs(diff) < spec.window)
    if spec.dilation is not None:
        local = local & (diff % spec.dilation == 0)  # a remainder of the divisor's sign: 0 on both sides
    if spec.chunk is not None:
        local = local & ((q // spec.chunk) == (k // spec.chunk))
    if spec.sinks is not None:
        local = local | (k < spec.sinks)
    allowed = allowed & local
    if spec.documents:
        allowed = allowed & (_document(q, spec.documents) == _document(k, spec.documents))
    if spec.is_2d:
        allowed = allowed & _patch_rule(q, k, spec)
    return allowed


def _patch_rule(q: Positions, k: Positions, spec: MaskSpec) -> Positions:
    """The 2-D rules on an image's patch grid: (row, column) of each patch from its raster position; the tokens
    before the grid ([CLS], registers) see and are seen by every patch."""
    first, _, cols = spec.grid  # type: ignore[misc]  # is_2d implies a grid (__post_init__)
    row_q, col_q = (q - first) // cols, (q - first) % cols
    row_k, col_k = (k - first) // cols, (k - first) % cols
    rule = q == q
    if spec.window_2d is not None:
        rule = rule & (abs(row_q - row_k) <= spec.window_2d) & (abs(col_q - col_k) <= spec.window_2d)
    if spec.blocks_2d is not None:
        size = spec.blocks_2d
        rule = rule & (row_q // size == row_k // size) & (col_q // size == col_k // size)
    return rule | (q < first) | (k < first)


def _document(positions: Position, starts: tuple[int, ...]) -> Position:
    """Which document each position is in (0 for the first): how many documents begin at or before it."""
    document = positions * 0
    for start in starts:
        document = document + (positions >= start)
    return document


def alibi_slopes(n_heads: int) -> np.ndarray:
    """ALiBi's slope of each head (Press et al., 2022, and their code): for H a power of two the geometric sequence
    2^(-8/H), 2^(-16/H) … 2^(-8); otherwise the closest power of two below H gives its slopes and the rest are every
    other slope of twice that power."""

    def power_of_two(n: int) -> list[float]:
        start = 2.0 ** (-8.0 / n)
        return [start ** (h + 1) for h in range(n)]

    closest = 2 ** int(np.floor(np.log2(n_heads)))
    slopes = power_of_two(closest)
    if closest < n_heads:
        slopes += power_of_two(2 * closest)[0::2][: n_heads - closest]
    return np.asarray(slopes, dtype=np.float64)


Scores = TypeVar("Scores", "torch.Tensor", np.ndarray)


def score_mod(score: Scores, head, q, k, spec: MaskSpec, n_heads: int) -> Scores:
    """The spec's score modifications cell by cell, the shape of FlexAttention's ``score_mod``: the score of query
    head ``head`` (of ``n_heads``) at query position ``q`` and key position ``k`` (all broadcasting against each
    other): ALiBi adds -m_head·|q - k|, then soft-capping maps s to C·tanh(s / C). Tensors in, a tensor out; NumPy
    in, NumPy out."""
    out: Any = score
    if type(score).__module__.startswith("torch"):
        if spec.alibi:
            slope = out.new_tensor(alibi_slopes(n_heads))[head]
            out = out - slope * abs(q - k).to(out.dtype)
        if spec.softcap is not None:
            out = (out / spec.softcap).tanh() * spec.softcap
    else:  # a NumPy array, a NumPy scalar or a float
        if spec.alibi:
            out = out - alibi_slopes(n_heads)[head] * abs(q - k)
        if spec.softcap is not None:
            out = np.tanh(out / spec.softcap) * spec.softcap
    return out


def modify_scores(scores: Scores, q_pos, k_pos, spec: MaskSpec, n_heads: int, heads=None) -> Scores:
    """:func:`score_mod` over a block: ``scores`` (..., heads, q, k) of the queries at ``q_pos`` (q,) and the keys at
    ``k_pos`` (k,); ``heads``: which of the ``n_heads`` heads its head axis holds (all by default)."""
    if not spec.modifies_scores:
        return scores
    if isinstance(scores, np.ndarray):
        index = np.arange(n_heads) if heads is None else np.asarray(heads)
    else:
        import torch

        index = torch.arange(n_heads, device=scores.device) if heads is None else torch.as_tensor(heads)
    return score_mod(scores, index[:, None, None], q_pos[None, :, None], k_pos[None, None, :], spec, n_heads)


@dataclass(frozen=True)
class ScoreFunction:
    """A spec's score modifications for a layer of ``n_heads`` heads: called on a block of scores (scores, query
    positions, key positions), or cell by cell (:meth:`cell`, FlexAttention's ``score_mod`` shape)."""

    spec: MaskSpec
    n_heads: int

    def __call__(self, scores, q_pos, k_pos):
        return modify_scores(scores, q_pos, k_pos, self.spec, self.n_heads)

    def cell(self, score, head, q, k):
        return score_mod(score, head, q, k, self.spec, self.n_heads)


def score_function(spec: MaskSpec, n_heads: int) -> ScoreFunction | None:
    """The spec's score modifications for a layer of ``n_heads`` heads; None when there are none."""
    return ScoreFunction(spec, n_heads) if spec.modifies_scores else None


def position_mask(q_pos: Positions, k_pos: Positions, spec: MaskSpec) -> Positions:
    """The (T, S) mask of queries at positions ``q_pos`` over keys at ``k_pos`` (absolute positions, so a
    KV-cached step's new queries are masked against every cached key). Tensors in, a tensor out; NumPy arrays in,
    an array out (the tiles of a long map are NumPy, and need no torch)."""
    return allows(q_pos[:, None], k_pos[None, :], spec)


def structural_mask(seq_len: int, spec: MaskSpec, device=None) -> torch.Tensor:
    """The (seq, seq) part of the mask that depends only on positions."""
    import torch

    pos = torch.arange(seq_len, device=device)
    return position_mask(pos, pos, spec)


def combine_windows(own: int | None, window: int | None) -> int | None:
    """A layer's window once the user's is added to the model's own: the narrower one (None = global)."""
    return own if window is None else (window if own is None else min(own, window))


def key_span(q_start: int, q_stop: int, n_keys: int, spec: MaskSpec) -> tuple[int, int]:
    """[k0, k1): the keys that any query at positions [q_start, q_stop) may attend to under ``spec``'s rule (padding
    not looked at, so a superset; a dilation's gaps and the keys between the sinks and a window are inside it). A
    window or chunk keeps it near the queries: what a long text's blockwise computation reads, O(T·w), not O(T²)."""
    lo, hi = 0, n_keys
    if spec.causal:
        hi = min(hi, q_stop)
    if spec.prefix is not None:  # causal, except among the first P tokens
        hi = min(hi, max(q_stop, min(spec.prefix, n_keys)) if q_start < spec.prefix else q_stop)
    local_lo, local_hi = 0, n_keys
    if spec.window is not None:
        local_lo, local_hi = q_start - spec.window + 1, q_stop - 1 + spec.window
    if spec.chunk is not None:
        local_lo = max(local_lo, q_start // spec.chunk * spec.chunk)
        local_hi = min(local_hi, ((q_stop - 1) // spec.chunk + 1) * spec.chunk)
    if spec.sinks is not None:  # the first S keys as well: one span from 0 (a superset when the window is far)
        local_lo = min(local_lo, 0)
        local_hi = max(local_hi, min(spec.sinks, n_keys))
    lo, hi = max(lo, local_lo), min(hi, local_hi)
    if spec.documents:  # from the first query's document's start to the last query's document's end
        starts = (0, *spec.documents, n_keys)
        first, last = _document(q_start, spec.documents), _document(q_stop - 1, spec.documents)
        lo, hi = max(lo, starts[first]), min(hi, starts[last + 1])
    return lo, max(lo, hi)


def query_block_spans(
    T: int, block: int | None, window: int | None, causal: bool = True, *, past: int = 0, S: int | None = None
) -> list[tuple[int, int, int, int]]:
    """(a, b, k0, k1) per block of queries [a, b): the keys [k0, k1) that block can see under its layer's
    causal window (absolute key positions; ``past`` keys already cached, ``S`` keys in all).

    DCFormer computes its attention in such query blocks to bound memory: a computation order, not a mask (the
    numbers equal the unblocked ones); the DCMHA page outlines the keys each block reads.
    """
    S = past + T if S is None else S
    if not block or T <= block:
        block = T
    spans = []
    for a in range(0, T, block):
        b = min(T, a + block)
        spans.append((a, b, *key_span(past + a, past + b, S, MaskSpec(causal, window))))
    return spans


def window_band_outline(T: int, window: int | None, causal: bool = True) -> list[tuple[float, float]]:
    """Corner points (key x, query y, in cell coordinates) of the outline around a window's allowed band in a
    T x T map, or [] for a global layer: down the band's right edge, back up its left edge."""
    if window is None or T == 0:
        return []
    right = [(i if causal else min(T - 1, i + window - 1)) + 0.5 for i in range(T)]
    left = [max(0, i - window + 1) - 0.5 for i in range(T)]
    points: list[tuple[float, float]] = []
    for i in range(T):
        points += [(right[i], i - 0.5), (right[i], i + 0.5)]
    for i in reversed(range(T)):
        points += [(left[i], i + 0.5), (left[i], i - 0.5)]
    return points


def outline_segments(allowed: np.ndarray) -> list[tuple[float, float, float, float]]:
    """The border of a mask's allowed region as line segments (x0, y0, x1, y1) in cell coordinates (key x, query y;
    cell (i, j) spans j ± 0.5, i ± 0.5): every edge between an allowed cell and a masked one or the map's edge,
    runs along a row or a column joined into one segment. Any rule's shape (a prefix's square, sink columns,
    documents' blocks, a dilation's comb) is outlined the same way."""
    cells = np.pad(np.asarray(allowed, bool), 1)  # a masked frame: the map's edge borders allowed cells too
    segments: list[tuple[float, float, float, float]] = []
    for horizontal in (True, False):
        grid = cells if horizontal else cells.T
        edges = grid[1:, 1:-1] != grid[:-1, 1:-1]  # (n + 1, m): the edge above row i (i = 0 … n) differs
        for line, row in enumerate(edges):
            run = np.flatnonzero(np.diff(np.concatenate([[0], row.astype(np.int8), [0]])))
            for a, b in zip(run[0::2], run[1::2]):  # [a, b): a run of edges along this line
                y, x0, x1 = line - 0.5, float(a) - 0.5, float(b) - 0.5
                segments.append((x0, y, x1, y) if horizontal else (y, x0, y, x1))
    return segments


def attention_mask(key_is_real: torch.Tensor, spec: MaskSpec) -> torch.Tensor:
    """Full mask for a padded batch.

    key_is_real: (batch, seq) bool, False at [PAD] positions.
    returns:     (batch, seq, seq) bool, True = query (row) may attend key (column).
    """

    seq_len = key_is_real.shape[-1]
    structure = structural_mask(seq_len, spec, device=key_is_real.device)  # (seq, seq)
    return structure[None, :, :] & key_is_real[:, None, :].bool()


def masked_softmax(scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis with disallowed cells at exactly zero.

    scores: (..., q_len, k_len); allowed broadcastable to it.
    """
    import torch

    if bool(allowed.all()):  # no mask (an encoder's sentence without padding): nothing to fill, no empty row
        return torch.softmax(scores, dim=-1)
    probs = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    if not bool(allowed.any(dim=-1).all()):
        # A row with no allowed key is all -inf -> NaN; such rows carry no attention.
        probs = torch.nan_to_num(probs, nan=0.0)
    return probs


def kept_positions(special, key_is_real, hide_special: bool) -> np.ndarray | None:
    """The one rule for which token positions a view or a statistic keeps: all (None), or, with "hide special
    tokens", all but the *real* special tokens ([CLS], [SEP], <s> ...). Padding is never a special token to hide:
    it stays, drawn as masked, and is told apart by ``key_is_real`` (False at padding), whatever the tokenizer
    calls its pad token. special, key_is_real: bool (seq,)."""
    if not hide_special:
        return None
    hidden = np.asarray(special, bool) & np.asarray(key_is_real, bool)
    keep = np.flatnonzero(~hidden)
    return keep if keep.size else None
