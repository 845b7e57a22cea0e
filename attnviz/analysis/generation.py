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

from ..decoding import decode
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
    """Greedy generation by ``model`` (a decoder: the one loop, :func:`attnviz.decoding.decode`, through its
    ``decode_step``), each step's maps recorded."""
    encoding = model.encode([text])
    prompt = encoding.input_ids[0, : int(encoding.key_is_real[0].sum())].tolist()  # no padding
    names = tuple(hook_name("pattern", layer) for layer in range(model.n_layers))
    prefill, steps = decode(model, prompt, n_new, record=names)
    generation = Generation(
        model.name,
        list(encoding.tokens[0][: len(prompt)]),
        len(prompt),
        {layer: prefill[name][0].float().cpu().numpy() for layer, name in enumerate(names)},
        n_kv_heads=model.n_kv_heads,
        d_head=model.d_head,
        n_layers=model.n_layers,
    )
    for step in steps:
        position = len(generation.tokens)  # the new token's position: it becomes the next query
        rows = {layer: step.recorded[name][0, :, -1].float().cpu().numpy() for layer, name in enumerate(names)}
        key_start = {layer: position + 1 - row.shape[-1] for layer, row in rows.items()}
        generation.tokens.append(model.token_label(step.token_id))
        generation.steps.append(CacheStep(generation.tokens[-1], step.token_id, position, rows, key_start, step.probs))
    return generation
