"""One head's computation for one query, step by step, with the numbers of the real forward pass.

    x (layer input) → q = x W_Q^h + b, k_j, v_j → q·k_j → ÷ √d_k → + mask (−∞) → softmax
    → Σ_j p_j v_j = z^h → concat(z^1 … z^H) → W_O → + x, LayerNorm → feed-forward → layer output

Every vector comes from a capture (``attnviz.capture`` with all hooks) or from the model's own
weights; the few values derived here (q·k_j, p_j v_j) are exact products of captured numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..models.base import AttentionModel, hook_name
from .. import tiles


@dataclass
class HeadSlices:
    """The head's columns of the one big projection: d_model = heads × d_head (K and V: its K/V head's)."""

    w_q: np.ndarray  # (d_model, d_head), used as x @ w_q
    w_k: np.ndarray
    w_v: np.ndarray
    b_q: np.ndarray  # (d_head,)
    b_k: np.ndarray
    b_v: np.ndarray
    columns: slice  # where the head sits in the full (d_model, heads × d_head) matrix
    kv_head: int  # the K/V head this query head reads (itself without grouped-query attention)


@dataclass
class Steps:
    layer: int
    head: int
    query: int
    tokens: list[str]
    n_heads: int
    d_head: int
    embeddings: dict[str, np.ndarray] | None  # layer 0 only: word, position, type rows, their sum, the layer's input
    layer_input: np.ndarray  # (seq, d_model) x, the layer's input (hook_resid_pre)
    attn_input: np.ndarray  # (seq, d_model) what the projections read: x, or norm(x) in a pre-norm model
    slices: HeadSlices
    rotary: bool  # positions rotate q and k (RoPE): q_before/k_before are the projections, q/k after the rotation
    q_before: np.ndarray  # (d_head,) x_i W_Q + b_Q
    k_before: np.ndarray  # (seq, d_head)
    q: np.ndarray  # (d_head,) the query's q, as the scores use it (hook_q)
    k: np.ndarray  # (seq, d_head) every key's k (hook_k, the K/V head's)
    v: np.ndarray  # (seq, d_head)
    dots: np.ndarray  # (seq,) q·k_j
    scaled: np.ndarray  # (seq,) the scores: q·k_j scaled by the model (1/√d_head, or its own factor) (hook_scores)
    composed: np.ndarray | None  # (seq,) DCMHA only: the scores after pre-compose (hook_scores_composed)
    allowed: np.ndarray  # (seq,) bool              (hook_mask)
    masked: np.ndarray  # (seq,) what the softmax reads (scaled, or composed), −∞ where not allowed
    probs: np.ndarray  # (seq,) softmax             (hook_pattern; DCFormer's hook_probs)
    pattern: np.ndarray  # (seq,) the weights that mix v: the softmax, or DCMHA's post-composed weights (hook_pattern)
    weighted: np.ndarray  # (seq, d_head) pattern_j v_j
    z: np.ndarray  # (d_head,) Σ_j p_j v_j        (hook_z)
    concat: np.ndarray  # (n_heads × d_head,) all heads' z for this query, side by side
    w_o: np.ndarray  # (n_heads × d_head, d_model), used as concat @ w_o
    attn_result: np.ndarray  # (d_model,) concat @ W_O + b_O   (hook_result)
    resid_mid: np.ndarray  # (d_model,) the residual after the attention  (hook_resid_mid)
    layer_output: np.ndarray  # (d_model,) after the feed-forward  (hook_resid_post)
    first: int = 0  # the text's position of tokens[0] (a window of a long text's keys: see keys_window)

    # the fields with one row per key (per token), cut by keys_window
    PER_KEY = (
        "layer_input",
        "attn_input",
        "k_before",
        "k",
        "v",
        "dots",
        "scaled",
        "composed",
        "allowed",
        "masked",
        "probs",
        "pattern",
        "weighted",
    )

    def keys_window(self, a: int, b: int) -> Steps:
        """The same query's steps over keys [a, b) only (``query`` inside): a long text's panels show one window of
        its keys. Everything about the query itself (q, z, the output) is unchanged; ``first`` says where it starts."""
        cut: dict[str, Any] = {
            name: None if getattr(self, name) is None else getattr(self, name)[a:b] for name in self.PER_KEY
        }
        embeddings = None if self.embeddings is None else {name: rows[a:b] for name, rows in self.embeddings.items()}
        return replace(
            self, **cut, embeddings=embeddings, tokens=self.tokens[a:b], query=self.query - a, first=self.first + a
        )


STEP_KEYS = 128  # a longer text's step-by-step panels show this many of its keys, around the query


def key_window(steps: Steps, size: int = STEP_KEYS) -> tuple[int, int]:
    """[a, b): ``size`` keys around the query, holding every key it may attend to when they fit (a window, a chunk),
    else centred on it; the whole text when it is no longer."""
    n = len(steps.tokens)
    if n <= size:
        return 0, n
    allowed = np.flatnonzero(steps.allowed)
    lo, hi = (int(allowed[0]), int(allowed[-1]) + 1) if allowed.size else (steps.query, steps.query + 1)
    a = lo - (size - (hi - lo)) // 2 if hi - lo <= size else steps.query - size // 2
    a = max(0, min(a, n - size))
    return a, a + size


def head_slices(model: AttentionModel, layer: int, head: int) -> HeadSlices:
    weights, kv = model.attention_weights(layer), model.kv_head_of(head)
    cols = slice(head * model.d_head, (head + 1) * model.d_head)
    return HeadSlices(
        weights.w_q[head],
        weights.w_k[kv],
        weights.w_v[kv],
        weights.b_q[head],
        weights.b_k[kv],
        weights.b_v[kv],
        cols,
        kv,
    )


def full_projection(model: AttentionModel, layer: int, which: str) -> np.ndarray:
    """The whole (d_model, heads × d_head) W_Q, W_K or W_V of a layer, as used in x @ W."""
    w = getattr(model.attention_weights(layer), f"w_{which}")  # (heads, d_model, d_head)
    return w.transpose(1, 0, 2).reshape(w.shape[1], -1)


def steps(model: AttentionModel, capture, layer: int, head: int, query: int) -> Steps:
    """Gather every panel of the step-by-step view from a capture of every hook of ``model`` (any model of the
    contract), or of every hook but the (T × T) maps (a long text: the query's row is computed from tiles)."""

    def hook(name: str) -> np.ndarray:
        return capture[hook_name(name, layer)]

    d_head = model.d_head
    weights = model.attention_weights(layer)
    sl = head_slices(model, layer, head)
    x_in = hook("attn_in")
    # the query's row of every map: read from the stored maps, or computed exactly from q, k and the row's normaliser
    # (a long text's capture stores no (T × T) map)
    row, keys = slice(query, query + 1), slice(0, len(capture.tokens))
    stages = {name: value[head, 0] for name, value in tiles.stage_tiles(capture, layer, row, keys).items()}
    scaled, pattern = stages["raw"], stages["pattern"]
    allowed = tiles.allowed_tile(capture, layer, row, keys)[0]
    dcmha = hook_name("pre_qw1", layer) in capture or hook_name("scores_composed", layer) in capture
    composed = stages["composed"] if dcmha else None
    probs = stages["probs"] if dcmha else pattern
    q, k, v = hook("q")[head, query], hook("k")[sl.kv_head], hook("v")[sl.kv_head]
    z_all = hook("z")[:, query, :]  # (heads, d_head)
    embeddings = None
    if layer == 0:
        embeddings = dict(model.embedding_parts(capture["token_ids"]))
        if len(embeddings) > 1:
            embeddings["sum"] = np.sum(list(embeddings.values()), axis=0)
        embeddings["input"] = capture[hook_name("embed")]
    return Steps(
        layer=layer,
        head=head,
        query=query,
        tokens=capture.tokens,
        n_heads=model.n_heads,
        d_head=d_head,
        embeddings=embeddings,
        layer_input=hook("resid_pre"),
        attn_input=x_in,
        slices=sl,
        rotary=weights.rotary,
        q_before=x_in[query] @ sl.w_q + sl.b_q,
        k_before=x_in @ sl.w_k + sl.b_k,
        q=q,
        k=k,
        v=v,
        dots=k @ q,
        scaled=scaled,
        composed=composed,
        allowed=np.asarray(allowed),
        masked=np.where(allowed, scaled if composed is None else composed, -np.inf),
        probs=probs,
        pattern=pattern,
        weighted=pattern[:, None] * v,
        z=hook("z")[head, query],
        concat=z_all.reshape(-1),
        w_o=weights.w_o,
        attn_result=hook("result")[query],
        resid_mid=hook("resid_mid")[query],
        layer_output=hook("resid_post")[query],
    )


@dataclass
class OnlineStep:
    """One block of keys in FlashAttention's pass over a query's row (the online softmax)."""

    keys: tuple[int, int]  # the block's key positions [start, end)
    block_max: float  # the largest allowed score in the block (−∞ if none)
    running_max: float  # m = max(m_before, block_max)
    rescale: float  # exp(m_before − m): what the sum and the output so far are multiplied by
    block_sum: float  # Σ exp(s_j − m) over the block's allowed keys
    running_sum: float  # l = l_before · rescale + block_sum
    output: np.ndarray  # (d_head,) o = o_before · rescale + Σ exp(s_j − m) v_j, not yet divided by l


def online_softmax(masked: np.ndarray, v: np.ndarray, block: int) -> tuple[list[OnlineStep], np.ndarray, np.ndarray]:
    """FlashAttention's softmax of one row, a block of keys at a time, never holding the whole row's weights.

    masked: (seq,) the scores with −∞ at masked keys; v: (seq, d_head). Returns the steps, the final output o / l
    (equal to Σ_j softmax_j v_j) and the weights exp(s − m) / l recovered at the end (equal to the softmax).
    """
    m, total, out = -np.inf, 0.0, np.zeros(v.shape[1], dtype=np.float64)
    steps = []
    for start in range(0, len(masked), block):
        s = masked[start : start + block].astype(np.float64)
        block_max = float(s.max()) if np.isfinite(s).any() else -np.inf
        new_m = max(m, block_max)
        rescale = float(np.exp(m - new_m)) if np.isfinite(m) else 0.0
        e = np.exp(s - new_m) if np.isfinite(new_m) else np.zeros_like(s)
        total = total * rescale + float(e.sum())
        out = out * rescale + e @ v[start : start + block].astype(np.float64)
        m = new_m
        steps.append(
            OnlineStep(
                (start, min(start + block, len(masked))), block_max, m, rescale, float(e.sum()), total, out.copy()
            )
        )
    weights = np.exp(masked.astype(np.float64) - m) / total if total > 0 else np.zeros(len(masked))
    return steps, out / total if total > 0 else out, weights
