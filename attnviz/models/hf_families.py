"""Which Hugging Face families attnviz records, and where each keeps its parts, found rather than written down.

A family qualifies when transformers' own modeling code for it dispatches its attention through
``ALL_ATTENTION_FUNCTIONS`` (the attention interface :mod:`attnviz.models.hf` registers into). For such a family
everything the adapter needs is discovered from the installed transformers and the loaded model:

    the class        the family's causal-LM class (``AutoModelForCausalLM``'s table), or for an encoder
                     (a family with a masked-LM head and no causal one) its base model
    the layers       the ``nn.ModuleList`` holding ``num_hidden_layers`` blocks
    the attention    the block's child whose ``forward`` calls the interface (one per block)
    the residual     hook_resid_mid: the input of the first child that reads the residual stream after the
                     attention has been added to it, found by a probe forward (see :func:`find_mid_layer`);
                     a *parallel* block (GPT-NeoX, Cohere, Falcon's new architecture) has no such child, and its
                     hook_resid_mid is resid_pre + the attention's output, the sum the block itself forms
    the heads       measured by :mod:`attnviz.models.hf` in the same probe forwards: query and K/V heads and their
                     sizes as the attention interface receives them
    RoPE, sinks      the config's ``rope_parameters``; the attention module's ``sinks``
    windows          per-layer sliding windows from ``layer_types`` / ``sliding_window``

:data:`OVERRIDES` holds what a family does differently (today: DistilBERT's post-norm residual). A family that
cannot work is refused in one line naming why (:func:`family_of`, :func:`find_layers`): it routes around the
interface, it is a multimodal wrapper (its text model is named) or made of several models, an encoder-decoder,
a hybrid, its attention is nested in a wrapper, it has no causal-LM or encoder class, or transformers does not
know it (attnviz never runs a checkpoint's own code).
"""

from __future__ import annotations

import importlib.util
import inspect
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal, cast

import torch
from torch import nn

from ..text import InputError


class UnsupportedModel(InputError):
    """A model directory attnviz will not load, and why in one line (a text key and values: the page's language)."""


@dataclass(frozen=True)
class Family:
    """What is known of a family before its model is built: the class to load and how its blocks read."""

    model_type: str
    model_class: str  # the transformers class that is loaded (a causal LM with its head, or an encoder's base model)
    kind: Literal["encoder", "decoder", "vision"] = "decoder"  # "encoder": bidirectional, its mask the padding
    # alone; "vision": bidirectional over image patches (hf_vision)
    mid_layer: str | None = None  # an override: the block child whose input is hook_resid_mid (else: probed)


# A family that differs from what discovery finds. DistilBERT is post-norm: the stream after its attention is the
# normalised sum, which its feed-forward block (``ffn``) reads, as BERT's adapter records it.
OVERRIDES: dict[str, dict] = {
    "distilbert": {"mid_layer": "ffn"},
}


# ------------------------------------------------------------------------------------------ the family
def _modeling_sources(model_type: str) -> list[Path] | None:
    """The family's modeling_*.py files in the installed transformers (None: transformers does not know it)."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES, model_type_to_module_name

    if model_type not in CONFIG_MAPPING_NAMES:
        return None
    spec = importlib.util.find_spec(f"transformers.models.{model_type_to_module_name(model_type)}")
    if spec is None or not spec.submodule_search_locations:
        return None
    return sorted(Path(next(iter(spec.submodule_search_locations))).glob("modeling_*.py"))


@lru_cache(maxsize=None)
def uses_attention_interface(model_type: str) -> bool | None:
    """Whether transformers' modeling code for this family dispatches through the attention interface
    (None: transformers does not know the family). Reads the source; imports nothing."""
    sources = _modeling_sources(model_type)
    if sources is None:
        return None
    return any("ALL_ATTENTION_FUNCTIONS" in path.read_text(encoding="utf-8", errors="replace") for path in sources)


def default_config(model_type: str):
    """The family's config with its defaults (None when its class cannot be built without arguments)."""
    from transformers import AutoConfig

    try:
        return AutoConfig.for_model(model_type)
    except Exception:  # noqa: BLE001 - a config class that needs arguments says nothing here
        return None


def require_interface(model_type: str | None) -> str:
    """``model_type`` when transformers knows the family and its code calls the attention interface; else the
    one-line refusal (no model type, an unknown family, a family that routes around the interface)."""
    if not model_type:
        raise UnsupportedModel("model.no_model_type")
    uses = uses_attention_interface(model_type)
    if uses is None:
        raise UnsupportedModel("model.unknown_family", family=model_type)
    if not uses:
        raise UnsupportedModel("model.no_interface", family=model_type)
    return model_type


def family_of(model_type: str | None) -> Family:
    """The family's class and kind, or :class:`UnsupportedModel` with the one-line reason.

    In order: transformers must know the family and its modeling code must call the interface; a model made of
    several models (a multimodal wrapper, whose text model is named; a speech or music model) and an
    encoder-decoder are refused; a family with a masked-LM head is an encoder (its base model, read both ways),
    else its causal-LM class is loaded."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
        MODEL_FOR_MASKED_LM_MAPPING_NAMES,
        MODEL_MAPPING_NAMES,
    )

    model_type = require_interface(model_type)
    config = default_config(model_type)
    # Sub-configs that are models of their own (a vision tower, an audio encoder, a text config); a family's
    # groups of settings (DBRX's attn_config) have no model type of their own and are not parts.
    sub_configs = (getattr(type(config), "sub_configs", None) or {}) if config is not None else {}
    parts = sorted(name for name, part in sub_configs.items() if getattr(part, "model_type", None) != "")
    if "text_config" in parts:
        text = getattr(getattr(config, "text_config", None), "model_type", None)
        if text and text != model_type:
            raise UnsupportedModel("model.multimodal_named", family=model_type, text=text)
        raise UnsupportedModel("model.multimodal", family=model_type)
    if parts:
        raise UnsupportedModel("model.several_models", family=model_type, parts=", ".join(parts))
    if config is not None and config.is_encoder_decoder:
        raise UnsupportedModel("model.encoder_decoder_elsewhere", family=model_type)
    overrides = OVERRIDES.get(model_type, {})
    if model_type in MODEL_FOR_MASKED_LM_MAPPING_NAMES and model_type in MODEL_MAPPING_NAMES:
        # one class name (the table's only pair of names is Funnel's, a family that does not use the interface)
        return Family(model_type, cast(str, MODEL_MAPPING_NAMES[model_type]), "encoder", **overrides)
    causal = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(model_type)
    if causal is not None and causal.endswith(("ForCausalLM", "LMHeadModel")):
        return Family(model_type, causal, "decoder", **overrides)
    raise UnsupportedModel("model.not_lm_or_encoder", family=model_type)


# ------------------------------------------------------------------------------------------ the blocks
def _calls_interface(module: nn.Module) -> bool:
    try:
        return "ALL_ATTENTION_FUNCTIONS" in inspect.getsource(type(module).forward)
    except (OSError, TypeError):
        return False


def find_layers(model: nn.Module, n_layers: int) -> tuple[str, nn.ModuleList]:
    """The dotted path and the ModuleList of the model's ``n_layers`` blocks, each holding one attention."""
    name = type(model).__name__
    hybrid = None
    for path, module in model.named_modules():
        if isinstance(module, nn.ModuleList) and len(module) == n_layers:
            attending = sum(find_attention(block) is not None for block in module)
            if attending == n_layers:
                return path, module
            if attending:
                hybrid = attending
    if hybrid:
        raise UnsupportedModel("model.hybrid", name=name, attending=hybrid, blocks=n_layers)
    if any(_calls_interface(module) for module in model.modules()):
        raise UnsupportedModel("model.wrapped_attention", name=name)
    raise UnsupportedModel("model.no_blocks", name=name, blocks=n_layers)


def find_attention(block: nn.Module) -> str | None:
    """The name of the block's child whose forward calls the attention interface (its self-attention)."""
    found = [name for name, child in block.named_children() if _calls_interface(child)]
    return found[0] if found else None


def _first_tensor(value):
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], torch.Tensor):
        return value[0]
    return None


@dataclass(frozen=True)
class MidLayer:
    """Where hook_resid_mid is read: ``child``'s input (or its output, ``output``), or None for a parallel block."""

    child: str | None
    output: bool = False


def find_mid_layer(model: nn.Module, block: nn.Module, attention: str, run) -> MidLayer:
    """Probe the first block twice: plainly, and with its attention's output doubled. The residual after the
    attention is the input of the first child called after the attention whose input moves with that output and
    is not that output itself (a norm or dropout applied to the attention's output reads the branch, not the
    stream). A post-norm block (no child before its attention) continues with its norm's output instead. A block
    where no later child moves is parallel: attention and feed-forward read the same input.

    ``run()`` runs the model once on a few tokens (the adapter's own forward, without recording)."""
    calls: list[list[tuple[str, torch.Tensor | None, torch.Tensor | None]]] = [[], []]
    attention_module = getattr(block, attention)
    probe = {"round": 0}
    handles = []

    def record(name):
        def hook(module, args, kwargs, output):
            hidden = _first_tensor(args) if args else _first_tensor(kwargs.get("hidden_states"))
            calls[probe["round"]].append((name, hidden, _first_tensor(output)))

        return hook

    def double(module, args, output):
        if probe["round"] == 1:
            first = _first_tensor(output)
            return (first * 2, *output[1:]) if isinstance(output, tuple) else first * 2
        return None

    handles.append(attention_module.register_forward_hook(double))
    for name, child in block.named_children():
        handles.append(child.register_forward_hook(record(name), with_kwargs=True))
    try:
        with torch.inference_mode():
            for probe["round"] in (0, 1):
                run()
    finally:
        for handle in handles:
            handle.remove()
    plain, doubled = calls
    names = [name for name, _, _ in plain]
    if attention not in names or len(plain) != len(doubled):
        raise UnsupportedModel("model.probe_silent", name=type(model).__name__)
    at = names.index(attention)
    attention_out = plain[at][2]
    post_norm = at == 0
    for (name, before, output), (_, after, _) in zip(plain[at + 1 :], doubled[at + 1 :]):
        if before is None or after is None or before.shape != after.shape:
            continue
        if torch.equal(before, after) or (
            attention_out is not None and before.shape == attention_out.shape and torch.equal(before, attention_out)
        ):
            continue
        if post_norm and "norm" in type(getattr(block, name)).__name__.lower():
            return MidLayer(name, output=True)
        return MidLayer(name)
    return MidLayer(None)


# ------------------------------------------------------------------------------------------ encoder-decoders
# Recorded by hf_encdec (the Encoder-decoder page), each family's paths written out: two families, no discovery.
@dataclass(frozen=True)
class EncoderDecoderFamily:
    model_class: str  # the transformers class loaded (with its language-model head)
    encoder_layers: str  # dotted path from the loaded model to the encoder's layers
    decoder_layers: str
    self_attention: str  # dotted path inside a layer to its self-attention (encoder and decoder alike)
    cross_attention: str  # inside a decoder layer: its cross-attention


ENCODER_DECODER: dict[str, EncoderDecoderFamily] = {
    "t5": EncoderDecoderFamily(
        "T5ForConditionalGeneration",
        "encoder.block",
        "decoder.block",
        "layer.0.SelfAttention",
        "layer.1.EncDecAttention",
    ),
    "bart": EncoderDecoderFamily(
        "BartForConditionalGeneration", "model.encoder.layers", "model.decoder.layers", "self_attn", "encoder_attn"
    ),
}
