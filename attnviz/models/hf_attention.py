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
from ..masks import MaskSpec, ScoreFunction, allows, score_function
from ..recorded_attention import LayerHooks, recorded_attention
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
    score_mod: ScoreFunction | None = None  # the user's score modifications (attnviz.masks.score_function), or None
    block_input: dict = field(default_factory=dict)  # a parallel block's input (layer -> tensor), for its resid_mid
    # the load-time probe only: id(attention module) -> (H, H_kv, d_qk, d_v)
    head_shapes: dict[int, tuple[int, int, int, int]] | None = None


active_run: contextvars.ContextVar[Run | None] = contextvars.ContextVar("attnviz_hf_run", default=None)


def spec_mask_function(spec: MaskSpec) -> Callable | None:
    """The user's MaskSpec as a transformers mask function: :func:`attnviz.masks.allows` on the index tensors
    transformers passes (index-based, so it works with and without vmap); None when no rule takes keys away."""
    if not spec.takes_keys:
        return None

    def user_mask(batch_idx, head_idx, q_idx, kv_idx):
        return allows(q_idx, kv_idx, spec)

    return user_mask


def run_for(model: Adapter, spec: MaskSpec, n_heads: int) -> Run:
    """The run of one forward of ``model`` under ``spec``: its mask rules as a mask function, its score
    modifications as a score function."""
    return Run(model, spec_mask_function(spec), score_function(spec, n_heads))


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

    The work is :func:`attnviz.recorded_attention.recorded_attention`'s; on its block path (no map recorded) the
    pattern returned is None (transformers only hands it on when asked for ``output_attentions``).
    """
    run = active_run.get()
    hooks = run.model._hooks_by_module.get(id(module)) if run is not None else None
    if run is not None and run.head_shapes is not None:  # the load-time probe: (H, H_kv, d_qk, d_v)
        run.head_shapes[id(module)] = (query.shape[1], key.shape[1], query.shape[-1], value.shape[-1])
    z, pattern = recorded_attention(
        query,
        key,
        value,
        attention_mask,
        hooks,
        scaling=scaling,
        softcap=softcap,
        s_aux=s_aux,
        position_bias=position_bias,
        score_mod=run.score_mod if run is not None and hooks is not None else None,  # this adapter's own modules
        dropout=dropout,
        training=module.training,
    )
    return z.transpose(1, 2).contiguous(), pattern


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


def load_folder_weights(path, label: str, model_class: str, device=None, *, images: bool = False) -> tuple[Any, Any]:
    """(transformers model, tokenizer) of a local folder, safetensors only, no remote code, loaded to record with
    attnviz's attention (:data:`ATTN_NAME`) in float32 (the checkpoint's dtype on CUDA). A checkpoint that lacks
    weights is refused: attnviz never runs random weights. ``images``: the folder's image processor in place of a
    tokenizer (a vision transformer)."""
    import transformers
    from transformers import AutoImageProcessor, AutoTokenizer

    require_safetensors(path, label)
    register_attnviz_attention()
    with quiet_transformers():
        if images:
            if not (Path(path) / "preprocessor_config.json").is_file():
                raise UnsupportedModel("model.no_image_processor", name=label)
            tokenizer = AutoImageProcessor.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)
        else:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True, trust_remote_code=False)
        hf_model, info = getattr(transformers, model_class).from_pretrained(
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
        raise UnsupportedModel("model.missing_weights", name=label, count=len(missing), shown=shown)
    return hf_model, tokenizer
