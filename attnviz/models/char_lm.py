"""The one wrapper of the shipped character-level causal models (tiny DCFormer and its MHA twin).

It keeps the model contract (``models/base.py``): ``encode``, ``forward(encoding, spec)`` and the DCFormer's own
``HookPoint``s, so the main page, the DCMHA page, the presenter, the CLI and ``attnviz.capture`` all read the same
loaded model, from the one model cache, by the same hook names.

Windows have one meaning on every model: the model's own layout (DCFormer's local layers of ``window_size`` keys,
its global layers) is what it was trained with, and a ``MaskSpec`` window or chunk only narrows it further, as on
any Hugging Face decoder. Resizing the local layers themselves (the DCMHA page's "local window" lesson) is a
separate forward option, ``local_window``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ..hooks import HookPoint
from ..masks import MaskSpec, combine_windows
from .base import AttentionModel, AttentionWeights, Encoding, FolderFormat, Notice, mask_notices

from .dcformer import KVCache, TransformerBlock
from .dcformer_checkpoint import load_dcformer
from .vocab import CharTokenizer

CHAR_MODELS = {
    "dcformer-tiny": "tiny character-level DCFormer (DCMHA on), trained on Debian's fortunes (English + Chinese)",
    "mha-tiny": "its MHA twin: identical but DCMHA off, same data, seed and steps",
}
TWIN = {"dcformer-tiny": "mha-tiny", "mha-tiny": "dcformer-tiny"}
MAX_TOKENS = 1024
DEFAULT_CONTEXT = 256  # training context of a checkpoint whose train_log.json does not say


class CharLanguageModel(nn.Module, AttentionModel):
    kind = "decoder"
    max_batch = 1  # one text at a time: no padded batches

    def __init__(self, directory: str | Path, name: str | None = None, device=None):
        super().__init__()
        directory = Path(directory)
        self.lm = load_dcformer(str(directory), device=str(device or "cpu"))
        self.tokenizer = CharTokenizer.load(str(directory))
        self.name = name or directory.name
        self.source = str(directory)
        cfg = self.lm.config
        assert cfg.head_dim is not None  # DCFormerConfig.__post_init__ fills it in
        self.n_layers, self.n_heads, self.d_head, self.d_model = cfg.n_layer, cfg.n_head, cfg.head_dim, cfg.dim
        self.n_kv_heads = self.n_heads
        self.special_tokens: frozenset[str] = frozenset()  # characters only: no [CLS]/[SEP]
        self.use_dcmha = bool(cfg.use_dcmha)
        self.query_block = cfg.q_chunk_size or None  # DCFormer's blocked computation: a memory bound, not a mask
        self.rope_base = float(cfg.rope_base)  # positions rotate q and k
        self.max_tokens = MAX_TOKENS
        log = directory / "train_log.json"
        self.train_log = json.loads(log.read_text(encoding="utf-8")) if log.exists() else {}
        # the length it was trained on: positions beyond it are flagged on the pages
        self.context = int(self.train_log.get("settings", {}).get("context", DEFAULT_CONTEXT))
        self.heldout_loss = self.train_log.get("heldout_loss")
        self.hook_points = {module.name: module for module in self.lm.modules() if isinstance(module, HookPoint)}

    @property
    def config(self):
        return self.lm.config

    @property
    def device(self) -> torch.device:
        return next(self.lm.parameters()).device

    def hook(self, name: str) -> HookPoint:
        return self.hook_points[name]

    def kv_head_of(self, head: int) -> int:
        return head

    def notices(self, text: str, spec: MaskSpec) -> list[Notice]:
        """Characters it reads as <unk>, positions beyond the length it was trained on, and the mask notices."""
        notices = []
        unknown = self.unknown_characters(text)
        if unknown:
            notices.append(Notice("warning", "msg.unknown_chars", {"model": self.name, "chars": " ".join(unknown)}))
        if len(text) > self.context:
            notices.append(
                Notice(
                    "info",
                    "msg.beyond_context",
                    {"model": self.name, "context": self.context, "last": min(len(text), self.max_tokens) - 1},
                )
            )
        if self.use_dcmha:  # its maps leave [0, 1]: what a negative weight means, said once where they are drawn
            notices.append(Notice("info", "msg.composed_weights", {"model": self.name}))
        return notices + mask_notices(self, spec)

    def attention_weights(self, layer: int) -> AttentionWeights:
        attention = cast(TransformerBlock, self.lm.layers[layer]).attention  # DCFormer.layers holds TransformerBlocks
        q, k, v = attention.wqkv.weight.split(self.n_heads * self.d_head, dim=0)
        return AttentionWeights.from_linear(
            q,
            k,
            v,
            attention.wo.weight,
            n_heads=self.n_heads,
            n_kv_heads=self.n_heads,
            rotary=True,
            qk_norm=bool(self.config.use_qk_norm),
        )

    def embedding_parts(self, token_ids: np.ndarray) -> dict[str, np.ndarray]:
        """The character's embedding row: positions enter later, by rotating q and k (RoPE)."""
        return {"word": self.lm.tok_embeddings.weight.detach().float().cpu().numpy()[token_ids]}

    def layer_windows(self, window: int | None = None, local_window: Any = "config") -> list[int | None]:
        """Each layer's window as the forward applies it (None = global): the trained layout (``local_window``:
        "config", or the local layers resized to an int, or None for every layer global), narrowed by ``window``."""
        return [combine_windows(own, window) for own in self.lm.layer_windows(local_window)]

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
            offsets=[[(i, i + 1) for i in range(len(text))]],  # one character, one token
        )

    def unknown_characters(self, text: str) -> list[str]:
        """Distinct characters of ``text`` the vocabulary reads as <unk>, in order of appearance."""
        return list(dict.fromkeys(c for c in text if self.tokenizer.stoi.get(c, 0) == 0))

    never_generated = (0,)  # <unk>: any character outside the vocabulary

    def decode_step(self, ids: torch.Tensor, cache: KVCache | None = None):
        """Feed ``ids`` (1, n) after what ``cache`` holds (None: nothing yet); (logits (1, n, vocab), the cache).
        DCFormer's cache keeps keys, values and the key-wise compose weights of every earlier token."""
        cache = KVCache(self.n_layers) if cache is None else cache
        return self.lm(ids.to(self.device), cache=cache), cache

    def token_label(self, token_id: int) -> str:
        return self.tokenizer.itos[int(token_id)]

    def forward(
        self,
        encoding: Encoding,
        spec: MaskSpec = MaskSpec(causal=True),
        *,
        local_window: Any = "config",
        causal: bool = True,
    ) -> torch.Tensor:
        """Logits (1, seq, vocab). The model is causal by construction (``causal=False`` lifts that, a DCMHA-page
        lesson); ``spec``'s rules narrow every layer's own mask (its sinks see through ``spec``'s window, not a
        layer's own) and its score modifications change every layer's scores; ``local_window`` resizes the local
        layers (see :meth:`layer_windows`)."""
        ids = encoding.input_ids.to(self.device)
        own = self.layer_windows(None, local_window)  # each layer's own window, which the user's rules never widen
        rules = spec if spec.is_intervention else None  # causal, window … ALiBi: in every layer
        return self.lm(ids, layer_windows=own, causal=causal, rules=rules)


def _is_dcformer_folder(path: Path, config: dict) -> bool:
    """A DCFormer checkpoint: the published config's field names and a character vocabulary beside it."""
    return {"dim", "n_head", "n_layer"} <= set(config) and (path / "vocab.json").exists()


FOLDER_FORMAT = FolderFormat(
    "dcformer",
    _is_dcformer_folder,
    lambda config: "decoder",
    lambda path, config, name, device: CharLanguageModel(path, name=name, device=device).eval(),
)
