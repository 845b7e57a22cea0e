"""Hugging Face causal language models and text encoders (DistilBERT, ModernBERT ...), recorded through transformers' own attention interface.

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

import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ..hooks import HookPoint
from ..masks import MaskSpec, combine_windows
from ..text import readable_token, token_style
from .base import (
    ATTENTION_HOOKS,
    RESIDUAL_HOOKS,
    AttentionModel,
    AttentionWeights,
    Encoding,
    FolderFormat,
    Kind,
    Notice,
    encode_texts,
    hook_name,
    mask_notices,
    unknown_token_notices,
    model_type,
)
from ..recorded_attention import LayerHooks
from .hf_attention import (
    ATTN_NAME,
    load_folder_weights,
    Run,
    active_run,
    attnviz_attention,
    attnviz_mask,
    output_hook,
    register_attnviz_attention,
    run_for,
)
from .hf_families import (
    Family,
    MidLayer,
    UnsupportedModel,
    family_of,
    find_attention,
    find_layers,
    find_mid_layer,
)


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


# ------------------------------------------------------------------------------------------ the adapter
def native_windows(config, n_layers: int) -> list[int | None]:
    """The sliding window each layer applies by itself (None = full causal attention), as the config says."""
    window = getattr(config, "sliding_window", None)
    layer_types = getattr(config, "layer_types", None)
    if layer_types:
        return [window if kind == "sliding_attention" else None for kind in layer_types[:n_layers]]
    return [window] * n_layers


def _linear(module: Any) -> tuple[torch.Tensor, torch.Tensor | None]:  # module: an nn.Linear or a Conv1D
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
        fused_name = next(
            (n for n in ("c_attn", "qkv_proj", "query_key_value", "Wqkv", "qkv") if hasattr(attention, n)), None
        )
        if fused_name is None:
            raise UnsupportedModel("model.no_qkv", name=type(attention).__name__)
        w, b = _linear(getattr(attention, fused_name))
        rows = torch.arange(w.shape[0], device=w.device)
        if fused_name == "query_key_value" and getattr(attention, "new_decoder_architecture", False):
            per_group = rows.view(n_kv, n_heads // n_kv + 2, d)  # Falcon's new architecture
            index: tuple[torch.Tensor, ...] = (
                per_group[:, :-2].reshape(-1),
                per_group[:, -2].reshape(-1),
                per_group[:, -1].reshape(-1),
            )
        elif fused_name == "query_key_value" and not getattr(attention, "multi_query", False):
            per_head = rows.view(n_heads, 3, d)  # GPT-NeoX and classic Falcon: q, k, v of each head in turn
            index = tuple(per_head[:, i].reshape(-1) for i in range(3))
        else:  # all queries, then all keys, then all values
            index = rows.split([n_heads * d, n_kv * d, n_kv * d])
        wq, wk, wv = (w[i] for i in index)
        bq, bk, bv = (None, None, None) if b is None else (b[i] for i in index)
    out = next(
        (
            getattr(attention, n)
            for n in ("o_proj", "c_proj", "out_lin", "dense", "out_proj", "Wo")
            if hasattr(attention, n)
        ),
        None,
    )
    if out is None:
        raise UnsupportedModel("model.no_output_projection", name=type(attention).__name__)
    wo, bo = _linear(out)
    return wq, wk, wv, wo, (bq, bk, bv, bo)


class HFAttentionModel(nn.Module, AttentionModel):
    """A Hugging Face causal LM (or text encoder) whose attention runs through attnviz's registered function."""

    kind = "decoder"  # or the family's ("encoder" for DistilBERT): set per model below

    # hf_model: a transformers PreTrainedModel (the family's causal LM or encoder class)
    def __init__(self, hf_model: Any, tokenizer, name: str, family: Family | None = None):
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
        self.n_layers: int = config.num_hidden_layers
        self.layers_path, layers = find_layers(hf_model, self.n_layers)
        attention_name = find_attention(layers[0])
        assert attention_name is not None  # find_layers returns blocks that each hold an attention
        self.attention_name = attention_name
        attention = getattr(layers[0], self.attention_name)
        self.d_model: int = config.hidden_size
        self._hooks_by_module: dict[int, LayerHooks] = {}
        self._take_inputs(tokenizer, config)
        self.windows = native_windows(config, self.n_layers)  # the model's own sliding window per layer
        self.has_sinks = isinstance(getattr(attention, "sinks", None), torch.Tensor)  # per-head sink logits (gpt-oss)
        # RoPE when the model builds rotary embeddings (not ALiBi, not learned position vectors as GPT-2 adds)
        rotary = not getattr(config, "alibi", False) and any(
            "rotary" in type(m).__name__.lower() for m in hf_model.modules()
        )
        self.rope_base = _rope_base(config) if rotary else None
        self.context: int | None = None  # the training length, when known (load_hf_model reads train_log.json)

        # Where the residual after the attention is read: probed on the bare model, before any hook is attached.
        self._probed_heads: dict[int, tuple[int, int, int, int]] = {}
        self.mid_layer = (
            MidLayer(family.mid_layer)
            if family.mid_layer
            else find_mid_layer(hf_model, layers[0], self.attention_name, self._probe)
        )
        if not self._probed_heads:  # a family whose residual is known: one probe forward for its heads
            self._probe()
        # Heads as the attention interface receives them in those probes (configs name them in a dozen ways, and
        # some families give sliding layers other heads).
        shapes = [self._probed_heads.get(id(getattr(layer, self.attention_name))) for layer in layers]
        if None in shapes:
            raise UnsupportedModel("model.layer_silent", name=name, layer=shapes.index(None))
        heads = cast(list[tuple[int, int, int, int]], shapes)  # no None among them (checked above)
        if len(set(heads)) > 1:
            raise UnsupportedModel("model.uneven_heads", name=name, heads=sorted(set(heads)))
        self.n_heads, self.n_kv_heads, self.d_head, d_value = heads[0]
        if d_value != self.d_head:
            raise UnsupportedModel("model.latent_attention", name=name, d_qk=self.d_head, d_v=d_value)
        if self.n_heads % self.n_kv_heads:
            raise UnsupportedModel("model.heads_do_not_divide", name=name, heads=self.n_heads, kv_heads=self.n_kv_heads)
        group = self.n_heads // self.n_kv_heads
        self.kv_head_map: tuple[int, ...] = tuple(h // group for h in range(self.n_heads))  # query head -> K/V head

        self.hook_points = nn.ModuleDict()
        self._add_hook(hook_name("embed"))
        for index in range(self.n_layers):  # (index, not layer: the loop below binds layer to each block)
            for hook in (
                *RESIDUAL_HOOKS,
                *ATTENTION_HOOKS,
                "lse",
                "score_scale",
                *(("sink",) if self.has_sinks else ()),
            ):
                self._add_hook(hook_name(hook, index))

        self._attention_modules: list[nn.Module] = []
        self._handles = []
        for index, layer in enumerate(layers):
            attention = getattr(layer, self.attention_name)
            # The registered function learns its layer from the attention module transformers hands it.
            if hasattr(attention, "layer_idx") and attention.layer_idx != index:  # (encoders keep no layer_idx)
                found = getattr(attention, "layer_idx", None)
                raise UnsupportedModel("model.layer_index", name=name, index=index, found=found)
            self._hooks_by_module[id(attention)] = LayerHooks(  # type: ignore[misc]  # the starred 7 fill q ... z
                *(self.hook(hook_name(h, index)) for h in ATTENTION_HOOKS[:7]),  # q, k, v, scores, mask, pattern, z
                sink=self.hook(hook_name("sink", index)) if self.has_sinks else HookPoint(hook_name("sink", index)),
                lse=self.hook(hook_name("lse", index)),
                score_scale=self.hook(hook_name("score_scale", index)),
            )
            layer_inputs = ([hook_name("embed")] if index == 0 else []) + [hook_name("resid_pre", index)]
            self._handles.append(layer.register_forward_pre_hook(self._input_hook(layer_inputs), with_kwargs=True))
            self._handles.append(
                attention.register_forward_pre_hook(self._input_hook([hook_name("attn_in", index)]), with_kwargs=True)
            )
            self._attention_modules.append(attention)
            self._handles.append(
                attention.register_forward_hook(output_hook(self, self.hook(hook_name("result", index))))
            )
            mid = self.hook(hook_name("resid_mid", index))
            if self.mid_layer.child is None:  # a parallel block: the residual plus the attention's output, recorded
                self._handles.append(layer.register_forward_pre_hook(self._keep_block_input(index), with_kwargs=True))
                self._handles.append(attention.register_forward_hook(self._parallel_mid(index, mid)))
            elif self.mid_layer.output:  # post-norm: the stream continues from the norm's output
                self._handles.append(getattr(layer, self.mid_layer.child).register_forward_hook(output_hook(self, mid)))
            else:
                child = getattr(layer, self.mid_layer.child)
                self._handles.append(child.register_forward_pre_hook(self._input_hook([mid.name]), with_kwargs=True))
            self._handles.append(
                layer.register_forward_hook(output_hook(self, self.hook(hook_name("resid_post", index))))
            )

    def _take_inputs(self, tokenizer, config) -> None:
        """What the model reads, from its tokenizer: special tokens, how its vocabulary writes spaces and word pieces,
        the longest input, right padding (left padding shifts GPT-2's positions)."""
        self.special_tokens = frozenset(tokenizer.all_special_tokens)
        self.token_style = token_style(tokenizer)
        position_limit = getattr(config, "max_position_embeddings", None) or 10**9
        tokenizer_limit = tokenizer.model_max_length if (tokenizer.model_max_length or 0) < 10**8 else 10**9
        self.max_tokens = int(min(position_limit, tokenizer_limit))
        tokenizer.padding_side = "right"
        tokenizer.truncation_side = "right"
        if tokenizer.pad_token is None:
            fallback = tokenizer.eos_token or tokenizer.unk_token or tokenizer.bos_token
            if fallback is not None:
                tokenizer.pad_token = fallback

    def _probe_inputs(self) -> dict[str, torch.Tensor]:
        """The load-time probe's input: a few token ids."""
        vocab = self.hf.get_input_embeddings().num_embeddings
        ids = torch.arange(1, 6).remainder(vocab)[None].to(self.device)
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}

    def _probe(self) -> None:
        """One forward of a small input at load, no hook point recorded: the structure probe of
        hf_families.find_mid_layer, and what each attention module receives (its heads) into ``_probed_heads``."""
        head_shapes: dict[int, tuple[int, int, int, int]] = {}
        run = Run(self, None, head_shapes=head_shapes)
        token = active_run.set(run)
        try:
            with torch.inference_mode():
                self.hf(**self._probe_inputs(), **({"use_cache": False} if self.kind == "decoder" else {}))
        finally:
            active_run.reset(token)
        self._probed_heads = head_shapes  # (run.head_shapes, filled by the attention function)

    def _keep_block_input(self, index: int):
        def pre_hook(module, args, kwargs):
            run = active_run.get()
            if run is not None and run.model is self and self.hook(hook_name("resid_mid", index)).wanted():
                run.block_input[index] = args[0] if args else kwargs["hidden_states"]

        return pre_hook

    def _parallel_mid(self, index: int, point: HookPoint):
        """A parallel block adds attention and feed-forward to the same input: its resid_mid is input + attention
        output, the residual's value before the feed-forward's share is added (recorded; not on the forward path)."""

        def forward_hook(module, args, output):
            run = active_run.get()
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
        return cast(HookPoint, self.hook_points[name.replace(".", "__")])  # _add_hook puts only HookPoints there

    def kv_head_of(self, query_head: int) -> int:
        """The K/V head that query head ``query_head`` reads (grouped-query attention; identity without it)."""
        return self.kv_head_map[query_head]

    def layer_windows(self, window: int | None = None) -> list[int | None]:
        """Each layer's window as the forward applies it: the model's own (None = global), narrowed by ``window``."""
        return [combine_windows(own, window) for own in self.windows]

    def _mine(self) -> bool:
        run = active_run.get()
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
        notices = unknown_token_notices(self.tokenizer, self.name, text) + mask_notices(self, spec)
        if self.context is not None:
            n = min(len(self.tokenizer(text)["input_ids"]), self.max_tokens)
            if n > self.context:
                notices.insert(
                    0,
                    Notice("info", "msg.beyond_context", {"model": self.name, "context": self.context, "last": n - 1}),
                )
        return notices

    def attention_weights(self, layer: int) -> AttentionWeights:
        attention = self._attention_modules[layer]
        q, k, v, o, biases = _projections(attention, self.n_heads, self.n_kv_heads, self.d_head)
        return AttentionWeights.from_linear(
            q,
            k,
            v,
            o,
            biases=biases,
            n_heads=self.n_heads,
            n_kv_heads=self.n_kv_heads,
            rotary=self.rope_base is not None,
            qk_norm=hasattr(attention, "q_norm"),
        )

    def embedding_parts(self, token_ids: np.ndarray) -> dict[str, np.ndarray]:
        """The token's embedding row, and GPT-2's learned position row (RoPE models rotate q and k instead)."""
        parts = {"word": self.hf.get_input_embeddings().weight.detach().float().cpu().numpy()[token_ids]}
        positions = getattr(getattr(self.hf, "transformer", None), "wpe", None)  # GPT-2
        positions = positions or getattr(
            getattr(self.hf, "embeddings", None), "position_embeddings", None
        )  # DistilBERT
        if positions is not None:
            parts["position"] = positions.weight.detach().float().cpu().numpy()[: len(token_ids)]
        return parts

    # ----------------------------------------------------------------- generation with the KV cache
    def decode_step(self, ids: torch.Tensor, cache=None):
        """Feed ``ids`` (1, n) after what ``cache`` holds (None: nothing yet); (logits (1, n, vocab), the cache).
        The hook points record the new queries against every cached key, as any forward does."""
        token = active_run.set(Run(self, None))
        try:
            out = self.hf(input_ids=ids.to(self.device), cache=cache, use_cache=True)
        finally:
            active_run.reset(token)
        return out.logits, out.cache

    def token_label(self, token_id: int) -> str:
        piece = self.tokenizer.convert_ids_to_tokens(int(token_id))
        return readable_token(piece, self.token_style, piece in self.special_tokens)

    # ----------------------------------------------------------------- tokenizing
    def encode(self, texts: list[str]) -> Encoding:
        if len(texts) > 1 and self.tokenizer.pad_token is None:
            raise UnsupportedModel("model.no_padding_token", name=self.name)
        return encode_texts(self.tokenizer, texts, self.max_tokens, style=self.token_style)

    # ----------------------------------------------------------------- forward
    def forward(self, encoding: Encoding, spec: MaskSpec = MaskSpec()) -> torch.Tensor:
        """Run the model under ``spec`` (ANDed with the model's own masks); returns logits (batch, seq, vocab)."""
        device = self.device
        token = active_run.set(run_for(self, spec, self.n_heads))
        try:
            output = self.hf(
                input_ids=encoding.input_ids.to(device),
                attention_mask=encoding.key_is_real.to(device).long(),
                **({"use_cache": False} if self.kind == "decoder" else {}),
            )
        finally:
            active_run.reset(token)
        return output.logits if hasattr(output, "logits") else output.last_hidden_state


# ------------------------------------------------------------------------------------------ loading
def read_folder_config(path: Path, label: str) -> dict:
    """A model folder's config.json, or a refusal naming what is wrong with it."""
    config_file = path / "config.json"
    if not config_file.is_file():
        raise UnsupportedModel("model.no_config", name=label)
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise UnsupportedModel("model.bad_config", name=label, problem=type(error).__name__) from error
    if not isinstance(config, dict):
        raise UnsupportedModel("model.bad_config", name=label, problem="not a JSON object")
    return config


def load_hf_model(path, name: str | None = None, device=None) -> HFAttentionModel:
    """Load a local Hugging Face directory of any family that calls the attention interface, in float32 (the
    checkpoint's dtype on CUDA), ready to record."""
    path = Path(path).expanduser()
    label = name or path.name or str(path)
    config = read_folder_config(path, label)
    model_type = config.get("model_type") if isinstance(config, dict) else None
    model_type = model_type if isinstance(model_type, str) else None
    family = family_of(model_type)  # or the one-line refusal
    hf_model, tokenizer = load_folder_weights(path, label, family.model_class, device)
    model = HFAttentionModel(hf_model, tokenizer, label, family)
    try:  # a folder trained here says how long its training texts were: later positions are flagged on the pages
        model.context = int(json.loads((path / "train_log.json").read_text(encoding="utf-8"))["settings"]["context"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    if device is not None:
        model.to(device)
    return model.eval()


def _kind(config: dict) -> Kind:
    """The family's own kind ("encoder" for DistilBERT, ModernBERT ...); a family refused at load counts as a decoder."""
    try:
        return family_of(model_type(config)).kind
    except UnsupportedModel:
        return "decoder"


FOLDER_FORMAT = FolderFormat(  # the registry offers it every folder no other family file took
    "transformers",
    lambda path, config: True,
    _kind,
    lambda path, config, name, device: load_hf_model(path, name=name, device=device),
)


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
    "run_for",
]
