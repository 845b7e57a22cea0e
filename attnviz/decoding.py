"""The decoding loops, tensors in and steps out: one for decoders (each model feeds its own ``decode_step``), one for
encoder-decoders (each model feeds its encoder and decoder steps). The models know nothing of loops or captures.

Decoders: :func:`decode` reads the prompt once (prefill) and then feeds one token at a time through the model's
KV cache (``model.decode_step``), choosing each next token with :func:`next_token` (greedy, or sampled with a
temperature, a top-k and a seed), and records what ``record`` names at every feed. Generation's cache view
(:mod:`attnviz.analysis.generation`), the DCMHA page's continuation and ``attnviz generate`` all run it.

Encoder-decoders: greedy decoding, one recorded step at a time.

A model (the shipped date model, :class:`~attnviz.models.seq2seq.DateTranslator`, or a Hugging Face T5/BART,
:class:`~attnviz.models.hf_encdec.HFEncoderDecoder`) supplies its own steps, tensors in and out
(:class:`~attnviz.models.base.EncoderDecoderModel`):

    model.decoding()                      a context every step runs inside (the adapter's run state)
    model.read_source(text)               -> models.base.Source: the encoder run once (its hook points record)
    model.decoder_logits(source, ids)     -> (1, k, V) logits of the decoder over the prefix ``ids``
    model.step_labels(ids)                -> (labels, special flags) of those ids
    model.start_id, model.eos_id, model.max_new_tokens, model.answer(ids)

and :func:`greedy_decode` runs the loop: step k (1-based) reads ``[start, y_1 .. y_{k-1}]`` (k tokens) over the
whole prefix — no KV cache, so each step's capture holds its full maps — and picks ``y_k`` = argmax of the last
position's logits, until the end token or ``max_new`` steps. The models know nothing of captures; this module
turns each recorded pass into a :class:`~attnviz.capture.Capture`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .capture import Capture
from .hooks import recording, to_numpy
from .masks import MaskSpec
from .models.base import AttentionModel, EncoderDecoderModel


@dataclass
class DecodeStep:
    """One turn of the autoregressive loop."""

    capture: Capture  # the decoder's hook points at this step; its tokens are what it read (start, outputs so far)
    output_token: str  # the token chosen (argmax) at the last position
    output_id: int
    probs: np.ndarray  # (V,) softmax of the last position's logits

    @property
    def input_tokens(self) -> list[str]:
        return self.capture.tokens


@dataclass
class Decoding:
    """Everything the Encoder-decoder page draws for one source text: the encoder's capture and one per step."""

    source: str
    encoder: Capture  # the encoder's hook points; its tokens are the source's
    steps: list[DecodeStep]
    text: str  # the model's answer, special tokens removed
    eos_id: int  # the token that ends the answer

    @property
    def source_tokens(self) -> list[str]:
        return self.encoder.tokens

    @property
    def output_tokens(self) -> list[str]:
        return [s.output_token for s in self.steps]

    @property
    def finished(self) -> bool:
        return bool(self.steps) and self.steps[-1].output_id == self.eos_id


def step_capture(
    model_name: str,
    n_layers: int,
    n_heads: int,
    tensors: dict[str, torch.Tensor],
    tokens: list[str],
    ids: list[int],
    spec: MaskSpec,
    special: list[bool],
) -> Capture:
    """One recorded pass (the encoder, or one decoding step) as a Capture: batch item 0 of every tensor."""
    arrays = {name: to_numpy(t[0]) for name, t in tensors.items()}
    arrays["tokens"] = np.array(tokens, dtype=str)
    arrays["token_ids"] = np.array(ids, dtype=np.int64)
    return Capture(
        arrays,
        model_name=model_name,
        n_layers=n_layers,
        n_heads=n_heads,
        spec=spec,
        special=special,
        truncated=False,
        full_length=len(tokens),
    )


@torch.inference_mode()
def greedy_decode(model: EncoderDecoderModel, text: str, max_new: int | None = None, hooks=None) -> Decoding:
    """The model's own greedy answer to ``text``, the encoder and every decoding step recorded.

    ``hooks``: fnmatch patterns for :func:`~attnviz.hooks.recording` (None = every hook point); ``max_new``: at
    most this many steps (default: the model's ``max_new_tokens``)."""
    max_new = max_new or model.max_new_tokens
    with model.decoding():
        with recording(hooks) as rec:
            source = model.read_source(text)
        encoder = step_capture(
            model.name,
            model.n_layers,
            model.n_heads,
            rec.tensors,
            source.tokens,
            source.ids,
            MaskSpec(),
            source.special,
        )
        ids, steps = [int(model.start_id)], []
        for _ in range(max_new):
            with recording(hooks) as rec:
                logits = model.decoder_logits(source, ids)  # (1, k, V)
            probs = torch.softmax(logits[0, -1].float(), dim=-1)
            next_id = int(probs.argmax())
            labels, special = model.step_labels(ids)
            capture = step_capture(
                model.name,
                model.n_decoder_layers,
                model.n_heads,
                rec.tensors,
                labels,
                ids,
                MaskSpec(causal=True),
                special,
            )
            steps.append(DecodeStep(capture, model.step_labels([next_id])[0][0], next_id, probs.cpu().numpy()))
            ids.append(next_id)
            if next_id == model.eos_id:
                break
    return Decoding(text, encoder, steps, model.answer([s.output_id for s in steps]), int(model.eos_id))


# ------------------------------------------------------------------------------------------ decoders
def next_token(
    logits: torch.Tensor,
    *,
    never: tuple[int, ...] = (),
    temperature: float = 0.0,
    top_k: int | None = None,
    generator: torch.Generator | None = None,
) -> int:
    """The next token from the last position's ``logits`` (V,): the most probable one (temperature 0), or one sampled
    from softmax(logits / temperature) over the ``top_k`` most probable; never an id in ``never`` (a character
    model's <unk>)."""
    logits = logits.float().clone()
    if never:
        logits[list(never)] = float("-inf")
    if temperature <= 0:
        return int(torch.argmax(logits))
    logits = logits / temperature
    if top_k is not None and top_k > 0:
        kth = torch.topk(logits, min(top_k, logits.numel())).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator))


@dataclass
class DecoderStep:
    """One generated token: its id, the softmax it was chosen from, and what was recorded when it was fed."""

    token_id: int
    probs: np.ndarray  # (V,) softmax of the logits it was chosen from (before ``never``)
    recorded: dict[str, torch.Tensor]  # the hook points ``record`` names, as the model read the token (batch 1)


@torch.inference_mode()
def decode(
    model: AttentionModel,
    prompt_ids: list[int],
    n_new: int,
    *,
    temperature: float = 0.0,
    top_k: int | None = None,
    seed: int | None = None,
    record: tuple[str, ...] = (),
) -> tuple[dict[str, torch.Tensor], list[DecoderStep]]:
    """A decoder's continuation of ``prompt_ids``: (what ``record`` names in the prefill, one step per new token).

    Each chosen token is fed back through the cache, recorded; without ``record`` the last one is not fed (nothing
    would read it). ``seed`` fixes the sampling (a temperature above 0)."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    with recording(record) as rec:
        logits, cache = model.decode_step(torch.tensor([prompt_ids or [0]]), None)
    prefill, steps = rec.tensors, []
    for step in range(n_new):
        last = logits[0, -1].float()
        chosen = next_token(
            last, never=model.never_generated, temperature=temperature, top_k=top_k, generator=generator
        )
        recorded: dict[str, torch.Tensor] = {}
        if record or step < n_new - 1:
            with recording(record) as rec:
                logits, cache = model.decode_step(torch.tensor([[chosen]]), cache)
            recorded = rec.tensors
        steps.append(DecoderStep(chosen, torch.softmax(last, dim=-1).cpu().numpy(), recorded))
    return prefill, steps
