"""What the Encoder-decoder page computes from a decoding: the verdict on a date, the sharpest cross-attention
head, and one row per step of the autoregressive loop. No Plotly, no Streamlit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import tasks
from ..models.base import hook_name
from ..decoding import Decoding


def date_verdict(text: str, answer: str) -> tuple[str, dict]:
    """(text key, values): whether the date model's answer is the ISO form of ``text`` (when that parses)."""
    expected = tasks.parse_date(text)
    if expected is None:
        return "ed.verdict_none", {}
    if answer == expected.isoformat():
        return "ed.verdict_right", {}
    return "ed.verdict_wrong", {"answer": expected.isoformat()}


def sharpest_cross_head(decoding: Decoding, n_layers: int, n_heads: int) -> tuple[int, int, float]:
    """(layer, head, share): the cross-attention head whose rows put the most weight on one source token, on average
    over every output step (the last step's capture holds every row)."""
    final = decoding.steps[-1].capture
    sharpness = {
        (l, h): float(final[hook_name("pattern", l, "decoder_cross")][h].max(-1).mean())
        for l in range(n_layers)
        for h in range(n_heads)
    }
    layer, head = max(sharpness, key=lambda cell: sharpness[cell])
    return layer, head, sharpness[(layer, head)]


@dataclass
class LoopRow:
    step: int
    reads: str  # the token the decoder read last at this step
    writes: str  # the token it chose
    probability: float
    source: int  # the source position the chosen head's cross-attention weighted most
    weight: float


def loop_rows(decoding: Decoding, layer: int, head: int) -> list[LoopRow]:
    """One row per step: what it read, what it wrote and with which probability, and where ``head`` of ``layer``'s
    cross-attention looked hardest in the source."""
    rows = []
    for i, step in enumerate(decoding.steps, start=1):
        weights = step.capture[hook_name("pattern", layer, "decoder_cross")][head][i - 1]
        j = int(np.argmax(weights))
        rows.append(
            LoopRow(
                i, step.input_tokens[-1], step.output_token, float(step.probs[step.output_id]), j, float(weights[j])
            )
        )
    return rows
