"""The two character vocabularies a checkpoint stores beside its weights (vocab.json), in their own id layouts:

* :class:`CharVocab`, the encoder-decoder model's (attnviz/models/seq2seq.py): ids 0..3 are the special tokens
  ``<pad>`` ``<sos>`` ``<eos>`` ``<unk>``, then one id per character. Which characters, is the task's choice
  (``attnviz.tasks.date_vocab`` for the shipped date model).
* :class:`CharTokenizer`, the character DCFormers' (attnviz/models/dcformer.py): id 0 is ``<unk>``, then one id per
  character; no padding (one text at a time), no start or end token.

Each layout is the one its shipped weights were trained with, so the two stay two classes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass

SPECIALS = ["<pad>", "<sos>", "<eos>", "<unk>"]
PAD, SOS, EOS, UNK = range(4)


@dataclass
class CharVocab:
    """Character-level vocabulary; ids 0..3 are the special tokens."""

    itos: list[str]

    def __post_init__(self):
        self.stoi = {s: i for i, s in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(c, UNK) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        """Characters up to the first <eos>; other special tokens are dropped."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i >= len(SPECIALS):
                out.append(self.itos[i])
        return "".join(out)

    def unknown(self, text: str) -> list[str]:
        return sorted({c for c in text if c not in self.stoi or self.stoi[c] < len(SPECIALS)})

    def save(self, path) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"type": "char", "specials": SPECIALS, "tokens": self.itos}, f, ensure_ascii=False, indent=0)

    @classmethod
    def load(cls, path) -> CharVocab:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        tokens = data.get("tokens")
        if not isinstance(tokens, list) or tokens[: len(SPECIALS)] != SPECIALS:
            raise ValueError(f"{path}: not a seq2seq character vocabulary (tokens must start with {SPECIALS})")
        return cls(tokens)


class CharTokenizer:
    """Character-level tokenizer. id 0 is ``<unk>`` (any character not in the vocabulary)."""

    UNK = "<unk>"

    def __init__(self, chars: Iterable[str]):
        chars = [c for c in chars if c != self.UNK]
        self.itos = [self.UNK] + list(dict.fromkeys(chars))
        self.stoi = {c: i for i, c in enumerate(self.itos)}
        self.unk_id = 0

    @classmethod
    def from_text(cls, text: str, min_count: int = 1) -> "CharTokenizer":
        from collections import Counter

        cnt = Counter(text)
        return cls(sorted(c for c, n in cnt.items() if n >= min_count))

    @classmethod
    def load(cls, path: str) -> "CharTokenizer":
        if os.path.isdir(path):
            path = os.path.join(path, "vocab.json")
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return cls(d["tokens"][1:])

    def save(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"type": "char", "unk": self.UNK, "unk_id": 0, "tokens": self.itos}, f, ensure_ascii=False)

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        return [self.stoi.get(c, 0) for c in text]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.itos[i] if 0 < i < len(self.itos) else "\ufffd" for i in ids)

    def tokens(self, text: str) -> list[str]:
        """Per-position labels for a UI (unknown characters shown as themselves)."""
        return list(text)
