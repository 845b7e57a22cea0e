"""The Hugging Face machinery both adapters share: attnviz's attention and mask functions registered with
transformers' interface, the state of one recorded forward, each layer's hook points, output hooks and loading.

transformers 5 lets a program register an attention function (``AttentionInterface``) and a mask function
(``AttentionMaskInterface``) under a name; every model that dispatches on ``config._attn_implementation`` then
calls them in place of its eager/SDPA code. Both are registered here under :data:`ATTN_NAME`; the causal-LM and
encoder adapter (:mod:`attnviz.models.hf`) and the encoder-decoder one (:mod:`attnviz.models.hf_encdec`) load
their models with that name and set :data:`active_run` for each forward they make. Neither adapter imports the
other: what they share is this module.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn

from ..hooks import HookPoint
from ..masks import MaskSpec
from .hf_families import UnsupportedModel

ATTN_NAME = "attnviz_capture"  # the name under which both functions are registered; no other model uses it


# ------------------------------------------------------------------------------------------ one run
class Adapter(Protocol):
    """What the registered functions read of the adapter running a forward (for the type checker)."""

    hf: Any  # its transformers PreTrainedModel
    _hooks_by_module: dict[int, LayerHooks]  # id(attention module) -> its hook points


@dataclass
class Run:
    """What one forward call of one adapter needs inside the registered functions."""

    model: Adapter  # the adapter running this forward (hf.HFAttentionModel or hf_encdec.HFEncoderDecoder)
    user_mask: Callable | None  # an index-based mask function (batch, head, q, kv) -> bool, or None
    block_input: dict = field(default_factory=dict)  # a parallel block's input (layer -> tensor), for its resid_mid
    # the load-time probe only: id(attention module) -> (H, H_kv, d_qk, d_v)
    head_shapes: dict[int, tuple[int, int, int, int]] | None = None


active_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar("attnviz_hf_run", default=None)


@dataclass(frozen=True)
class LayerHooks:
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
    run = active_run.get()
    if run is not None and run.user_mask is not None and config is run.model.hf.config:
        mask_function = and_masks(mask_function, run.user_mask)

    def rows(start: int, length: int) -> torch.Tensor:
        mask = sdpa_mask(
            batch_size=batch_size,
            q_length=length,
            kv_length=kv_length,
            q_offset=q_offset + start,
            kv_offset=kv_offset,
            mask_function=mask_function,
            attention_mask=attention_mask,
            allow_is_causal_skip=False,
            allow_is_bidirectional_skip=False,
            use_vmap=use_vmap,
            device=device,
        )
        assert mask is not None  # both skips are disallowed: sdpa_mask always builds the mask
        return mask

    # The mask functions compare (q, kv) index grids in int64: for a long text, build the bool mask a block of rows
    # at a time, so nothing bigger than the mask itself (one byte per cell) exists at once.
    block = max(64, 2**22 // max(1, kv_length))
    if q_length <= block:
        return rows(0, q_length)
    out = torch.empty(batch_size, 1, q_length, kv_length, dtype=torch.bool, device=device)
    for start in range(0, q_length, block):
        part = rows(start, min(block, q_length - start))
        out[:, :, start : start + part.shape[2]] = part
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
    suffices to compute any part of a map exactly later (``attnviz.tiles``). The pattern returned is
    then None (transformers only hands it on when asked for ``output_attentions``).
    """
    run = active_run.get()
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
            dropout=dropout if module.training else 0.0,
        )
        pattern = weights.to(value.dtype)
    else:  # only per-token state is recorded: blocks of queries, never a whole (heads, q, kv) map
        kv_len = key.shape[2]
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
    return z.transpose(1, 2).contiguous(), pattern


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
):
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
        shown = (
            torch.ones(batch, q_len, kv_len, dtype=torch.bool, device=query.device)
            if allowed is None
            else (allowed[:, 0] if allowed.shape[1] == 1 else allowed)
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
        run = active_run.get()
        if run is None or run.model is not owner:
            return None
        first = output[0] if isinstance(output, tuple) else output
        new = point(first)
        if new is first:
            return None
        return (new, *output[1:]) if isinstance(output, tuple) else new

    return forward_hook


def get_path(root: nn.Module, dotted: str) -> nn.Module:
    module = root
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


# ------------------------------------------------------------------------------------------ loading
_load_lock = threading.Lock()


@contextlib.contextmanager
def quiet_transformers():
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


def require_safetensors(path, label: str) -> None:
    """Refuse a folder without .safetensors weights: attnviz never unpickles a checkpoint."""
    if not any(Path(path).glob("*.safetensors")):
        raise UnsupportedModel("model.no_safetensors", name=label)
