"""The one recorded-attention kernel: eager attention whose every step passes through named hook points.

The BERT-family adapter (:mod:`attnviz.models.bert`) calls it directly; the Hugging Face adapters call it from the
attention function they register with transformers (:mod:`attnviz.models.hf_attention`). Grouped-query attention,
softcapping, attention sinks and T5's position bias are options; so is running in blocks of queries when no map is
recorded. DCFormer keeps its own (:class:`attnviz.models.dcformer.Attention`): its cross-head composition sits between
these steps and its blocks follow the published model's ``q_chunk_size``, which the DCMHA spec holds it to.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from .hooks import HookPoint
from .masks import ScoreFunction

# FlexAttention (torch.nn.attention.flex_attention) computes the block path, where no map is recorded: "auto" on CUDA
# (its compiled kernels skip the tiles the mask rules out), "on" everywhere (on CPU it runs eagerly: the tests compare
# it with the eager path), "off" never.
FLEX = os.environ.get("ATTNVIZ_FLEX", "auto")


@dataclass(frozen=True)
class LayerHooks:
    """One attention layer's hook points, in the order the kernel passes through them (sink: gpt-oss's share of
    each row given to its sink logit; lse: each row's log-sum-exp; score_scale: how q·k became a score)."""

    q: HookPoint
    k: HookPoint
    v: HookPoint
    scores: HookPoint
    mask: HookPoint
    pattern: HookPoint
    z: HookPoint
    sink: HookPoint
    lse: HookPoint
    score_scale: HookPoint


def recorded_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    hooks: LayerHooks | None,
    *,
    scaling: float | None = None,
    softcap: float | None = None,
    s_aux: torch.Tensor | None = None,
    position_bias: torch.Tensor | None = None,
    score_mod: ScoreFunction | None = None,
    dropout: float = 0.0,
    training: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Attention with every step through ``hooks`` (None: plain eager attention, nothing recorded).

    query (batch, heads, q, d_head); key, value (batch, kv_heads, kv, d_head): query head h reads K/V head
    h // (heads / kv_heads). attention_mask: a 4-D bool mask (batch or 1, 1 or heads, q, kv), True = may attend, or an
    additive float mask whose finite part counts as position bias. ``scaling``: q·k's factor (1/√d by default);
    ``softcap``: Gemma 2's tanh capping; ``s_aux``: gpt-oss's sink logits; ``position_bias``: T5's bias per head;
    ``score_mod``: the user's score modifications (:func:`attnviz.masks.modify_scores`) as a function of (scores,
    query positions, key positions), applied after the model's own and before the mask (the queries are the last
    ``q`` of the ``kv`` positions: a cached step's new tokens).
    Returns z (batch, heads, q, d_head), after hook_z, and the pattern (None on the block path).

    When nobody records a (heads, q, kv) map (scores, mask or pattern), the attention runs in blocks of queries and
    no such map exists at once: memory grows with q, not q², and the per-row normaliser (hook_lse) with q and k
    suffices to compute any part of a map exactly later (``attnviz.tiles``).
    """
    batch, n_heads, q_len, d_head = query.shape
    if hooks is not None:
        query, key, value = hooks.q(query), hooks.k(key), hooks.v(value)
    if scaling is None:
        scaling = d_head**-0.5
    if hooks is not None and hooks.score_scale.wanted():  # how q·k became a score: tiles recompute it the same way
        hooks.score_scale(torch.tensor([[scaling, softcap or 0.0]], device=query.device).expand(batch, 2))
    maps = hooks is not None and any(h.wanted() for h in (hooks.scores, hooks.mask, hooks.pattern))
    kv_len = key.shape[2]
    # the keys' positions, for the score modifications alone; the queries are the last q_len of them
    positions = torch.arange(kv_len, device=query.device) if score_mod is not None else None
    if maps or position_bias is not None or training or hooks is None:
        z, weights, lse = _attend(
            query,
            key,
            value,
            attention_mask,
            scaling,
            softcap,
            s_aux,
            position_bias,
            hooks,
            want_lse=hooks is not None and hooks.lse.wanted(),
            dropout=dropout if training else 0.0,
            score_mod=None if positions is None else (score_mod, positions[kv_len - q_len :], positions),
        )
        pattern = weights.to(value.dtype)
    elif _flex_serves(query, attention_mask, s_aux, hooks):  # FlexAttention: z and lse, no map
        z, lse = _flex_attend(query, key, value, attention_mask, scaling, softcap, score_mod)
        pattern, lse = None, lse if hooks.lse.wanted() else None
    else:  # only per-token state is recorded: blocks of queries, never a whole (heads, q, kv) map
        rows = max(16, 2**24 // max(1, n_heads * kv_len))
        z_parts, lse_parts = [], []
        sink_parts: list[torch.Tensor] = []  # each block's sink share, appended by _attend
        for a in range(0, q_len, rows):
            keys = slice(0, kv_len)
            mask_rows = None if attention_mask is None else attention_mask[..., a : a + rows, :kv_len]
            if mask_rows is not None and mask_rows.dtype == torch.bool:
                # Only the span of keys these queries may attend to: a sliding window or chunk makes the work grow
                # with the text, not its square. Columns outside it are masked for every row, so nothing changes.
                seen = torch.nonzero(mask_rows.any(dim=(0, 1, 2))).flatten()
                if len(seen):
                    keys = slice(int(seen[0]), int(seen[-1]) + 1)
                    mask_rows = mask_rows[..., keys]
            z_block, _, lse_block = _attend(
                query[:, :, a : a + rows],
                key[:, :, keys],
                value[:, :, keys],
                mask_rows,
                scaling,
                softcap,
                s_aux,
                None,
                None,
                sink=sink_parts.append if hooks.sink.wanted() else None,
                want_lse=hooks.lse.wanted(),
                score_mod=None
                if positions is None
                else (score_mod, positions[kv_len - q_len + a : kv_len - q_len + a + rows], positions[keys]),
            )
            z_parts.append(z_block)  # the block's weights are dropped here: only z and the normaliser are kept
            lse_parts.append(lse_block)
        z, pattern = torch.cat(z_parts, dim=2), None
        lse = torch.cat(lse_parts, dim=2) if lse_parts[0] is not None else None
        if sink_parts:
            hooks.sink(torch.cat(sink_parts, dim=2))
    if hooks is not None:
        if lse is not None:
            hooks.lse(lse)
        z = hooks.z(z)
    return z, pattern


def _flex_serves(query, attention_mask, s_aux, hooks) -> bool:
    """Whether FlexAttention computes this block path: as :data:`FLEX` says, for what it can express (a boolean mask
    or none; no gpt-oss sink logit, whose share it cannot report)."""
    if FLEX == "off" or (FLEX == "auto" and query.device.type != "cuda"):
        return False
    bool_mask = attention_mask is None or attention_mask.dtype == torch.bool
    return bool_mask and s_aux is None and not hooks.sink.wanted()


def _flex_attend(query, key, value, attention_mask, scaling, softcap, score_mod):
    """(z (batch, heads, q, d), lse (batch, heads, q)) from FlexAttention: the mask rule as its ``mask_mod`` (the
    materialised mask, indexed), the model's soft-capping and the user's score modifications as its ``score_mod``; the
    mask's block mask lets it skip the tiles that hold no allowed cell (analysis.kernel_blocks draws them)."""
    from torch.nn.attention.flex_attention import AuxRequest, create_block_mask, flex_attention

    batch, n_heads, q_len, _ = query.shape
    kv_len = key.shape[2]
    offset = kv_len - q_len  # the queries are the last q_len positions (a cached step's new tokens)
    block_mask = None
    if attention_mask is not None:
        allowed = attention_mask[..., :kv_len]  # (batch or 1, heads or 1, q, kv) bool
        per_batch, per_head = allowed.shape[0] > 1, allowed.shape[1] > 1

        def mask_mod(b, h, q, kv):
            return allowed[b if per_batch else 0, h if per_head else 0, q, kv]

        block_mask = create_block_mask(
            mask_mod, batch if per_batch else None, n_heads if per_head else None, q_len, kv_len, device=query.device
        )

    def modify(score, b, h, q, kv):
        if softcap is not None:  # the model's own (Gemma 2), before the user's
            score = torch.tanh(score / softcap) * softcap
        return score if score_mod is None else score_mod.cell(score, h, q + offset, kv)

    z, aux = flex_attention(
        query,
        key,
        value,
        score_mod=modify if softcap is not None or score_mod is not None else None,
        block_mask=block_mask,
        scale=scaling,
        enable_gqa=key.shape[1] != n_heads,
        return_aux=AuxRequest(lse=True),
    )
    return z, aux.lse


def _mix(pattern: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """pattern (batch, heads, q, kv) @ value (batch, kv_heads, kv, d): query head h reads K/V head h // group."""
    batch, n_heads, q_len, kv_len = pattern.shape
    n_kv = value.shape[1]
    pattern = pattern.to(value.dtype)
    if n_kv == n_heads:
        return torch.matmul(pattern, value)
    return torch.matmul(pattern.reshape(batch, n_kv, (n_heads // n_kv) * q_len, kv_len), value).view(
        batch, n_heads, q_len, -1
    )


def _attend(
    query,
    key,
    value,
    attention_mask,
    scaling,
    softcap,
    s_aux,
    position_bias,
    hooks,
    sink=None,
    want_lse=False,
    dropout=0.0,
    score_mod=None,
):
    """Attention of these queries over every key: (z (batch, heads, q, d), the weights that mixed v (float32; after
    ``dropout`` when training, as eager attention does), lse (batch, heads, q) or None unless ``want_lse``: an extra
    pass over the scores, made only when someone records it).

    ``hooks`` (the full path) records scores, mask, pattern and sink; the block path passes only ``sink``.
    ``score_mod``: (the user's score modifications, these queries' positions, these keys' positions), or None.
    """
    batch, n_heads, q_len, d_head = query.shape
    n_kv, kv_len = key.shape[1], key.shape[2]
    group = n_heads // n_kv
    # Scores: query head h reads K/V head h // group (transformers' repeat_kv order), without copying K.
    if group == 1:
        scores = torch.matmul(query, key.transpose(-1, -2))
    else:
        grouped = query.reshape(batch, n_kv, group * q_len, d_head)
        scores = torch.matmul(grouped, key.transpose(-1, -2)).view(batch, n_heads, q_len, kv_len)
    scores.mul_(scaling)  # in place (the matmul's backward does not need its output): one (heads, q, kv) map less
    if softcap is not None:  # Gemma 2: softcap * tanh(scores / softcap)
        if torch.is_grad_enabled():
            scores = torch.tanh(scores / softcap) * softcap
        else:
            scores = scores.div_(softcap).tanh_().mul_(softcap)
    if position_bias is not None:  # T5: a learned bias per head and relative distance, added to the scores
        scores = scores + position_bias[..., -q_len:, :kv_len].to(scores.dtype)

    allowed = None
    if attention_mask is not None:
        mask = attention_mask[..., :kv_len]
        if mask.dtype == torch.bool:
            allowed = mask
        else:  # additive: very negative = masked, anything finite above is a bias (T5-style position bias)
            allowed = mask > torch.finfo(mask.dtype).min / 2
            scores = scores + mask.masked_fill(~allowed, 0.0).to(scores.dtype)
    if score_mod is not None:
        modify, q_pos, k_pos = score_mod
        scores = modify(scores, q_pos, k_pos)
    if hooks is not None:
        scores = hooks.scores(scores)
        shown = (
            torch.ones(batch, q_len, kv_len, dtype=torch.bool, device=query.device)
            if allowed is None
            else (allowed[:, 0] if allowed.shape[1] == 1 else allowed)
        )
        recorded = hooks.mask(shown)
        if recorded is not shown:  # a PyTorch hook replaced the mask: use it
            allowed = recorded[:, None] if recorded.dim() == 3 else recorded
    if allowed is not None and bool(allowed.all()):  # nothing masked (an unpadded sentence, no causal mask): no copy
        allowed = None  # of the (heads, q, kv) scores to fill; 512 tokens on MiniLM: 22-29 % of the forward (A/B)

    logits = scores if allowed is None else scores.masked_fill(~allowed, float("-inf"))
    if s_aux is not None:  # attention sinks (gpt-oss): one extra logit per head, dropped after the softmax
        sinks = s_aux.reshape(1, -1, 1, 1).to(logits.dtype).expand(batch, n_heads, q_len, 1)
        combined = torch.cat([logits, sinks], dim=-1).float()
        lse = torch.logsumexp(combined, dim=-1) if want_lse else None  # (batch, heads, q), the sink's logit included
        probs = torch.softmax(combined - combined.max(dim=-1, keepdim=True).values, dim=-1)
        sink_share, probs = probs[..., -1], probs[..., :-1]
        for point in (hooks.sink if hooks is not None else None, sink):
            if point is not None:
                point(sink_share)
    else:
        lse = (
            torch.logsumexp(logits.float(), dim=-1) if want_lse else None
        )  # (batch, heads, q); -inf: a row with no key
        if logits is not scores and logits.dtype == torch.float32 and not torch.is_grad_enabled():
            probs = torch.softmax(logits, dim=-1, out=logits)  # in place: the masked copy is ours and not kept
        else:
            probs = torch.softmax(logits, dim=-1, dtype=torch.float32)
        if allowed is not None and not bool(allowed.any(dim=-1).all()):
            probs = torch.nan_to_num(probs, nan=0.0)  # a row with no key carries no attention
    if hooks is not None:  # recorded in float32 even when the model runs in bf16/fp16 (CUDA)
        probs = hooks.pattern(probs)
    if dropout > 0.0:
        probs = nn.functional.dropout(probs, p=dropout, training=True)
    return _mix(probs, value), probs, lse
