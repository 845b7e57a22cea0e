"""The contract every attnviz model keeps: what the pages, the CLI and the Python API may rely on.

A model is a ``torch.nn.Module`` that tokenizes (``encode``), runs a forward pass under a mask
(``forward(encoding, spec)``) and passes its intermediates through named ``HookPoint`` modules, so that
``attnviz.capture`` records any of them by name. Names follow TransformerLens and come from one helper,
:func:`hook_name`, never typed by hand:

    hook_name("pattern", 3)        -> "blocks.3.attn.hook_pattern"    (heads, seq, seq)
    hook_name("resid_post", 3)     -> "blocks.3.hook_resid_post"      (seq, d_model)
    hook_name("embed")             -> "hook_embed"                    (seq, d_model)

Shapes (per sentence, batch axis removed by the capture): q and z have ``n_heads`` heads; k and v have
``n_kv_heads`` (fewer than ``n_heads`` for grouped-query attention: query head h reads K/V head
``kv_head_of(h)``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import torch

from ..hooks import HookPoint
from ..masks import MaskSpec
from ..text import InputError, readable_token

Kind = Literal["encoder", "decoder", "encoder-decoder", "vision"]  # vision: an encoder over image patches

# hook_{name} inside blocks.{l}.attn: the attention's steps, in order
ATTENTION_HOOKS = ("q", "k", "v", "scores", "mask", "pattern", "z", "result")
# attention steps only some families have: DCMHA's composed scores and pre-compose softmax, attention sinks;
# DCMHA's compose weights are hook_pre_* / hook_post_* (pre- and post-softmax composition)
# hook_lse (heads, seq): each row's log-sum-exp of its allowed scores (the softmax's normaliser; with q, k and the mask
# rule it rebuilds any cell of the pattern exactly, attnviz.tiles); hook_score_scale (2,): the scaling and
# softcap (0 = none) that made q·k a score
EXTRA_ATTENTION_HOOKS = ("scores_composed", "probs", "sink", "lse", "score_scale")
# hook_{name} directly inside blocks.{l}: the residual stream around the attention; attn_in is what the attention's
# projections read (the layer input normalised, in pre-norm models; the layer input itself in BERT)
RESIDUAL_HOOKS = ("resid_pre", "attn_in", "resid_mid", "resid_post")  # what every adapter records around a layer
BLOCK_HOOKS = (*RESIDUAL_HOOKS, "attn_out", "mlp_out")  # and the sublayers' outputs, where a model records them


# Encoder-decoder models name each attention by where it sits: the encoder's self-attention, the decoder's masked
# self-attention, the decoder's cross-attention (queries from the decoder, keys and values from the encoder).
ATTENTION_PARTS = {
    "encoder": ("encoder", "attn"),
    "decoder_self": ("decoder", "self_attn"),
    "decoder_cross": ("decoder", "cross_attn"),
}


def hook_name(name: str, layer: int | str | None = None, part: str | None = None) -> str:
    """The one spelling of a hook point's name (TransformerLens's ``get_act_name``).

    ``name`` without its ``hook_`` prefix; attention steps get ``blocks.{layer}.attn.``, residual-stream points
    ``blocks.{layer}.``, and model-level points (``embed``, ``logits``) no prefix. In an encoder-decoder model
    ``part`` says which stack and which attention: ``hook_name("pattern", 1, "decoder_cross")`` is
    ``decoder.blocks.1.cross_attn.hook_pattern``; residual and model-level points take "encoder" or "decoder"
    (``decoder.blocks.1.hook_resid_mid``, ``encoder.hook_embed``). ``layer="*"`` names that point in every
    layer, as a recording filter (``blocks.*.attn.hook_pattern``).
    """
    name = name.removeprefix("hook_")
    stack, attention = ATTENTION_PARTS.get(part, (part, "attn")) if part is not None else (None, "attn")
    prefix = f"{stack}." if stack else ""
    if part is not None and stack not in ("encoder", "decoder"):
        raise ValueError(f"part must be one of {', '.join(ATTENTION_PARTS)}, 'encoder' or 'decoder' (got {part!r})")
    if layer is None:
        if name in ATTENTION_HOOKS or name in BLOCK_HOOKS:
            raise ValueError(f"hook_{name} belongs to a layer: hook_name({name!r}, layer)")
        return f"{prefix}hook_{name}"
    if name in ATTENTION_HOOKS or name in EXTRA_ATTENTION_HOOKS or name.startswith(("pre_", "post_")):
        return f"{prefix}blocks.{layer}.{attention}.hook_{name}"
    return f"{prefix}blocks.{layer}.hook_{name}"


@dataclass(frozen=True)
class FolderFormat:
    """A family file's one entry in the model registry (attnviz.models.FOLDER_FORMATS): which model folders it reads,
    their kind, and how to load one. ``config`` is the folder's config.json, read once by the registry."""

    name: str
    detect: Callable[[Path, dict], bool]  # (folder, config) -> does this family file read it?
    kind: Callable[[dict], Kind]  # the folder's kind from its config alone (the model menus ask before loading)
    load: Callable[[Path, dict, str, Any], AttentionModel]  # (folder, config, the model's name, device) -> the model


def model_type(config: dict) -> str | None:
    """config.json's ``model_type`` (transformers' family name), when it is a string."""
    value = config.get("model_type")
    return value if isinstance(value, str) else None


class CheckpointError(InputError):
    """A weights folder that does not hold the model its config describes (missing, mismatched or extra tensors)."""


@dataclass
class Encoding:
    """Tokenized input of one or more sentences, padded to one length (right padding)."""

    input_ids: torch.Tensor  # (batch, seq) long
    key_is_real: torch.Tensor  # (batch, seq) bool, False at padding
    token_type_ids: torch.Tensor  # (batch, seq) long
    tokens: list[list[str]]  # each token as the text it stands for (text.readable_token), padding included
    special: list[list[bool]]  # True at [CLS]/[SEP]/[PAD]-like tokens
    truncated: list[bool]  # the text had more tokens than the model accepts
    full_lengths: list[int]  # token count before truncation
    pieces: list[list[str]] | None = None  # the vocabulary's own strings ("Ġcat", "##ing"), where they differ
    offsets: list[list[tuple[int, int]]] | None = None  # each token's characters [a, b) in its text ((0, 0): special)
    pixel_values: torch.Tensor | None = None  # an image model's input (batch, channels, H, W); input_ids: positions


@dataclass
class Source:
    """What an encoder-decoder's encoder read, and what the decoder attends to (the model's own state, passed back to it)."""

    tokens: list[str]
    ids: list[int]
    special: list[bool]
    state: tuple  # e.g. (memory, which source positions are real)


def encode_texts(
    tokenizer, texts: list[str], max_tokens: int, *, token_types: bool = False, style: str = "plain"
) -> Encoding:
    """Tokenize ``texts`` with a Hugging Face tokenizer into one right-padded batch of at most ``max_tokens``.

    Special tokens are added as the model was trained with them; padding and special tokens are flagged in
    ``special``; each text's length before truncation is kept. ``token_types``: the tokenizer's segment ids
    (BERT), else zeros. ``style`` (:func:`attnviz.text.token_style`) turns the vocabulary's pieces into text.
    """
    full = tokenizer(texts, add_special_tokens=True, truncation=False)["input_ids"]
    batch = tokenizer(
        texts,
        add_special_tokens=True,
        truncation=True,
        max_length=max_tokens,
        padding=len(texts) > 1,
        return_tensors="pt",
        return_special_tokens_mask=True,
        return_attention_mask=True,
        return_token_type_ids=token_types,
        return_offsets_mapping=bool(getattr(tokenizer, "is_fast", False)),  # offsets need a fast tokenizer
    )
    ids = batch["input_ids"]
    real = batch["attention_mask"].bool()
    special = (batch["special_tokens_mask"].bool() | ~real).tolist()
    pieces = [tokenizer.convert_ids_to_tokens(row.tolist()) for row in ids]
    return Encoding(
        input_ids=ids,
        key_is_real=real,
        token_type_ids=batch["token_type_ids"] if token_types else torch.zeros_like(ids),
        tokens=[[readable_token(p, style, s) for p, s in zip(row, flags)] for row, flags in zip(pieces, special)],
        pieces=pieces,
        special=special,
        truncated=[len(f) > max_tokens for f in full],
        full_lengths=[len(f) for f in full],
        offsets=[[(int(a), int(b)) for a, b in row.tolist()] for row in batch["offset_mapping"]]
        if "offset_mapping" in batch
        else None,
    )


@dataclass
class AttentionWeights:
    """One layer's attention projections split by head, as the forward uses them on ``x`` (its ``hook_attn_in``):
    q_h = x @ w_q[h] + b_q[h]; k and v per K/V head (query head h reads K/V head ``kv_head_of(h)``); the
    attention's output is concat_h(z_h) @ w_o + b_o. Missing biases are zeros."""

    w_q: np.ndarray  # (n_heads, d_model, d_head)
    w_k: np.ndarray  # (n_kv_heads, d_model, d_head)
    w_v: np.ndarray  # (n_kv_heads, d_model, d_head)
    b_q: np.ndarray  # (n_heads, d_head)
    b_k: np.ndarray  # (n_kv_heads, d_head)
    b_v: np.ndarray  # (n_kv_heads, d_head)
    w_o: np.ndarray  # (n_heads * d_head, d_model)
    b_o: np.ndarray  # (d_model,)
    rotary: bool = False  # q and k are then rotated by their position (RoPE): hook_q/hook_k are after the rotation
    qk_norm: bool = False  # q and k are normalised per head before the rotation

    @classmethod
    def from_linear(
        cls,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        o: torch.Tensor,
        *,
        n_heads: int,
        n_kv_heads: int,
        biases=(None, None, None, None),
        **flags,
    ) -> AttentionWeights:
        """From torch ``nn.Linear``-layout weights (out, in): q (H*d, D), k and v (Hkv*d, D), o (D, H*d)."""

        def by_head(weight: torch.Tensor, heads: int) -> np.ndarray:  # (heads*d, D) -> (heads, D, d)
            w = weight.detach().float().cpu().numpy()
            return w.reshape(heads, -1, w.shape[1]).transpose(0, 2, 1).copy()

        def bias(value, heads: int, d: int) -> np.ndarray:
            return (
                np.zeros((heads, d), np.float32)
                if value is None
                else value.detach().float().cpu().numpy().reshape(heads, d)
            )

        w_q, w_k, w_v = by_head(q, n_heads), by_head(k, n_kv_heads), by_head(v, n_kv_heads)
        d = w_q.shape[2]
        b_o = biases[3]
        return cls(
            w_q,
            w_k,
            w_v,
            bias(biases[0], n_heads, d),
            bias(biases[1], n_kv_heads, d),
            bias(biases[2], n_kv_heads, d),
            o.detach().float().cpu().numpy().T.copy(),
            np.zeros(o.shape[0], np.float32) if b_o is None else b_o.detach().float().cpu().numpy(),
            **flags,
        )


@dataclass(frozen=True)
class Notice:
    """Something a page must tell the user about this model on this input: a text catalogue key and its values.

    ``level`` is "info" or "warning". A value that is a :class:`MaskSpec` is shown in the page's language; string
    values (a model name, characters of the user's text) are shown inert.
    """

    level: str
    key: str
    values: dict = field(default_factory=dict)


def unknown_token_notices(tokenizer, name: str, text: str) -> list[Notice]:
    """A warning naming the parts of ``text`` a Hugging Face tokenizer reads as its unknown token ([UNK], <unk>):
    MiniLM's vocabulary has no Chinese characters, so 狗追猫 became three [UNK] with nothing said."""
    unk = tokenizer.unk_token_id
    if unk is None or not getattr(tokenizer, "is_fast", False):  # offsets need a fast tokenizer (every shipped one)
        return []
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, truncation=False)
    parts = [text[a:b] for token, (a, b) in zip(encoded["input_ids"], encoded["offset_mapping"]) if token == unk]
    if not parts:
        return []
    shown = " ".join(dict.fromkeys(part for part in parts if part.strip()))
    return [Notice("warning", "msg.unknown_tokens", {"model": name, "unk": tokenizer.unk_token, "chars": shown})]


def windows_text(windows: list[int | None]) -> str:
    """Each layer's window for a sentence a student reads: its size, or ∞ for a layer that sees every earlier token
    (a list's ``None`` would print as the word None)."""
    return ", ".join("∞" if window is None else str(window) for window in windows)


def mask_notices(model: AttentionModel, spec: MaskSpec) -> list[Notice]:
    """What every page says about the mask: for an encoder trained to see everything, any rule or score
    modification is an intervention; a decoder's own windows, and whether the user's rules change them; a rule that
    changes nothing here (a prefix on a causal model, sinks with nothing to see through) is named as such."""
    notices = []
    if model.kind != "decoder":
        if spec.is_intervention:
            notices.append(Notice("warning", "msg.intervention", {"mask": spec}))
    else:
        windows = model.layer_windows(spec.window)
        trained, applied = windows_text(model.layer_windows(None)), windows_text(windows)
        # "∞" is explained only where a layer is global.
        note = "msg.decoder_note" if None in windows else "msg.decoder_note_windowed"
        notices.append(Notice("info", note, {"model": model.name, "windows": applied}))
        narrowed = spec.chunk is not None or spec.dilation is not None or bool(spec.documents)
        if narrowed or applied != trained or spec.modifies_scores:
            notices.append(
                Notice("warning", "msg.decoder_intervention", {"model": model.name, "trained": trained, "mask": spec})
            )
        elif spec.window is not None:
            notices.append(
                Notice(
                    "info", "msg.window_changes_nothing", {"w": spec.window, "model": model.name, "trained": trained}
                )
            )
        if spec.prefix is not None:
            notices.append(Notice("info", "msg.prefix_changes_nothing", {"model": model.name, "p": spec.prefix}))
    if spec.sinks is not None and (spec.window, spec.chunk, spec.dilation) == (None, None, None):
        notices.append(Notice("info", "msg.sinks_change_nothing", {"s": spec.sinks}))
    return notices


@runtime_checkable
class AttentionModel(Protocol):
    """What every model offers; the contract test (tests/models/test_model_contract.py) checks it for each family.

    Every adapter class subclasses this contract, so the optional abilities below come with their defaults (what a
    model without the ability does) and callers read them directly, never probing with ``getattr``.
    """

    name: str
    kind: Kind
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_model: int
    d_head: int
    max_tokens: int
    special_tokens: frozenset[str]  # for statistics and "hide special tokens"
    rope_base: float | None  # positions rotate q and k with this base (RoPE); None: position vectors are added

    def encode(self, texts: list[str]) -> Encoding: ...

    def forward(self, encoding: Encoding, spec: MaskSpec) -> torch.Tensor: ...

    def __call__(self, encoding: Encoding, spec: MaskSpec, **options: Any) -> torch.Tensor: ...  # nn.Module's: forward

    def hook(self, name: str) -> HookPoint: ...

    def kv_head_of(self, head: int) -> int: ...

    def attention_weights(self, layer: int) -> AttentionWeights: ...  # for Step by step

    def embedding_parts(self, token_ids: np.ndarray) -> dict[str, np.ndarray]: ...  # rows adding up to layer 0's input

    def notices(self, text: str, spec: MaskSpec) -> list[Notice]: ...  # what a page must tell the user

    # ------------------------------------------------------- optional abilities, with what a model without them does
    use_dcmha: bool = False  # heads composed across each other (DCMHA): hook_pre_*/hook_post_*, scores_composed, probs
    query_block: int | None = None  # the forward computes the maps in blocks of this many queries (not a mask)
    max_batch: int | None = None  # texts per forward at most (None: any number, right-padded to one length)
    never_generated: tuple[int, ...] = ()  # token ids that greedy generation never picks (a character model's <unk>)
    task: str | None = None  # a model trained for one task reads only its inputs ("dates": the date model)
    patch_grid: tuple[int, int, int] | None = None  # an image model's patches: (first patch, rows, cols); MaskSpec.grid

    def layer_windows(self, window: int | None = None) -> list[int | None]:
        """Each layer's sliding window (None: global) when the user asks for ``window``; a model without windows of
        its own applies the user's to every layer."""
        return [window] * self.n_layers

    def decode_step(self, ids: torch.Tensor, cache: Any = None) -> tuple[torch.Tensor, Any]:
        """A decoder's next-token step: feed ``ids`` (1, n) after what ``cache`` holds (None: nothing yet) and get
        (logits (1, n, vocab), the cache) back; Generation and Head importance's predictions use it."""
        raise TypeError(f"{self.name} is a {self.kind}: it does not predict the next token")

    def token_label(self, token_id: int) -> str:
        """A vocabulary entry as the text it stands for (a generated or predicted token's label)."""
        raise TypeError(f"{self.name} is a {self.kind}: it does not predict the next token")


@runtime_checkable
class EncoderDecoderModel(AttentionModel, Protocol):
    """An encoder-decoder (``kind == "encoder-decoder"``): the contract plus the steps it feeds the one greedy loop,
    :func:`attnviz.decoding.greedy_decode` (tensors in and out; the loop records and builds the captures)."""

    n_decoder_layers: int
    max_new_tokens: int  # the loop's default number of steps

    @property
    def start_id(self) -> int: ...  # the decoder's first input token

    @property
    def eos_id(self) -> int: ...  # the token that ends the answer

    def decoding(self) -> contextlib.AbstractContextManager: ...  # a context every step runs inside

    def read_source(self, text: str) -> Source: ...  # the encoder, run once over the tokenized text

    def decoder_logits(self, source: Source, ids: list[int]) -> torch.Tensor: ...  # (1, k, V) over the prefix ids

    def step_labels(self, ids: list[int]) -> tuple[list[str], list[bool]]: ...  # labels and special flags of ids

    def answer(self, ids: list[int]) -> str: ...  # the generated ids as the answer's text
