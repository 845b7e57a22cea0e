"""One head's computation for one query, step by step, with the numbers of the real forward pass.

    x (layer input) → q = x W_Q^h + b, k_j, v_j → q·k_j → ÷ √d_k → + mask (−∞) → softmax
    → Σ_j p_j v_j = z^h → concat(z^1 … z^H) → W_O → + x, LayerNorm → feed-forward → layer output

Every vector comes from a capture (``attnviz.capture`` with all hooks) or from the model's own
weights; the few values derived here (q·k_j, p_j v_j) are exact products of captured numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .models.base import hook_name


@dataclass
class HeadSlices:
    """The head's columns of the one big projection: d_model = heads × d_head."""

    w_q: np.ndarray  # (d_model, d_head), used as x @ w_q
    w_k: np.ndarray
    w_v: np.ndarray
    b_q: np.ndarray  # (d_head,)
    b_k: np.ndarray
    b_v: np.ndarray
    columns: slice  # where the head sits in the full (d_model, d_model) matrix


@dataclass
class Steps:
    layer: int
    head: int
    query: int
    tokens: list[str]
    n_heads: int
    d_head: int
    embeddings: dict[str, np.ndarray] | None  # layer 0 only: word, position, type rows, their sum, after LayerNorm
    layer_input: np.ndarray  # (seq, d_model) x
    slices: HeadSlices
    q: np.ndarray  # (d_head,) the query's q
    k: np.ndarray  # (seq, d_head) every key's k
    v: np.ndarray  # (seq, d_head)
    dots: np.ndarray  # (seq,) q·k_j
    scaled: np.ndarray  # (seq,) q·k_j / √d_head   (hook_scores)
    allowed: np.ndarray  # (seq,) bool              (hook_mask)
    masked: np.ndarray  # (seq,) scaled, −∞ where not allowed
    probs: np.ndarray  # (seq,) softmax             (hook_pattern)
    weighted: np.ndarray  # (seq, d_head) p_j v_j
    z: np.ndarray  # (d_head,) Σ_j p_j v_j        (hook_z)
    concat: np.ndarray  # (d_model,) all heads' z for this query, side by side
    w_o: np.ndarray  # (d_model, d_model), used as concat @ w_o
    attn_result: np.ndarray  # (d_model,) concat @ W_O + b_O   (hook_result)
    resid_mid: np.ndarray  # (d_model,) LayerNorm(x + attention)  (hook_resid_mid)
    layer_output: np.ndarray  # (d_model,) after the feed-forward  (hook_resid_post)


def head_slices(model, layer: int, head: int) -> HeadSlices:
    attn = model.hf.encoder.layer[layer].attention.self
    cols = slice(head * model.d_head, (head + 1) * model.d_head)

    def part(linear):
        weight = linear.weight.detach().cpu().numpy()  # (out, in): Linear computes x @ weight.T
        return weight.T[:, cols], linear.bias.detach().cpu().numpy()[cols]

    (w_q, b_q), (w_k, b_k), (w_v, b_v) = part(attn.query), part(attn.key), part(attn.value)
    return HeadSlices(w_q, w_k, w_v, b_q, b_k, b_v, cols)


def full_projection(model, layer: int, which: str) -> np.ndarray:
    """The whole (d_model, d_model) W_Q, W_K or W_V of a layer, as used in x @ W."""
    linear = getattr(model.hf.encoder.layer[layer].attention.self, {"q": "query", "k": "key", "v": "value"}[which])
    return linear.weight.detach().cpu().numpy().T


def embedding_parts(model, token_ids: np.ndarray, type_ids: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Word + position + type embedding rows of the tokens (BERT adds all three, then LayerNorm)."""
    emb = model.hf.embeddings
    seq = len(token_ids)
    offset = 0
    if model.hf.config.model_type in ("roberta", "xlm-roberta", "camembert"):
        offset = model.hf.config.pad_token_id + 1  # RoBERTa counts positions after the padding index
    parts = {
        "word": emb.word_embeddings.weight.detach().cpu().numpy()[token_ids],
        "position": emb.position_embeddings.weight.detach().cpu().numpy()[offset : offset + seq],
    }
    if getattr(emb, "token_type_embeddings", None) is not None:
        types = np.zeros(seq, dtype=np.int64) if type_ids is None else type_ids
        parts["type"] = emb.token_type_embeddings.weight.detach().cpu().numpy()[types]
    parts["sum"] = sum(parts.values())
    return parts


def steps(model, capture, layer: int, head: int, query: int) -> Steps:
    """Gather every panel of the step-by-step view from a full capture of ``model``."""
    def hook(name: str) -> np.ndarray:
        return capture[hook_name(name, layer)]

    d_head = model.d_head
    scaled = hook("scores")[head, query]
    allowed = np.broadcast_to(hook("mask"), hook("scores").shape[-2:])[query]
    probs = hook("pattern")[head, query]
    v = hook("v")[head]
    z_all = hook("z")[:, query, :]  # (heads, d_head)
    embeddings = None
    if layer == 0:
        embeddings = embedding_parts(model, capture["token_ids"])
        embeddings["after LayerNorm"] = capture[hook_name("embed")]
    return Steps(
        layer=layer,
        head=head,
        query=query,
        tokens=capture.tokens,
        n_heads=model.n_heads,
        d_head=d_head,
        embeddings=embeddings,
        layer_input=hook("resid_pre"),
        slices=head_slices(model, layer, head),
        q=hook("q")[head, query],
        k=hook("k")[head],
        v=v,
        dots=scaled * np.sqrt(d_head),
        scaled=scaled,
        allowed=np.asarray(allowed),
        masked=np.where(allowed, scaled, -np.inf),
        probs=probs,
        weighted=probs[:, None] * v,
        z=hook("z")[head, query],
        concat=z_all.reshape(-1),
        w_o=model.hf.encoder.layer[layer].attention.output.dense.weight.detach().cpu().numpy().T,
        attn_result=hook("result")[query],
        resid_mid=hook("resid_mid")[query],
        layer_output=hook("resid_post")[query],
    )
