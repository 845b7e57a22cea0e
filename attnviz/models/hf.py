"""Hugging Face causal language models, recorded through transformers' own attention interface.

transformers 5 lets a program register an attention function (``AttentionInterface``) and a mask function
(``AttentionMaskInterface``) under a name; every model that dispatches on ``config._attn_implementation`` then
calls them in place of its eager/SDPA code.  This adapter registers both under one name of its own
(:data:`ATTN_NAME`), loads the model with that name, and keeps everything else Hugging Face's: embeddings,
RoPE, the projections, normalisations, feed-forward blocks, the LM head and the tokenizer.  Per layer the
registered attention function computes what each family's eager function computes, passing every step
through a named hook point:

    q, k, v   as the model hands them over (after RoPE), K/V at their own head count     hook_q, hook_k, hook_v
    scores    = q·kᵀ · scaling  (the model's scaling), softcapped, + position bias        hook_scores
    mask      = the 4-D mask the model built (its causal mask, its own per-layer sliding window, padding)
                AND the user's MaskSpec, combined inside the registered mask function  hook_mask
    pattern   = softmax(scores where mask), over the keys and any attention sink      hook_pattern
    z         = pattern @ v  (query head h reads K/V head ``kv_head_of(h)``)          hook_z
    result    = the attention module's output (z concatenated @ W_O + b_O)            hook_result

Why a mask function too: a model builds its masks through ``ALL_MASK_ATTENTION_FUNCTIONS[name]``; an
implementation name without one there gets no mask at all (no causal mask).  Combining the user's mask with the
model's *inside* that function, as one more ``and_masks`` term, keeps every mask the model makes for itself
(Mistral's window on all layers, Gemma 2's on every other layer); passing the user's mask as ``attention_mask``
would replace them.  The user's mask travels to the function through a ``ContextVar`` set for one forward call,
so threads never see each other's settings, and a model not run by this adapter never sees any of it.

Loading (:func:`load_hf_model`) reads ``config.json`` first; any family whose modeling code calls the attention
interface is recorded, its class, blocks, attention and residual found by :mod:`attnviz.models.hf_families`;
anything else is refused with one line naming the family and why.  Weights are safetensors only,
remote code is never run, nothing is fetched from a hub, and transformers' load report stays silent.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..hooks import HookPoint
from ..masks import MaskSpec, combine_windows
from ..text import readable_token, token_style
from .base import ATTENTION_HOOKS, AttentionWeights, Encoding, Notice, encode_texts, hook_name, mask_notices
from .hf_families import (
    Family,
    MidLayer,
    UnsupportedModel,
    family_of,
    find_attention,
    find_layers,
    find_mid_layer,
)

ATTN_NAME = "attnviz_capture"  # the name under which both functions are registered; no other model uses it

# Recorded here: every step of base.ATTENTION_HOOKS, hook_sink (batch, heads, seq: the share of attention that
# went to the sink, families with sinks) and the residual stream around each layer.
BLOCK_HOOKS = ("resid_pre", "attn_in", "resid_mid", "resid_post")


def _rope_base(config) -> float | None:
    """RoPE's base (theta) as transformers 5 states it (``rope_parameters``), or as older configs do (``rope_theta``).
    A family with one RoPE per layer type (Gemma 3: a short base on sliding layers) gives its full layers' base."""
    parameters = getattr(config, "rope_parameters", None) or {}
    if isinstance(parameters, dict) and "rope_theta" not in parameters:
        per_type = [p for p in (parameters.get("full_attention"), *parameters.values()) if isinstance(p, dict)]
        parameters = per_type[0] if per_type else {}
    if isinstance(parameters, dict) and "rope_theta" in parameters:
        return float(parameters["rope_theta"])
    theta = getattr(config, "rope_theta", None)
    return float(theta) if theta is not None else None


# ------------------------------------------------------------------------------------------ one run
@dataclass
class _Run:
    """What one forward call of one adapter needs inside the registered functions."""

    model: HFAttentionModel
    user_mask: Callable | None  # an index-based mask function (batch, head, q, kv) -> bool, or None
    block_input: dict = field(default_factory=dict)  # a parallel block's input (layer -> tensor), for its resid_mid
    head_shapes: dict | None = None  # the load-time probe only: id(attention module) -> (H, H_kv, d_qk, d_v)


_active_run: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("attnviz_hf_run", default=None)


@dataclass(frozen=True)
class _LayerHooks:
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


def spec_mask_function(spec: MaskSpec) -> Callable | None:
    """The user's MaskSpec as a transformers mask function (index-based, so it works with and without vmap).

    Same convention as :func:`attnviz.masks.structural_mask`: causal j <= i, window |i - j| < w, chunk i//c == j//c.
    """
    from transformers.masking_utils import and_masks, causal_mask_function

    parts: list[Callable] = []
    if spec.causal:
        parts.append(causal_mask_function)
    if spec.window is not None:
        window = spec.window

        def window_mask(batch_idx, head_idx, q_idx, kv_idx):
            return (q_idx - kv_idx).abs() < window

        parts.append(window_mask)
    if spec.chunk is not None:
        chunk = spec.chunk

        def chunk_mask(batch_idx, head_idx, q_idx, kv_idx):
            return torch.div(q_idx, chunk, rounding_mode="floor") == torch.div(kv_idx, chunk, rounding_mode="floor")

        parts.append(chunk_mask)
    return and_masks(*parts) if parts else None


# ------------------------------------------------------------------------------------------ the mask function
def attnviz_mask(
    batch_size: int,
    q_length: int,
    kv_length: int,
    q_offset: int = 0,
    kv_offset: int = 0,
    mask_function: Callable | None = None,
    attention_mask: torch.Tensor | None = None,
    config=None,
    use_vmap: bool = False,
    device: torch.device | str = "cpu",
    **kwargs,
) -> torch.Tensor:
    """Registered in ``AttentionMaskInterface``: the model's own mask function AND the user's, as a 4-D bool mask.

    ``mask_function`` is what the model asked for (causal, or causal with its sliding window, plus whatever overlay
    the family adds); the padding mask is added by ``sdpa_mask``.  The result is always materialised
    (batch, 1, q, kv), True = may attend, so the attention function can record it.
    """
    from transformers.masking_utils import and_masks, causal_mask_function, sdpa_mask

    mask_function = mask_function if mask_function is not None else causal_mask_function
    run = _active_run.get()
    if run is not None and run.user_mask is not None and config is run.model.hf.config:
        mask_function = and_masks(mask_function, run.user_mask)

    def rows(start: int, length: int) -> torch.Tensor:
        return sdpa_mask(batch_size=batch_size, q_length=length, kv_length=kv_length, q_offset=q_offset + start,
                         kv_offset=kv_offset, mask_function=mask_function, attention_mask=attention_mask,
                         allow_is_causal_skip=False, allow_is_bidirectional_skip=False, use_vmap=use_vmap, device=device)

    # The mask functions compare (q, kv) index grids in int64: for a long text, build the bool mask a block of rows
    # at a time, so nothing bigger than the mask itself (one byte per cell) exists at once.
    block = max(64, 2**22 // max(1, kv_length))
    if q_length <= block:
        return rows(0, q_length)
    out = torch.empty(batch_size, 1, q_length, kv_length, dtype=torch.bool, device=device)
    for start in range(0, q_length, block):
        part = rows(start, min(block, q_length - start))
        out[:, :, start:start + part.shape[2]] = part
    return out


# ------------------------------------------------------------------------------------------ the attention function
def attnviz_attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    softcap: float | None = None,
    s_aux: torch.Tensor | None = None,
    position_bias: torch.Tensor | None = None,
    **kwargs,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Registered in ``AttentionInterface``: eager attention with every step through a hook point.

    query (batch, heads, q, d_head); key, value (batch, kv_heads, kv, d_head); attention_mask a 4-D bool mask
    from :func:`attnviz_mask` (or an additive float mask, whose finite part counts as position bias).
    Returns (batch, q, heads, d_head) and the pattern, as every family's eager function does.

    When nobody records a (heads, q, kv) map (scores, mask or pattern), the attention runs in blocks of queries and
    no such map exists at once: memory grows with q, not q², and the per-row normaliser (hook_lse) with q and k
    suffices to compute any part of a map exactly later (``attnviz.analysis.tiles``). The pattern returned is
    then None (transformers only hands it on when asked for ``output_attentions``).
    """
    run = _active_run.get()
    hooks = run.model._hooks_by_module.get(id(module)) if run is not None else None
    batch, n_heads, q_len, d_head = query.shape
    if run is not None and run.head_shapes is not None:
        run.head_shapes[id(module)] = (n_heads, key.shape[1], d_head, value.shape[-1])
    if hooks is not None:
        query, key, value = hooks.q(query), hooks.k(key), hooks.v(value)
    if scaling is None:
        scaling = d_head**-0.5
    if hooks is not None and hooks.score_scale.wanted():  # how q·k became a score: tiles recompute it the same way
        hooks.score_scale(torch.tensor([[scaling, softcap or 0.0]], device=query.device).expand(batch, 2))
    maps = hooks is not None and any(h.wanted() for h in (hooks.scores, hooks.mask, hooks.pattern))
    if maps or position_bias is not None or module.training or hooks is None:
        z, weights, lse = _attend(query, key, value, attention_mask, scaling, softcap, s_aux, position_bias, hooks,
                                  want_lse=hooks is not None and hooks.lse.wanted(),
                                  dropout=dropout if module.training else 0.0)
        pattern = weights.to(value.dtype)
    else:  # only per-token state is recorded: blocks of queries, never a whole (heads, q, kv) map
        kv_len = key.shape[2]
        rows = max(16, 2**24 // max(1, n_heads * kv_len))
        z_parts, lse_parts, sink_parts = [], [], []
        for a in range(0, q_len, rows):
            keys = slice(0, kv_len)
            mask_rows = None if attention_mask is None else attention_mask[..., a:a + rows, :kv_len]
            if mask_rows is not None and mask_rows.dtype == torch.bool:
                # Only the span of keys these queries may attend to: a sliding window or chunk makes the work grow
                # with the text, not its square. Columns outside it are masked for every row, so nothing changes.
                seen = torch.nonzero(mask_rows.any(dim=(0, 1, 2))).flatten()
                if len(seen):
                    keys = slice(int(seen[0]), int(seen[-1]) + 1)
                    mask_rows = mask_rows[..., keys]
            z_block, _, lse_block = _attend(query[:, :, a:a + rows], key[:, :, keys], value[:, :, keys], mask_rows, scaling,
                                            softcap, s_aux, None, None, sink=sink_parts.append if hooks.sink.wanted() else None,
                                            want_lse=hooks.lse.wanted())
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
    return z.transpose(1, 2).contiguous(), pattern


def _mix(pattern: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """pattern (batch, heads, q, kv) @ value (batch, kv_heads, kv, d): query head h reads K/V head h // group."""
    batch, n_heads, q_len, kv_len = pattern.shape
    n_kv = value.shape[1]
    pattern = pattern.to(value.dtype)
    if n_kv == n_heads:
        return torch.matmul(pattern, value)
    return torch.matmul(pattern.reshape(batch, n_kv, (n_heads // n_kv) * q_len, kv_len), value).view(batch, n_heads, q_len, -1)


def _attend(query, key, value, attention_mask, scaling, softcap, s_aux, position_bias, hooks, sink=None, want_lse=False,
            dropout=0.0):
    """Attention of these queries over every key: (z (batch, heads, q, d), the weights that mixed v (float32; after
    ``dropout`` when training, as eager attention does), lse (batch, heads, q) or None unless ``want_lse``: an extra
    pass over the scores, made only when someone records it).

    ``hooks`` (the full path) records scores, mask, pattern and sink; the block path passes only ``sink``.
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
    if hooks is not None:
        scores = hooks.scores(scores)
        shown = torch.ones(batch, q_len, kv_len, dtype=torch.bool, device=query.device) if allowed is None else (
            allowed[:, 0] if allowed.shape[1] == 1 else allowed
        )
        recorded = hooks.mask(shown)
        if recorded is not shown:  # a PyTorch hook replaced the mask: use it
            allowed = recorded[:, None] if recorded.dim() == 3 else recorded

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
        lse = torch.logsumexp(logits.float(), dim=-1) if want_lse else None  # (batch, heads, q); -inf: a row with no key
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


_register_lock = threading.Lock()
_registered = False


def register_attnviz_attention() -> None:
    """Register both functions under :data:`ATTN_NAME` (idempotent). Other names, and other models, are untouched."""
    global _registered
    with _register_lock:
        if _registered:
            return
        from transformers import AttentionInterface
        from transformers.masking_utils import AttentionMaskInterface

        AttentionInterface.register(ATTN_NAME, attnviz_attention)
        AttentionMaskInterface.register(ATTN_NAME, attnviz_mask)
        _registered = True


def output_hook(owner: nn.Module, point: HookPoint):
    """A forward hook passing a module's output (its first element, for a tuple) through ``point`` while ``owner``
    (an adapter) runs; other forwards through the same module are untouched."""

    def forward_hook(module, args, output):
        run = _active_run.get()
        if run is None or run.model is not owner:
            return None
        first = output[0] if isinstance(output, tuple) else output
        new = point(first)
        if new is first:
            return None
        return (new, *output[1:]) if isinstance(output, tuple) else new

    return forward_hook


# ------------------------------------------------------------------------------------------ the adapter
def _get_path(root: nn.Module, dotted: str) -> nn.Module:
    module = root
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def native_windows(config, n_layers: int) -> list[int | None]:
    """The sliding window each layer applies by itself (None = full causal attention), as the config says."""
    window = getattr(config, "sliding_window", None)
    layer_types = getattr(config, "layer_types", None)
    if layer_types:
        return [window if kind == "sliding_attention" else None for kind in layer_types[:n_layers]]
    return [window] * n_layers


def _linear(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(weight (out, in), bias) of an nn.Linear or GPT-2's Conv1D (which keeps its weight as (in, out))."""
    weight = module.weight
    return (weight.T if type(module).__name__ == "Conv1D" else weight), module.bias


def _projections(attention: nn.Module, n_heads: int, n_kv: int, d: int):
    """W_Q, W_K, W_V (out, in), W_O (out, in) and their biases of one attention module, whatever the family's layout:
    separate projections (q_proj/k_proj/v_proj, DistilBERT's q_lin...), q|k|v side by side (GPT-2's c_attn, Phi-3's
    qkv_proj, Falcon's multi-query), per head q,k,v (GPT-NeoX, Falcon's classic layout) or per K/V group
    (Falcon's new architecture: each group's queries, then its key and value)."""
    for names in (("q_proj", "k_proj", "v_proj"), ("q_lin", "k_lin", "v_lin"), ("query", "key", "value")):
        if all(hasattr(attention, n) for n in names):
            (wq, bq), (wk, bk), (wv, bv) = (_linear(getattr(attention, n)) for n in names)
            break
    else:
        fused_name = next((n for n in ("c_attn", "qkv_proj", "query_key_value", "Wqkv", "qkv") if hasattr(attention, n)), None)
        if fused_name is None:
            raise UnsupportedModel(f"{type(attention).__name__}: attnviz cannot find its q, k and v projections")
        w, b = _linear(getattr(attention, fused_name))
        rows = torch.arange(w.shape[0], device=w.device)
        if fused_name == "query_key_value" and getattr(attention, "new_decoder_architecture", False):
            per_group = rows.view(n_kv, n_heads // n_kv + 2, d)  # Falcon's new architecture
            index = (per_group[:, :-2].reshape(-1), per_group[:, -2].reshape(-1), per_group[:, -1].reshape(-1))
        elif fused_name == "query_key_value" and not getattr(attention, "multi_query", False):
            per_head = rows.view(n_heads, 3, d)  # GPT-NeoX and classic Falcon: q, k, v of each head in turn
            index = tuple(per_head[:, i].reshape(-1) for i in range(3))
        else:  # all queries, then all keys, then all values
            index = rows.split([n_heads * d, n_kv * d, n_kv * d])
        wq, wk, wv = (w[i] for i in index)
        bq, bk, bv = (None, None, None) if b is None else (b[i] for i in index)
    out = next((getattr(attention, n) for n in ("o_proj", "c_proj", "out_lin", "dense", "out_proj", "Wo") if hasattr(attention, n)), None)
    if out is None:
        raise UnsupportedModel(f"{type(attention).__name__}: attnviz cannot find its output projection")
    wo, bo = _linear(out)
    return wq, wk, wv, wo, (bq, bk, bv, bo)


class HFAttentionModel(nn.Module):
    """A Hugging Face causal LM (or text encoder) whose attention runs through attnviz's registered function."""

    kind = "decoder"  # or the family's ("encoder" for DistilBERT): set per model below

    def __init__(self, hf_model: nn.Module, tokenizer, name: str, family: Family | None = None):
        super().__init__()
        register_attnviz_attention()
        config = hf_model.config
        family = family or family_of(config.model_type)
        if config._attn_implementation != ATTN_NAME:
            hf_model.set_attn_implementation(ATTN_NAME)
        self.hf = hf_model.eval()
        self.family = family
        self.kind = family.kind
        self.tokenizer = tokenizer
        self.name = name
        self.n_layers = config.num_hidden_layers
        self.layers_path, layers = find_layers(hf_model, self.n_layers)
        self.attention_name = find_attention(layers[0])
        attention = getattr(layers[0], self.attention_name)
        self.d_model = config.hidden_size
        self._hooks_by_module: dict[int, _LayerHooks] = {}
        self.special_tokens = frozenset(tokenizer.all_special_tokens)
        self.token_style = token_style(tokenizer)  # how its vocabulary writes spaces and word pieces
        self.windows = native_windows(config, self.n_layers)  # the model's own sliding window per layer
        self.has_sinks = isinstance(getattr(attention, "sinks", None), torch.Tensor)  # per-head sink logits (gpt-oss)
        # RoPE when the model builds rotary embeddings (not ALiBi, not learned position vectors as GPT-2 adds)
        rotary = not getattr(config, "alibi", False) and any("rotary" in type(m).__name__.lower() for m in hf_model.modules())
        self.rope_base = _rope_base(config) if rotary else None
        self.context: int | None = None  # the training length, when known (load_hf_model reads train_log.json)
        position_limit = getattr(config, "max_position_embeddings", None) or 10**9
        tokenizer_limit = tokenizer.model_max_length if (tokenizer.model_max_length or 0) < 10**8 else 10**9
        self.max_tokens = int(min(position_limit, tokenizer_limit))

        # Right padding keeps every real token at its own position (left padding shifts GPT-2's positions).
        tokenizer.padding_side = "right"
        tokenizer.truncation_side = "right"
        if tokenizer.pad_token is None:
            fallback = tokenizer.eos_token or tokenizer.unk_token or tokenizer.bos_token
            if fallback is not None:
                tokenizer.pad_token = fallback

        # Where the residual after the attention is read: probed on the bare model, before any hook is attached.
        self._probed_heads: dict = {}
        self.mid_layer = MidLayer(family.mid_layer) if family.mid_layer else find_mid_layer(
            hf_model, layers[0], self.attention_name, self._probe)
        if not self._probed_heads:  # a family whose residual is known: one probe forward for its heads
            self._probe()
        # Heads as the attention interface receives them in those probes (configs name them in a dozen ways, and
        # some families give sliding layers other heads).
        shapes = [self._probed_heads.get(id(getattr(layer, self.attention_name))) for layer in layers]
        if None in shapes:
            raise UnsupportedModel(f"{name}: the attention of layer {shapes.index(None)} did not run in a probe forward")
        if len(set(shapes)) > 1:
            raise UnsupportedModel(
                f"{name}: its layers have different heads (query heads, K/V heads, q·k size, v size: "
                f"{sorted(set(shapes))}); attnviz shows models whose every layer has the same heads"
            )
        self.n_heads, self.n_kv_heads, self.d_head, d_value = shapes[0]
        if d_value != self.d_head:
            raise UnsupportedModel(
                f"{name}: its q and k have {self.d_head} dimensions per head and its v {d_value} (latent attention); "
                "attnviz shows heads whose q, k and v have one size"
            )
        if self.n_heads % self.n_kv_heads:
            raise UnsupportedModel(f"{name}: {self.n_heads} query heads do not divide into {self.n_kv_heads} K/V heads")
        group = self.n_heads // self.n_kv_heads
        self.kv_head_map: tuple[int, ...] = tuple(h // group for h in range(self.n_heads))  # query head -> K/V head

        self.hook_points = nn.ModuleDict()
        self._add_hook(hook_name("embed"))
        for layer in range(self.n_layers):
            for hook in (*BLOCK_HOOKS, *ATTENTION_HOOKS, "lse", "score_scale", *(("sink",) if self.has_sinks else ())):
                self._add_hook(hook_name(hook, layer))

        self._attention_modules: list[nn.Module] = []
        self._handles = []
        for index, layer in enumerate(layers):
            attention = getattr(layer, self.attention_name)
            # The registered function learns its layer from the attention module transformers hands it.
            if hasattr(attention, "layer_idx") and attention.layer_idx != index:  # (encoders keep no layer_idx)
                found = getattr(attention, "layer_idx", None)
                raise UnsupportedModel(f"{name}: attention module {index} has layer_idx {found}")
            self._hooks_by_module[id(attention)] = _LayerHooks(
                *(self.hook(hook_name(h, index)) for h in ATTENTION_HOOKS[:7]),  # q, k, v, scores, mask, pattern, z
                sink=self.hook(hook_name("sink", index)) if self.has_sinks else HookPoint(hook_name("sink", index)),
                lse=self.hook(hook_name("lse", index)), score_scale=self.hook(hook_name("score_scale", index)),
            )
            layer_inputs = ([hook_name("embed")] if index == 0 else []) + [hook_name("resid_pre", index)]
            self._handles.append(layer.register_forward_pre_hook(self._input_hook(layer_inputs), with_kwargs=True))
            self._handles.append(attention.register_forward_pre_hook(self._input_hook([hook_name("attn_in", index)]), with_kwargs=True))
            self._attention_modules.append(attention)
            self._handles.append(attention.register_forward_hook(output_hook(self, self.hook(hook_name("result", index)))))
            mid = self.hook(hook_name("resid_mid", index))
            if self.mid_layer.child is None:  # a parallel block: the residual plus the attention's output, recorded
                self._handles.append(layer.register_forward_pre_hook(self._keep_block_input(index), with_kwargs=True))
                self._handles.append(attention.register_forward_hook(self._parallel_mid(index, mid)))
            elif self.mid_layer.output:  # post-norm: the stream continues from the norm's output
                self._handles.append(getattr(layer, self.mid_layer.child).register_forward_hook(output_hook(self, mid)))
            else:
                child = getattr(layer, self.mid_layer.child)
                self._handles.append(child.register_forward_pre_hook(self._input_hook([mid.name]), with_kwargs=True))
            self._handles.append(layer.register_forward_hook(output_hook(self, self.hook(hook_name("resid_post", index)))))

    def _probe(self) -> None:
        """One forward of a few tokens at load, no hook point recorded: the structure probe of
        hf_families.find_mid_layer, and what each attention module receives (its heads) into ``_probed_heads``."""
        vocab = self.hf.get_input_embeddings().num_embeddings
        ids = torch.arange(1, 6).remainder(vocab)[None].to(self.device)
        run = _Run(self, None, head_shapes={})
        token = _active_run.set(run)
        try:
            with torch.inference_mode():
                self.hf(input_ids=ids, attention_mask=torch.ones_like(ids),
                        **({"use_cache": False} if self.kind == "decoder" else {}))
        finally:
            _active_run.reset(token)
        self._probed_heads = run.head_shapes

    def _keep_block_input(self, index: int):
        def pre_hook(module, args, kwargs):
            run = _active_run.get()
            if run is not None and run.model is self and self.hook(hook_name("resid_mid", index)).wanted():
                run.block_input[index] = args[0] if args else kwargs["hidden_states"]

        return pre_hook

    def _parallel_mid(self, index: int, point: HookPoint):
        """A parallel block adds attention and feed-forward to the same input: its resid_mid is input + attention
        output, the residual's value before the feed-forward's share is added (recorded; not on the forward path)."""

        def forward_hook(module, args, output):
            run = _active_run.get()
            if run is None or run.model is not self or index not in run.block_input:
                return None
            point(run.block_input.pop(index) + (output[0] if isinstance(output, tuple) else output))
            return None

        return forward_hook

    # ----------------------------------------------------------------- hook points
    def _add_hook(self, name: str) -> None:
        # ModuleDict keys may not contain dots; the HookPoint keeps the dotted name.
        self.hook_points[name.replace(".", "__")] = HookPoint(name)

    def hook(self, name: str) -> HookPoint:
        return self.hook_points[name.replace(".", "__")]

    def kv_head_of(self, query_head: int) -> int:
        """The K/V head that query head ``query_head`` reads (grouped-query attention; identity without it)."""
        return self.kv_head_map[query_head]

    def layer_windows(self, window: int | None = None) -> list[int | None]:
        """Each layer's window as the forward applies it: the model's own (None = global), narrowed by ``window``."""
        return [combine_windows(own, window) for own in self.windows]

    def _mine(self) -> bool:
        run = _active_run.get()
        return run is not None and run.model is self

    def _input_hook(self, names: list[str]):
        """A forward pre-hook passing a module's input (first argument or ``hidden_states``) through hook points."""
        points = [self.hook(n) for n in names]

        def pre_hook(module, args, kwargs):
            if not self._mine():
                return None
            hidden = args[0] if args else kwargs["hidden_states"]
            new = hidden
            for point in points:
                new = point(new)
            if new is hidden:
                return None
            if args:
                return (new, *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": new}

        return pre_hook

    @property
    def device(self) -> torch.device:
        return next(self.hf.parameters()).device

    # ----------------------------------------------------------------- weights (Step by step)
    def notices(self, text: str, spec: MaskSpec) -> list[Notice]:
        """The mask notices, and positions beyond the length it was trained on (when its folder says, as the shipped
        mistral-char's train_log.json does)."""
        notices = mask_notices(self, spec)
        if self.context is not None:
            n = min(len(self.tokenizer(text)["input_ids"]), self.max_tokens)
            if n > self.context:
                notices.insert(0, Notice("info", "msg.beyond_context", {"model": self.name, "context": self.context, "n": n}))
        return notices

    def attention_weights(self, layer: int) -> AttentionWeights:
        attention = self._attention_modules[layer]
        q, k, v, o, biases = _projections(attention, self.n_heads, self.n_kv_heads, self.d_head)
        return AttentionWeights.from_linear(q, k, v, o, biases=biases, n_heads=self.n_heads, n_kv_heads=self.n_kv_heads,
                                            rotary=self.rope_base is not None, qk_norm=hasattr(attention, "q_norm"))

    def embedding_parts(self, token_ids: np.ndarray) -> dict[str, np.ndarray]:
        """The token's embedding row, and GPT-2's learned position row (RoPE models rotate q and k instead)."""
        parts = {"word": self.hf.get_input_embeddings().weight.detach().float().cpu().numpy()[token_ids]}
        positions = getattr(getattr(self.hf, "transformer", None), "wpe", None)  # GPT-2
        positions = positions or getattr(getattr(self.hf, "embeddings", None), "position_embeddings", None)  # DistilBERT
        if positions is not None:
            parts["position"] = positions.weight.detach().float().cpu().numpy()[: len(token_ids)]
        return parts

    # ----------------------------------------------------------------- generation with the KV cache
    def decode_step(self, ids: torch.Tensor, cache=None):
        """Feed ``ids`` (1, n) after what ``cache`` holds (None: nothing yet); (logits (1, n, vocab), the cache).
        The hook points record the new queries against every cached key, as any forward does."""
        token = _active_run.set(_Run(self, None))
        try:
            out = self.hf(input_ids=ids.to(self.device), cache=cache, use_cache=True)
        finally:
            _active_run.reset(token)
        return out.logits, out.cache

    def token_label(self, token_id: int) -> str:
        piece = self.tokenizer.convert_ids_to_tokens(int(token_id))
        return readable_token(piece, self.token_style, piece in self.special_tokens)

    # ----------------------------------------------------------------- tokenizing
    def encode(self, texts: list[str]) -> Encoding:
        if len(texts) > 1 and self.tokenizer.pad_token is None:
            raise UnsupportedModel(f"{self.name}: the tokenizer has no padding token, so texts run one at a time")
        return encode_texts(self.tokenizer, texts, self.max_tokens, style=self.token_style)

    # ----------------------------------------------------------------- forward
    def forward(self, encoding: Encoding, spec: MaskSpec = MaskSpec()) -> torch.Tensor:
        """Run the model under ``spec`` (ANDed with the model's own masks); returns logits (batch, seq, vocab)."""
        device = self.device
        token = _active_run.set(_Run(self, spec_mask_function(spec)))
        try:
            output = self.hf(
                input_ids=encoding.input_ids.to(device),
                attention_mask=encoding.key_is_real.to(device).long(),
                **({"use_cache": False} if self.kind == "decoder" else {}),
            )
        finally:
            _active_run.reset(token)
        return output.logits if hasattr(output, "logits") else output.last_hidden_state


# ------------------------------------------------------------------------------------------ loading
_load_lock = threading.Lock()


@contextlib.contextmanager
def _quiet_transformers():
    """transformers' load report, warnings and progress bars silenced for the duration, then restored."""
    from transformers.utils import logging as hf_logging

    with _load_lock:
        verbosity = hf_logging.get_verbosity()
        bars = hf_logging.is_progress_bar_enabled()
        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
        try:
            yield
        finally:
            hf_logging.set_verbosity(verbosity)
            if bars:
                hf_logging.enable_progress_bar()


def load_dtype(device) -> torch.dtype | str:
    """float32 on CPU (and MPS); on CUDA the checkpoint's own dtype ("auto": bf16 or fp16 as saved) for the forward.
    Whatever the forward's dtype, captures are float32: the softmax runs in float32 and recorded tensors are
    converted (``hooks.to_numpy``), and only the recorded hook points are copied off the GPU."""
    return "auto" if torch.device(device or "cpu").type == "cuda" else torch.float32


def load_hf_model(path, name: str | None = None, device=None) -> HFAttentionModel:
    """Load a local Hugging Face directory of any family that calls the attention interface, in float32 (the
    checkpoint's dtype on CUDA), ready to record."""
    path = Path(path).expanduser()
    label = name or path.name or str(path)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise UnsupportedModel(f"{label}: no config.json, so not a model directory")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UnsupportedModel(f"{label}: config.json cannot be read ({type(error).__name__})") from error
    model_type = config.get("model_type") if isinstance(config, dict) else None
    model_type = model_type if isinstance(model_type, str) else None
    from .hf_encdec import ENCODER_DECODER, load_encoder_decoder

    family = None if model_type in ENCODER_DECODER else family_of(model_type)  # or the one-line refusal
    if not any(path.glob("*.safetensors")):
        raise UnsupportedModel(
            f"{label}: no .safetensors weights (attnviz loads safetensors only, never pickled files)"
        )
    if family is None:  # T5, BART: the Encoder-decoder page
        return load_encoder_decoder(path, label, ENCODER_DECODER[model_type], device)

    register_attnviz_attention()
    import transformers
    from transformers import AutoTokenizer

    model_class = getattr(transformers, family.model_class)
    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)
        hf_model, info = model_class.from_pretrained(
            str(path),
            use_safetensors=True,
            trust_remote_code=False,
            local_files_only=True,
            dtype=load_dtype(device),
            attn_implementation=ATTN_NAME,
            output_loading_info=True,
        )
    missing = sorted(info.get("missing_keys") or ())
    if missing:
        shown = ", ".join(missing[:3]) + (", …" if len(missing) > 3 else "")
        raise UnsupportedModel(
            f"{label}: the checkpoint lacks {len(missing)} weights ({shown}); attnviz will not run random weights"
        )
    model = HFAttentionModel(hf_model, tokenizer, label, family)
    try:  # a folder trained here says how long its training texts were: later positions are flagged on the pages
        model.context = int(json.loads((path / "train_log.json").read_text(encoding="utf-8"))["settings"]["context"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if device is not None:
        model.to(device)
    return model.eval()


__all__ = [
    "ATTN_NAME",
    "HFAttentionModel",
    "UnsupportedModel",
    "attnviz_attention",
    "family_of",
    "attnviz_mask",
    "load_hf_model",
    "native_windows",
    "register_attnviz_attention",
    "spec_mask_function",
]
