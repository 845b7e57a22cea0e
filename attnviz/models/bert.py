"""BERT-family encoders (BERT, MiniLM, RoBERTa, ...) with every attention intermediate exposed.

The weights, embeddings, feed-forward blocks and tokenizer are Hugging Face's own; only the
self-attention is written out here, so that each step of the math passes a named hook point:

    q, k, v  = split_heads(x @ W_Q), ...          # (batch, heads, seq, d_head)
    scores   = q @ kᵀ / sqrt(d_head)              # (batch, heads, seq, seq)   hook_scores
    pattern  = softmax(scores where mask else -inf)                         # hook_pattern
    z        = pattern @ v                        # (batch, heads, seq, d_head) hook_z
    out      = concat_heads(z) @ W_O, residual, LayerNorm  (Hugging Face's BertSelfOutput)

With no mask option the pattern equals Hugging Face's ``output_attentions`` (tested).
"""

from __future__ import annotations

import math
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ..hooks import HookPoint
from ..masks import MaskSpec, attention_mask, score_function
from ..recorded_attention import LayerHooks, recorded_attention
from ..text import token_style
from .base import (
    ATTENTION_HOOKS,
    RESIDUAL_HOOKS,
    AttentionModel,
    AttentionWeights,
    Encoding,
    FolderFormat,
    Notice,
    encode_texts,
    hook_name,
    mask_notices,
    unknown_token_notices,
    model_type,
)


def _is_bert_family(hf_model: nn.Module) -> bool:
    layers = getattr(getattr(hf_model, "encoder", None), "layer", None)
    if not layers:
        return False
    first = layers[0]
    self_attn = getattr(getattr(first, "attention", None), "self", None)
    self_output = getattr(getattr(first, "attention", None), "output", None)
    return (
        all(hasattr(self_attn, name) for name in ("query", "key", "value"))
        and all(hasattr(self_output, name) for name in ("dense", "dropout", "LayerNorm"))
        and all(hasattr(first, name) for name in ("intermediate", "output"))
    )


class BertFamilyModel(nn.Module, AttentionModel):
    """A Hugging Face BERT-family encoder run through attnviz's explicit attention."""

    kind = "encoder"

    # hf_model: a transformers PreTrainedModel (BertModel, RobertaModel ...)
    def __init__(self, hf_model: Any, tokenizer, name: str):
        super().__init__()
        if not _is_bert_family(hf_model):
            raise ValueError(
                f"{name}: not a BERT-family encoder (expected encoder.layer[i].attention.self.query/key/value)"
            )
        self.hf = hf_model.eval()
        self.tokenizer = tokenizer
        self.name = name
        config = hf_model.config
        self.n_layers: int = config.num_hidden_layers
        self.n_heads: int = config.num_attention_heads
        self.d_model: int = config.hidden_size
        self.d_head: int = self.d_model // self.n_heads
        self.scale = 1.0 / math.sqrt(self.d_head)
        position_limit = getattr(config, "max_position_embeddings", 512)
        # RoBERTa reserves the first positions for padding, so its usable length is shorter.
        position_offset = (
            (config.pad_token_id + 1) if config.model_type in ("roberta", "xlm-roberta", "camembert") else 0
        )
        self.max_tokens = min(position_limit - position_offset, tokenizer.model_max_length or 10**9)
        self.n_kv_heads = self.n_heads  # every head has its own K and V
        self.rope_base = None  # learned absolute positions, added to the embeddings
        self.special_tokens = frozenset(tokenizer.all_special_tokens)
        self.token_style = token_style(tokenizer)  # how its vocabulary writes spaces and word pieces
        self.hook_points = nn.ModuleDict()
        self._add_hook(hook_name("embed"))
        for layer in range(self.n_layers):
            for hook in (*ATTENTION_HOOKS, *RESIDUAL_HOOKS, "lse", "score_scale"):
                self._add_hook(hook_name(hook, layer))
        self._attention_hooks = [  # each layer's, as the attention kernel passes through them
            LayerHooks(  # type: ignore[misc]  # the starred 7 fill q ... z
                *(self.hook(hook_name(name, layer)) for name in ATTENTION_HOOKS[:7]),  # q, k, v, scores, mask ... z
                sink=HookPoint(hook_name("sink", layer)),  # no sink logits: never reached, never listed
                lse=self.hook(hook_name("lse", layer)),
                score_scale=self.hook(hook_name("score_scale", layer)),
            )
            for layer in range(self.n_layers)
        ]

    def _add_hook(self, name: str) -> None:
        # ModuleDict keys may not contain dots; the HookPoint keeps the dotted name.
        self.hook_points[name.replace(".", "__")] = HookPoint(name)

    def hook(self, name: str) -> HookPoint:
        return cast(HookPoint, self.hook_points[name.replace(".", "__")])  # _add_hook puts only HookPoints there

    def kv_head_of(self, head: int) -> int:
        return head

    def notices(self, text: str, spec: MaskSpec) -> list[Notice]:
        return unknown_token_notices(self.tokenizer, self.name, text) + mask_notices(self, spec)

    def attention_weights(self, layer: int) -> AttentionWeights:
        attn, out = self.hf.encoder.layer[layer].attention.self, self.hf.encoder.layer[layer].attention.output
        return AttentionWeights.from_linear(
            attn.query.weight,
            attn.key.weight,
            attn.value.weight,
            out.dense.weight,
            n_heads=self.n_heads,
            n_kv_heads=self.n_heads,
            biases=(attn.query.bias, attn.key.bias, attn.value.bias, out.dense.bias),
        )

    def embedding_parts(self, token_ids: np.ndarray) -> dict[str, np.ndarray]:
        """Word + position + type rows of the tokens (BERT adds the three, then a LayerNorm gives hook_embed);
        every token is of type 0, as a single sentence is."""
        emb = self.hf.embeddings
        seq = len(token_ids)
        offset = 0
        if self.hf.config.model_type in ("roberta", "xlm-roberta", "camembert"):
            offset = self.hf.config.pad_token_id + 1  # RoBERTa counts positions after the padding index
        parts = {
            "word": emb.word_embeddings.weight.detach().cpu().numpy()[token_ids],
            "position": emb.position_embeddings.weight.detach().cpu().numpy()[offset : offset + seq],
        }
        if getattr(emb, "token_type_embeddings", None) is not None:
            parts["type"] = emb.token_type_embeddings.weight.detach().cpu().numpy()[np.zeros(seq, dtype=np.int64)]
        return parts

    @property
    def device(self) -> torch.device:
        return next(self.hf.parameters()).device

    # ----------------------------------------------------------------- tokenizing
    def encode(self, texts: list[str]) -> Encoding:
        return encode_texts(self.tokenizer, texts, self.max_tokens, token_types=True, style=self.token_style)

    # ----------------------------------------------------------------- forward
    def forward(self, encoding: Encoding, spec: MaskSpec = MaskSpec()) -> torch.Tensor:
        """Run the encoder under ``spec``; returns the last hidden state (batch, seq, d_model)."""
        device = self.device
        ids = encoding.input_ids.to(device)
        allowed = attention_mask(encoding.key_is_real.to(device), spec)  # (batch, seq, seq)
        hidden = self.hf.embeddings(input_ids=ids, token_type_ids=encoding.token_type_ids.to(device))
        hidden = self.hook("hook_embed")(hidden)  # (batch, seq, d_model)
        score_mod = score_function(spec, self.n_heads)  # ALiBi, soft-capping: None unless asked for
        for index, layer in enumerate(self.hf.encoder.layer):
            hidden = self._layer(index, layer, hidden, allowed, score_mod)
        return hidden

    def _layer(self, index: int, layer: Any, hidden: torch.Tensor, allowed: torch.Tensor, score_mod) -> torch.Tensor:
        # layer: one of Hugging Face's BertLayer-like blocks (attention.self/output, intermediate, output)
        def hook(name: str) -> HookPoint:
            return self.hook(hook_name(name, index))

        hidden = hook("attn_in")(hook("resid_pre")(hidden))  # post-norm: the attention reads the layer input
        batch, seq, _ = hidden.shape
        attn = layer.attention.self

        def split_heads(x: torch.Tensor) -> torch.Tensor:  # (batch, seq, d_model) -> (batch, heads, seq, d_head)
            return x.view(batch, seq, self.n_heads, self.d_head).transpose(1, 2)

        q, k, v = (split_heads(projection(hidden)) for projection in (attn.query, attn.key, attn.value))
        # allowed (batch, seq, seq) is the same for every head; the kernel records every step, or runs in blocks of
        # queries when nobody looks at a whole map (memory linear in seq)
        z, _ = recorded_attention(
            q, k, v, allowed[:, None], self._attention_hooks[index], scaling=self.scale, score_mod=score_mod
        )  # (batch, heads, seq, d_head)
        context = z.transpose(1, 2).reshape(batch, seq, self.d_model)  # concatenate the heads
        self_output = layer.attention.output  # Hugging Face's BertSelfOutput: dense, dropout, LayerNorm
        result = hook("result")(self_output.dense(context))  # all heads @ W_O + b_O
        attn_out = self_output.LayerNorm(self_output.dropout(result) + hidden)  # residual, LayerNorm
        attn_out = hook("resid_mid")(attn_out)
        out = layer.output(layer.intermediate(attn_out), attn_out)  # feed-forward, residual, LayerNorm
        return hook("resid_post")(out)


def load_bert_family(path_or_id: str, name: str | None = None, local_only: bool = True, device=None) -> BertFamilyModel:
    """Load a BERT-family encoder and its tokenizer from a directory (or, with a network, a hub id)."""
    from transformers import AutoModel, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    tokenizer = AutoTokenizer.from_pretrained(path_or_id, local_files_only=local_only)
    hf_model = AutoModel.from_pretrained(path_or_id, local_files_only=local_only, attn_implementation="eager")
    model = BertFamilyModel(hf_model, tokenizer, name or str(path_or_id))
    if device is not None:
        model.to(device)
    return model.eval()


# Encoders whose layers are BERT's (encoder.layer[i].attention.self.query/key/value): this adapter runs them.
BERT_FAMILY = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra", "ernie", "data2vec-text"})

FOLDER_FORMAT = FolderFormat(
    "bert",
    lambda path, config: model_type(config) in BERT_FAMILY,
    lambda config: "encoder",
    lambda path, config, name, device: load_bert_family(str(path), name=name, local_only=True, device=device),
)
