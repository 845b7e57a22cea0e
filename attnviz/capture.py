"""The capture layer: one forward pass in, a plain mapping of named NumPy arrays out.

Names follow TransformerLens (``blocks.{layer}.attn.hook_pattern``); shapes are per sentence:

    blocks.{l}.attn.hook_q / hook_k / hook_v   (heads, seq, d_head)
    blocks.{l}.attn.hook_scores                (heads, seq, seq)   q·kᵀ/√d_head, before any mask
    blocks.{l}.attn.hook_mask                  (seq, seq) bool     True = may attend
    blocks.{l}.attn.hook_pattern               (heads, seq, seq)   softmax weights, rows sum to 1
    blocks.{l}.attn.hook_z                     (heads, seq, d_head) pattern @ v
    blocks.{l}.hook_resid_post                 (seq, d_model)      the layer's output
    hook_embed                                 (seq, d_model)      embeddings fed to layer 0
    tokens, token_ids                          (seq,)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import numpy as np
import torch

from .hooks import StopForward, recording
from .masks import MaskSpec
from .models import DEFAULT_MODEL, load_model
from .text import clean_text


class Capture(dict):
    """name -> np.ndarray for one sentence, plus what a viewer needs to label it."""

    def __init__(self, arrays, *, model_name, n_layers, n_heads, spec, special, truncated, full_length, notices=()):
        super().__init__(arrays)
        self.model_name = model_name
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.spec = spec
        self.special = np.asarray(special, dtype=bool)  # [CLS]/[SEP]/[PAD] positions
        self.truncated = truncated
        self.full_length = full_length
        self.notices = list(notices)

    @property
    def tokens(self) -> list[str]:
        return [str(t) for t in self["tokens"]]

    def pattern(self, layer: int) -> np.ndarray:
        return self[f"blocks.{layer}.attn.hook_pattern"]

    def scores(self, layer: int) -> np.ndarray:
        return self[f"blocks.{layer}.attn.hook_scores"]

    def mask(self, layer: int) -> np.ndarray:
        return self[f"blocks.{layer}.attn.hook_mask"]

    def save_npz(self, path) -> None:
        np.savez(path, **self)


def run_capture(model, texts: list[str], spec: MaskSpec = MaskSpec(), hooks: Iterable[str] | None = None) -> list[Capture]:
    """Capture one padded batch; returns one Capture per text (padding kept, and masked)."""
    encoding = model.encode(texts)
    with torch.inference_mode(), recording(hooks, stop_when_done=True) as recorder:
        try:
            model(encoding, spec)
        except StopForward:  # exact hook names, all recorded (one layer's scores): the later layers are not needed
            pass
    captures = []
    for b, tokens in enumerate(encoding.tokens):
        arrays = {name: _to_numpy(tensor[b]) for name, tensor in recorder.tensors.items()}
        arrays["tokens"] = np.array(tokens, dtype=str)
        arrays["token_ids"] = encoding.input_ids[b].numpy().astype(np.int64)
        captures.append(
            Capture(
                arrays,
                model_name=model.name,
                n_layers=model.n_layers,
                n_heads=model.n_heads,
                spec=spec,
                special=encoding.special[b],
                truncated=encoding.truncated[b],
                full_length=encoding.full_lengths[b],
            )
        )
    return captures


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach()
    if tensor.dtype not in (torch.bool, torch.float32, torch.int64):
        tensor = tensor.float()
    return tensor.cpu().numpy()


_models: dict[str, object] = {}
_models_lock = threading.Lock()


def get_model(name: str = DEFAULT_MODEL):
    """Load a model once per process (for scripts; the app uses Streamlit's cache)."""
    with _models_lock:
        if name not in _models:
            _models[name] = load_model(name)
        return _models[name]


def capture(
    text: str,
    model: str | object = DEFAULT_MODEL,
    *,
    causal: bool = False,
    window: int | None = None,
    chunk: int | None = None,
    hooks: Iterable[str] | None = None,
) -> Capture:
    """Capture every head of every layer for one sentence.

    >>> cap = attnviz.capture("The cat sat on the mat.", causal=True)
    >>> cap["blocks.0.attn.hook_pattern"].shape   # (heads, seq, seq)
    """
    cleaned = clean_text(text)
    model_obj = get_model(model) if isinstance(model, str) else model
    (result,) = run_capture(model_obj, [cleaned.text], MaskSpec(causal, window, chunk), hooks)
    result.notices = cleaned.notices + result.notices
    return result
