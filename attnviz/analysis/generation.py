"""A decoder writing text token by token with its KV cache, every step's new attention row captured.

The prompt is read once (prefill: every row of every map); then each step feeds only the newest token. Its query is
one row, and the keys it reads come from the cache, which grows by one row per step (a sliding-window layer keeps
only the latest keys). That row is exactly the row a full forward over the final text computes (tests): the cache
is a speed-up, never a change of the numbers.

    generation = generate_with_cache(model, "The cat", n_new=12)
    generation.map(layer, head)     # (T, T): the prompt's rows, then one row per generated token (NaN: never computed)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..hooks import recording
from ..models.base import AttentionModel, hook_name


@dataclass
class CacheStep:
    """One generated token: the new query's row in every layer, over the keys the cache held."""

    token: str  # the token chosen (greedy), as text
    token_id: int
    position: int  # the position of the query that chose it (the newest token read)
    rows: dict[int, np.ndarray]  # layer -> (heads, keys) weights of that query over the cached keys
    key_start: dict[
        int, int
    ]  # layer -> absolute position of its first cached key (>0 once a sliding window drops some)
    probs: np.ndarray  # (vocab,) the softmax of its logits


@dataclass
class Generation:
    model_name: str
    tokens: list[str]  # the prompt's tokens, then every generated one
    n_prompt: int
    prefill: dict[int, np.ndarray]  # layer -> (heads, n_prompt, n_prompt): the prompt's own maps
    steps: list[CacheStep] = field(default_factory=list)
    n_kv_heads: int = 0
    d_head: int = 0
    n_layers: int = 0

    def map(self, layer: int, head: int, upto: int | None = None) -> np.ndarray:
        """(T, T) weights of ``head`` in ``layer``: the prompt's rows, then each step's new row where its keys sit;
        NaN where nothing was computed (above the diagonal; keys a sliding window had dropped). ``upto``: steps shown."""
        steps = self.steps[: len(self.steps) if upto is None else upto]
        size = self.n_prompt + len(steps)
        out = np.full((size, size), np.nan, dtype=np.float32)
        out[: self.n_prompt, : self.n_prompt] = np.where(
            np.tril(np.ones((self.n_prompt,) * 2, bool)), self.prefill[layer][head], np.nan
        )
        for step in steps:
            row = step.rows[layer][head]
            out[step.position, step.key_start[layer] : step.key_start[layer] + row.shape[0]] = row
        return out

    def cache_length(self, step: int) -> int:
        """Keys (and values) in the cache when step ``step`` (1-based) ran, its own included."""
        return self.n_prompt + step

    def cache_bytes(self, step: int) -> int:
        """Memory of that cache in float32: K and V for every layer and K/V head (grouped-query attention keeps
        fewer K/V heads than query heads, so less)."""
        return 2 * self.n_layers * self.n_kv_heads * self.cache_length(step) * self.d_head * 4


def generate_with_cache(model: AttentionModel, text: str, n_new: int = 12) -> Generation:
    """Greedy generation by ``model`` (a decoder of the contract with ``decode_step``), recording each step's maps."""
    encoding = model.encode([text])
    ids = encoding.input_ids[:, : int(encoding.key_is_real[0].sum())]  # (1, n_prompt), no padding
    names = [hook_name("pattern", layer) for layer in range(model.n_layers)]
    with torch.inference_mode():
        with recording(names) as rec:
            logits, cache = model.decode_step(ids, None)
        prefill = {layer: rec.tensors[name][0].float().cpu().numpy() for layer, name in enumerate(names)}
        tokens = list(encoding.tokens[0][: ids.shape[1]])
        generation = Generation(
            model.name,
            tokens,
            ids.shape[1],
            prefill,
            n_kv_heads=model.n_kv_heads,
            d_head=model.d_head,
            n_layers=model.n_layers,
        )
        for _ in range(n_new):
            probs = torch.softmax(logits[0, -1].float(), dim=-1)
            chosen = probs.clone()
            chosen[list(model.never_generated)] = -1.0  # e.g. a character model's <unk>
            next_id = int(chosen.argmax())
            position = len(generation.tokens)  # the new token's position: it becomes the next query
            with recording(names) as rec:
                logits, cache = model.decode_step(torch.tensor([[next_id]]), cache)
            rows = {layer: rec.tensors[name][0, :, -1].float().cpu().numpy() for layer, name in enumerate(names)}
            key_start = {layer: position + 1 - row.shape[-1] for layer, row in rows.items()}
            generation.tokens.append(model.token_label(next_id))
            generation.steps.append(
                CacheStep(generation.tokens[-1], next_id, position, rows, key_start, probs.cpu().numpy())
            )
    return generation
