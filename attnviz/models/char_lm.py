"""The shipped character-level causal models (tiny DCFormer and its MHA twin) behind the registry's interface.

They record their hooks into a plain dict (see ``dcformer.py``); this adapter hands that dict to the
active recorder, so ``attnviz.capture(text, "dcformer-tiny")`` and the CLI work as for BERT models.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..hooks import _active_recorder
from ..masks import MaskSpec, structural_mask
from .base import Encoding
from .dcformer import CharTokenizer, load_dcformer

ASSETS = Path(__file__).resolve().parents[2] / "assets"
CHAR_MODELS = {
    "dcformer-tiny": "tiny character-level DCFormer (DCMHA on), trained on Debian's fortunes (English + Chinese)",
    "mha-tiny": "its MHA twin: identical but DCMHA off, same data, seed and steps",
}
MAX_TOKENS = 1024


class CharLanguageModel(nn.Module):
    kind = "decoder"
    max_batch = 1  # one text at a time: no padded batches

    def __init__(self, directory: str | Path, name: str | None = None, device=None):
        super().__init__()
        directory = Path(directory)
        self.lm = load_dcformer(str(directory), device=str(device or "cpu"))
        self.tokenizer = CharTokenizer.load(str(directory))
        self.name = name or directory.name
        cfg = self.lm.config
        self.n_layers, self.n_heads, self.d_head, self.d_model = cfg.n_layer, cfg.n_head, cfg.head_dim, cfg.dim
        self.n_kv_heads = self.n_heads
        self.special_tokens = frozenset()  # characters only: no [CLS]/[SEP]
        self.use_dcmha = cfg.use_dcmha
        self.max_tokens = MAX_TOKENS
        log = directory / "train_log.json"
        self.train_log = json.loads(log.read_text(encoding="utf-8")) if log.exists() else {}

    @property
    def device(self) -> torch.device:
        return next(self.lm.parameters()).device

    def layer_windows(self, window: int | None = None) -> list[int | None]:
        """Each layer's window: the trained layout, or the local layers resized to ``window``."""
        return self.lm.layer_windows("config" if window is None else window)

    def encode(self, texts: list[str]) -> Encoding:
        if len(texts) != 1:
            raise ValueError("the padding comparison needs a BERT-family model; character models take one text")
        text = texts[0]
        full = len(text)
        text = text[: self.max_tokens]
        ids = torch.tensor([self.tokenizer.encode(text)], dtype=torch.long)
        return Encoding(
            input_ids=ids,
            key_is_real=torch.ones_like(ids, dtype=torch.bool),
            token_type_ids=torch.zeros_like(ids),
            tokens=[list(text)],
            special=[[False] * len(text)],
            truncated=[full > self.max_tokens],
            full_lengths=[full],
        )

    def kv_head_of(self, head: int) -> int:
        return head

    def unknown_characters(self, text: str) -> list[str]:
        return sorted({c for c in text if self.tokenizer.stoi.get(c, 0) == 0})

    def forward(self, encoding: Encoding, spec: MaskSpec = MaskSpec(causal=True)) -> torch.Tensor:
        """Logits (1, seq, vocab). The model is causal by construction; ``spec.window`` resizes its local
        layers (global layers stay global) and ``spec.chunk`` restricts every layer to blocks."""
        ids = encoding.input_ids.to(self.device)
        seq = ids.shape[1]
        extra = None
        if spec.chunk is not None:
            extra = structural_mask(seq, MaskSpec(chunk=spec.chunk), device=ids.device)
        recorder = _active_recorder.get()
        record = {} if recorder is not None else None
        overrides = {} if spec.window is None else {"window_size": spec.window}
        logits = self.lm(ids, record=record, attn_mask=extra, **overrides)
        if recorder is not None:
            for name, value in record.items():
                if recorder.wants(name):
                    recorder.save(name, torch.from_numpy(np.asarray(value))[None])
        return logits


def load_char_model(name: str, device=None) -> CharLanguageModel:
    directory = ASSETS / name
    if not (directory / "config.json").exists():
        raise FileNotFoundError(f"{name}: no trained weights under {directory} (run scripts/train_dcformer.py)")
    return CharLanguageModel(directory, name=name, device=device).eval()
