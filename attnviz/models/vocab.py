"""The character vocabulary of the encoder-decoder model (attnviz/models/seq2seq.py): ids 0..3 are the special
tokens ``<pad>`` ``<sos>`` ``<eos>`` ``<unk>``, then one id per character. Which characters, is the task's choice
(``attnviz.tasks.date_vocab`` for the shipped date model); a checkpoint stores its own list (vocab.json)."""

from __future__ import annotations

import json
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
