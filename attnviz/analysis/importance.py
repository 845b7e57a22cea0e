"""Head importance by ablation: switch attention heads off in the model's real forward and measure what changes.

A head's whole contribution to the residual stream is its ``z`` (``blocks.{l}.attn.hook_z``, (batch, heads, seq,
d_head), ``pattern @ v``) times its rows of W_O. Every family passes ``z`` through that hook point right before the
output projection, so editing it there (:func:`attnviz.hooks.editing`) removes the head from everything downstream
and nothing upstream: the layer's own pattern and every earlier layer are untouched.

Two ablations (:func:`ablate`):

* ``"zero"``: the head's z is 0 at every query;
* ``"mean"``: the head's z at query i is the mean of its CLEAN z over the positions i may attend to in that layer
  (its recorded mask: the model's own causal mask and windows, the user's MaskSpec; padding never counts). For an encoder without a mask that is the sentence's mean over its real tokens
  at every position (TransformerLens's mean over positions); under a causal mask it is the mean over positions 0..i.
  Why not the whole sentence's mean there: it would hand position i a summary of the tokens its mask hides, for a
  language model the very next token its loss is about. Why clean: the replacement is a property of the unablated
  model, so when heads of several layers are ablated together, the earlier ablations do not change a later head's
  replacement (:func:`head_means`; for one layer, clean and same-forward means are the same numbers).

What changes (:func:`ablation_effect`): for a language model the loss of every next-token prediction and the top-k
predictions; for an encoder the cosine of the sentence embedding (mean pooling over the real tokens, as
sentence-transformers' all-MiniLM-L6-v2 pools) to the clean one; for both, how much every later layer's attention
maps moved. :func:`rank_heads` ablates every head alone and sorts them by effect, several ablated copies of the
sentence per forward (one head per batch row).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from ..hooks import Edit, editing, recording
from ..masks import MaskSpec
from ..models.base import AttentionModel, Encoding, hook_name

HOW = ("zero", "mean")
# A full ranking is one forward per head: beyond this many heads a page should say it will take a while.
SLOW_ABLATIONS = 200
# Batched ranking: how many tokens (copies x sentence length) one forward may hold, and how many bytes of output
# (a decoder's logits are batch x seq x vocab floats). Measured on MiniLM, 2 CPU threads (benchmarks/
# head_importance.py): the gain is the per-forward overhead shared out, flat beyond ~8 copies at 20 tokens (about
# 2.3-2.5x faster than one forward per head); at 128 tokens the forward is compute-bound and 4-8 copies gain little
# (1.0-1.3x), all 72 copies lose. The numbers are the same either way (rows of a batch do not interact; bitwise
# equal there).
BATCH_TOKENS = 1024
BATCH_OUTPUT_BYTES = 256 * 2**20

HeadSet = Mapping[int, Iterable[int]] | Iterable[tuple[int, int]]


def normalize_heads(heads: HeadSet) -> dict[int, list[int]]:
    """{layer: [head, ...]} (sorted, no repeats) from that form or from (layer, head) pairs."""
    pairs = ((layer, head) for layer, hs in heads.items() for head in hs) if isinstance(heads, Mapping) else heads
    out: dict[int, set[int]] = {}
    for layer, head in pairs:
        out.setdefault(int(layer), set()).add(int(head))
    return {layer: sorted(hs) for layer, hs in sorted(out.items()) if hs}


# ------------------------------------------------------------------------------------------------ the edits
def allowed_mean(z: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Each query's mean of ``z`` over the keys its mask allows: (batch, heads, seq, d_head).

    z: (batch, heads, seq, d_head); mask: (batch, seq, seq) or (batch, heads, seq, seq) bool, True = may attend (the
    layer's ``hook_mask``, padding included). A query allowed no key gets 0.
    """
    weights = mask.to(z.dtype)
    weights = weights / weights.sum(-1, keepdim=True).clamp(min=1)  # uniform attention over the allowed keys
    if weights.dim() == 3:
        return torch.einsum("bts,bhsd->bhtd", weights, z)
    return torch.einsum("bhts,bhsd->bhtd", weights, z)


def head_means(
    model, encoding: Encoding, spec: MaskSpec = MaskSpec(), layers: Iterable[int] | None = None, **options
) -> dict[int, torch.Tensor]:
    """One clean forward: {layer: (batch, heads, seq, d_head)} replacement values for ``ablate(..., how="mean")``."""
    layers = range(model.n_layers) if layers is None else sorted(set(layers))
    names = [hook_name(n, layer) for layer in layers for n in ("z", "mask")]
    _, recorded = _forward(model, encoding, spec, record=names, options=options)
    return {
        layer: allowed_mean(recorded[hook_name("z", layer)], recorded[hook_name("mask", layer)]) for layer in layers
    }


def _replace_heads(
    z: torch.Tensor, rows: torch.Tensor | None, heads: torch.Tensor, how: str, means: torch.Tensor | None
) -> torch.Tensor:
    """z (batch, heads, seq, d) with head ``heads[i]`` of batch row ``rows[i]`` ablated (rows None: those heads in
    every row). A new tensor: the model's own is never changed in place."""
    z = z.clone()
    assert how == "zero" or means is not None, "mean ablation needs the clean means"
    if rows is None:
        z[:, heads] = 0.0 if means is None else means[:, heads].to(z.dtype)  # means (batch or 1, heads, seq, d)
    else:
        z[rows, heads] = 0.0 if means is None else means[0, heads].to(z.dtype)  # (n, seq, d): the clean sentence's
    return z


def ablate(heads: HeadSet, how: str = "zero", *, means: Mapping[int, torch.Tensor] | None = None) -> dict[str, Edit]:
    """The edits ablating ``heads`` ({layer: [head, ...]} or [(layer, head), ...]), for :func:`attnviz.hooks.editing`:

        with editing(ablate({3: [0, 5]})):
            captures = run_capture(model, [text], spec)      # the ablated forward, recorded

    ``how="mean"`` needs ``means`` from :func:`head_means` on the same text and mask (the clean forward's values).
    """
    if how not in HOW:
        raise ValueError(f"how must be one of {HOW} (got {how!r})")
    heads = normalize_heads(heads)
    if how == "mean":
        missing = [layer for layer in heads if means is None or layer not in means]
        if missing:
            raise ValueError(
                f"mean ablation needs the clean means of layers {missing}: head_means(model, encoding, spec)"
            )
    edits: dict[str, Edit] = {}
    for layer, hs in heads.items():
        index = torch.tensor(hs, dtype=torch.long)
        layer_means = means[layer] if how == "mean" and means is not None else None

        def edit(z, index=index, layer_means=layer_means):
            return _replace_heads(z, None, index.to(z.device), how, layer_means)

        edits[hook_name("z", layer)] = edit
    return edits


def _row_ablations(
    assignment: list[tuple[int, int]], how: str, means: Mapping[int, torch.Tensor] | None
) -> dict[str, Edit]:
    """Edits for a batch of copies of one sentence where row r ablates head ``assignment[r]`` = (layer, head) alone."""
    by_layer: dict[int, tuple[list[int], list[int]]] = {}
    for row, (layer, head) in enumerate(assignment):
        rows, heads = by_layer.setdefault(layer, ([], []))
        rows.append(row)
        heads.append(head)
    edits: dict[str, Edit] = {}
    for layer, (rows, heads) in by_layer.items():
        row_index, head_index = torch.tensor(rows), torch.tensor(heads)
        layer_means = means[layer] if how == "mean" and means is not None else None

        def edit(z, row_index=row_index, head_index=head_index, layer_means=layer_means):
            return _replace_heads(z, row_index.to(z.device), head_index.to(z.device), how, layer_means)

        edits[hook_name("z", layer)] = edit
    return edits


# ------------------------------------------------------------------------------------------------ running
def _forward(
    model: AttentionModel,
    encoding: Encoding,
    spec: MaskSpec,
    *,
    edits: Mapping[str, Edit] | None = None,
    record: Iterable[str] = (),
    options: Mapping | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """One forward under ``edits``, the hook points named in ``record`` kept (after the edits)."""
    with torch.inference_mode(), editing(edits or {}), recording(tuple(record)) as recorder:
        output = model(encoding, spec, **(options or {}))
    return output, recorder.tensors


def _check_kind(model: AttentionModel) -> None:
    if model.kind not in ("encoder", "decoder"):
        raise ValueError(f"{model.name}: head ablation runs on encoders and decoders, not on a {model.kind} model")


def _single_text(model: AttentionModel, text: str) -> Encoding:
    encoding = model.encode([text])
    if int(encoding.key_is_real[0].sum()) < (2 if model.kind == "decoder" else 1):
        raise ValueError("a language model needs at least two tokens to predict one from the other")
    return encoding


def _repeat(encoding: Encoding, copies: int) -> Encoding:
    """``copies`` rows of a one-text encoding (for a batched forward: rows do not interact)."""
    return replace(
        encoding,
        input_ids=encoding.input_ids.repeat(copies, 1),
        key_is_real=encoding.key_is_real.repeat(copies, 1),
        token_type_ids=encoding.token_type_ids.repeat(copies, 1),
        tokens=encoding.tokens * copies,
        special=encoding.special * copies,
        truncated=encoding.truncated * copies,
        full_lengths=encoding.full_lengths * copies,
        pieces=None if encoding.pieces is None else encoding.pieces * copies,
    )


def token_losses(logits: torch.Tensor, ids: torch.Tensor, n_real: int) -> torch.Tensor:
    """Cross-entropy (nats) of each next-token prediction: (batch, n_real - 1), entry i = position i predicting
    token i+1. logits (batch, seq, vocab); ids (seq,) the one text's tokens."""
    batch = logits.shape[0]
    predicted = logits[:, : n_real - 1].float().reshape(batch * (n_real - 1), -1)
    targets = ids[1:n_real].to(logits.device).repeat(batch)
    return F.cross_entropy(predicted, targets, reduction="none").view(batch, n_real - 1)


def pooled_embedding(hidden: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Sentence embedding: the mean of the last hidden state over the real tokens ([CLS] and [SEP] included, padding
    not), as sentence-transformers pools all-MiniLM-L6-v2. hidden (batch, seq, d); real (batch or 1, seq) -> (batch, d)
    in float64, so that 1 - cosine of two close embeddings keeps its digits."""
    weights = real.to(hidden.device, torch.float64)[..., None]
    return (hidden.double() * weights).sum(1) / weights.sum(1)


# ------------------------------------------------------------------------------------------------ one ablation
@dataclass
class TopK:
    """The k most probable next tokens at each listed position: (positions, k) arrays, most probable first."""

    ids: np.ndarray  # int64
    tokens: np.ndarray  # str, each as the model's token_label shows it
    probs: np.ndarray  # float32


@dataclass
class AblationEffect:
    """What ablating ``heads`` changed on one text under ``spec``."""

    model_name: str
    tokens: list[str]  # (seq,)
    heads: dict[int, list[int]]
    how: str
    spec: MaskSpec
    # mean and max |pattern_ablated - pattern_clean| of every (layer, head) over real queries and keys: 0 up to and
    # including the first ablated layer (its pattern is computed before its z), by construction
    pattern_change_mean: np.ndarray  # (layers, heads)
    pattern_change_max: np.ndarray  # (layers, heads)


@dataclass
class LanguageModelEffect(AblationEffect):
    loss_clean: np.ndarray  # (seq - 1,) nats: entry i is position i predicting token i+1
    loss_ablated: np.ndarray  # (seq - 1,)
    positions: np.ndarray  # (P,) the positions whose top-k predictions are listed
    top_clean: TopK
    top_ablated: TopK

    @property
    def mean_loss_clean(self) -> float:
        return float(self.loss_clean.mean())

    @property
    def mean_loss_ablated(self) -> float:
        return float(self.loss_ablated.mean())

    @property
    def effect(self) -> float:
        """The ranking's score: increase of the mean next-token loss (nats)."""
        return float(self.loss_ablated.astype(np.float64).mean() - self.loss_clean.astype(np.float64).mean())


@dataclass
class EncoderEffect(AblationEffect):
    cosine: float  # of the ablated sentence embedding to the clean one
    token_cosine: np.ndarray  # (seq,) of each token's last hidden state to its clean one

    @property
    def effect(self) -> float:
        """The ranking's score: 1 - cosine of the sentence embeddings."""
        return 1.0 - self.cosine


def _top_k(model: AttentionModel, logits: torch.Tensor, k: int) -> TopK:
    """logits (P, vocab) -> the k most probable tokens of each row."""
    probs = torch.softmax(logits.float(), dim=-1)
    values, ids = probs.topk(min(k, probs.shape[-1]), dim=-1)
    ids_np = ids.cpu().numpy().astype(np.int64)
    tokens = np.array([[model.token_label(i) for i in row] for row in ids_np], dtype=str).reshape(ids_np.shape)
    return TopK(ids_np, tokens, values.cpu().numpy().astype(np.float32))


def _pattern_changes(
    model: AttentionModel,
    clean: Mapping[str, torch.Tensor],
    ablated: Mapping[str, torch.Tensor],
    layers: Iterable[int],
    real: torch.Tensor,
) -> tuple[np.ndarray, np.ndarray]:
    """(layers, heads) mean and max |Δpattern| over real query rows and real keys, for the recorded ``layers``."""
    mean = np.zeros((model.n_layers, model.n_heads), np.float32)
    top = np.zeros((model.n_layers, model.n_heads), np.float32)
    keep = real.to(torch.bool)
    for layer in layers:
        name = hook_name("pattern", layer)
        change = (ablated[name][0].float() - clean[name][0].float()).abs()[:, keep][:, :, keep]  # (heads, n, n)
        mean[layer] = change.mean(dim=(1, 2)).cpu().numpy()
        top[layer] = change.amax(dim=(1, 2)).cpu().numpy()
    return mean, top


def ablation_effect(
    model: AttentionModel,
    text: str,
    spec: MaskSpec,
    heads: HeadSet,
    how: str = "zero",
    *,
    top_k: int = 5,
    position: int | None = None,
    pattern_changes: bool = True,
    **options,
) -> AblationEffect:
    """Run ``text`` clean and with ``heads`` ablated (both under ``spec``; ``options`` go to the forward, as in
    ``run_capture``) and return what changed: a :class:`LanguageModelEffect` for a decoder (losses, top-k next tokens
    at every position, or only at ``position``), an :class:`EncoderEffect` for an encoder.

    ``pattern_changes``: also record the maps of the layers after the first ablated one (two runs' worth of
    (heads, seq, seq) maps for those layers) and report how far they moved.
    """
    _check_kind(model)
    heads = normalize_heads(heads)
    encoding = _single_text(model, text)
    real = encoding.key_is_real[0]
    n_real = int(real.sum())
    later = (
        [layer for layer in range(min(heads, default=model.n_layers) + 1, model.n_layers)] if pattern_changes else []
    )
    maps = [hook_name("pattern", layer) for layer in later]
    means_from = [hook_name(n, layer) for layer in heads for n in ("z", "mask")] if how == "mean" else []
    # Both runs record the same points, so both take the same computation path (a recorded map is computed whole,
    # an unrecorded one in blocks): any difference between them is the ablation's.
    record = maps + means_from
    clean_out, clean = _forward(model, encoding, spec, record=record, options=options)
    means = (
        {layer: allowed_mean(clean[hook_name("z", layer)], clean[hook_name("mask", layer)]) for layer in heads}
        if how == "mean"
        else None
    )
    ablated_out, ablated = _forward(
        model, encoding, spec, edits=ablate(heads, how, means=means), record=record, options=options
    )
    change_mean, change_max = _pattern_changes(model, clean, ablated, later, real)
    common: dict[str, Any] = dict(
        model_name=model.name,
        tokens=list(encoding.tokens[0]),
        heads=heads,
        how=how,
        spec=spec,
        pattern_change_mean=change_mean,
        pattern_change_max=change_max,
    )
    if model.kind == "decoder":
        ids = encoding.input_ids[0]
        losses = token_losses(torch.cat([clean_out, ablated_out]), ids, n_real).cpu().numpy()  # (2, n_real - 1)
        positions = np.arange(n_real) if position is None else np.array([range(n_real)[position]])
        rows = torch.as_tensor(positions, device=clean_out.device)
        return LanguageModelEffect(
            **common,
            loss_clean=losses[0],
            loss_ablated=losses[1],
            positions=positions,
            top_clean=_top_k(model, clean_out[0, rows], top_k),
            top_ablated=_top_k(model, ablated_out[0, rows], top_k),
        )
    embeddings = pooled_embedding(torch.cat([clean_out, ablated_out]), real[None])  # (2, d)
    token_cosine = F.cosine_similarity(clean_out[0].double(), ablated_out[0].double(), dim=-1)  # (seq,)
    return EncoderEffect(
        **common,
        cosine=float(F.cosine_similarity(embeddings[0], embeddings[1], dim=0)),
        token_cosine=token_cosine.cpu().numpy(),
    )


# ------------------------------------------------------------------------------------------------ ranking
def n_forwards_estimate(model: AttentionModel) -> int:
    """Sentence forwards a full ranking runs: one clean, one per head (batching packs several into one call, but
    the arithmetic stays)."""
    return model.n_layers * model.n_heads + 1


def ranking_is_slow(model: AttentionModel) -> bool:
    """The rule a page uses to warn before ranking: more than :data:`SLOW_ABLATIONS` heads to ablate one by one."""
    return model.n_layers * model.n_heads > SLOW_ABLATIONS


def ranking_batch_size(n_tokens: int, output_bytes_per_copy: int, n_ablations: int) -> int:
    """Copies of the sentence per forward: bounded by :data:`BATCH_TOKENS` tokens and :data:`BATCH_OUTPUT_BYTES`
    of output (a decoder's logits), at least one, and then evened out (72 heads at most 46 a forward: 2 x 36, not
    46 + 26)."""
    by_tokens = BATCH_TOKENS // max(1, n_tokens)
    by_output = BATCH_OUTPUT_BYTES // max(1, output_bytes_per_copy)
    most = max(1, min(n_ablations, by_tokens, by_output))
    n_batches = -(-n_ablations // most)
    return max(1, -(-n_ablations // n_batches))


def rank_heads(
    model: AttentionModel,
    text: str,
    spec: MaskSpec = MaskSpec(),
    how: str = "zero",
    progress: Callable[[int, int], None] | None = None,
    *,
    batch_size: int | None = None,
    **options,
) -> pd.DataFrame:
    """Ablate every head alone and sort the heads by effect (largest first): a language model's increase of mean
    next-token loss (nats), an encoder's 1 - cosine of the sentence embedding.

    Columns: layer, head, effect, and ``loss`` (the ablated mean loss, decoders) or ``cosine`` (encoders).
    ``attrs``: ``forwards`` (model calls run, the clean one included), ``ablations`` (layers x heads),
    ``batch_size``, ``metric``, ``clean_loss`` (decoders), ``how``, ``seconds``.
    ``progress(done, total)`` is called after every forward with the ablations done so far.
    ``batch_size``: copies of the sentence per forward, each row ablating its own head (1: one forward per head;
    None: :func:`ranking_batch_size`). Rows of a batch do not interact, so the numbers are those of single runs.
    """
    _check_kind(model)
    if how not in HOW:
        raise ValueError(f"how must be one of {HOW} (got {how!r})")
    start = time.perf_counter()
    encoding = _single_text(model, text)
    real = encoding.key_is_real[0]
    n_real = int(real.sum())
    ids = encoding.input_ids[0]
    lm = model.kind == "decoder"
    means_from = (
        [hook_name(n, layer) for layer in range(model.n_layers) for n in ("z", "mask")] if how == "mean" else []
    )
    clean_out, clean = _forward(model, encoding, spec, record=means_from, options=options)
    means = (
        {
            layer: allowed_mean(clean[hook_name("z", layer)], clean[hook_name("mask", layer)])
            for layer in range(model.n_layers)
        }
        if how == "mean"
        else None
    )
    del clean  # the recorded z and masks are no longer needed once reduced to the means
    if lm:
        clean_score = float(token_losses(clean_out, ids, n_real).double().mean())
    else:
        clean_embedding = pooled_embedding(clean_out, real[None])  # (1, d)

    assignment = [(layer, head) for layer in range(model.n_layers) for head in range(model.n_heads)]
    total = len(assignment)
    rows = batch_size or ranking_batch_size(
        encoding.input_ids.shape[1], clean_out[0].numel() * clean_out.element_size(), total
    )
    scores = np.empty(total, np.float64)  # the ablated mean loss, or the cosine
    forwards = 1
    if progress is not None:
        progress(0, total)
    for first in range(0, total, rows):
        chunk = assignment[first : first + rows]
        out, _ = _forward(
            model, _repeat(encoding, len(chunk)), spec, edits=_row_ablations(chunk, how, means), options=options
        )
        forwards += 1
        if lm:
            scores[first : first + len(chunk)] = token_losses(out, ids, n_real).double().mean(1).cpu().numpy()
        else:
            embeddings = pooled_embedding(out, real[None])  # (rows, d)
            scores[first : first + len(chunk)] = F.cosine_similarity(embeddings, clean_embedding, dim=-1).cpu().numpy()
        if progress is not None:
            progress(first + len(chunk), total)

    layers, heads = np.array(assignment, dtype=np.int64).T
    if lm:
        table = pd.DataFrame({"layer": layers, "head": heads, "effect": scores - clean_score, "loss": scores})
    else:
        table = pd.DataFrame({"layer": layers, "head": heads, "effect": 1.0 - scores, "cosine": scores})
    table = table.sort_values("effect", ascending=False, kind="stable").reset_index(drop=True)
    table.attrs.update(
        forwards=forwards,
        ablations=total,
        batch_size=rows,
        how=how,
        metric="loss increase (nats)" if lm else "1 - cosine",
        seconds=time.perf_counter() - start,
    )
    if lm:
        table.attrs["clean_loss"] = clean_score
    return table


__all__ = [
    "HOW",
    "SLOW_ABLATIONS",
    "AblationEffect",
    "EncoderEffect",
    "LanguageModelEffect",
    "TopK",
    "ablate",
    "ablation_effect",
    "allowed_mean",
    "head_means",
    "n_forwards_estimate",
    "normalize_heads",
    "pooled_embedding",
    "rank_heads",
    "ranking_batch_size",
    "ranking_is_slow",
    "token_losses",
]
