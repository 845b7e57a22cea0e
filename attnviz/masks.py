"""Attention masks: which keys each query may attend to.

Every mask is boolean, True = "may attend".  The same convention is used by every model
in attnviz, so a window of ``w`` always means the same thing on every page:

* causal: query i sees keys j <= i (the decoder's "subsequent" mask);
* window w: query i sees keys with |i - j| < w, so a causal window holds w keys
  (itself and the w-1 before it, as in DCFormer's local layers) and a two-sided one
  2w-1 keys;
* chunk c: the sequence is cut into blocks of c tokens, attention stays inside a block;
* padding: keys that are [PAD] are never attended to.

Rows left with no key at all (a padded query in an all-padding chunk) get zero weight
everywhere instead of NaN; real tokens always see at least themselves.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from .i18n import translate


@dataclass(frozen=True)
class MaskSpec:
    causal: bool = False
    window: int | None = None  # None = no window
    chunk: int | None = None  # None = no chunking

    def __post_init__(self):
        if self.window is not None and self.window < 1:
            raise ValueError(f"window must be at least 1 (got {self.window})")
        if self.chunk is not None and self.chunk < 1:
            raise ValueError(f"chunk must be at least 1 (got {self.chunk})")

    @property
    def is_intervention(self) -> bool:
        """True when the mask changes what a bidirectional encoder was trained to see."""
        return self.causal or self.window is not None or self.chunk is not None

    def describe(self, lang: str = "en") -> str:
        parts = []
        if self.causal:
            parts.append(translate("mask.causal", lang))
        if self.window is not None:
            parts.append(translate("mask.window", lang, w=self.window))
        if self.chunk is not None:
            parts.append(translate("mask.chunk", lang, c=self.chunk))
        return ("、" if lang == "zh" else ", ").join(parts) or translate("mask.none", lang)

    def to_dict(self) -> dict:
        return asdict(self)


def structural_mask(seq_len: int, spec: MaskSpec, device=None) -> torch.Tensor:
    """The (seq, seq) part of the mask that depends only on positions."""
    pos = torch.arange(seq_len, device=device)
    query, key = pos[:, None], pos[None, :]  # (seq, 1), (1, seq)
    allowed = torch.ones(seq_len, seq_len, dtype=torch.bool, device=device)
    if spec.causal:
        allowed &= key <= query
    if spec.window is not None:
        allowed &= (query - key).abs() < spec.window
    if spec.chunk is not None:
        allowed &= (query // spec.chunk) == (key // spec.chunk)
    return allowed


def attention_mask(key_is_real: torch.Tensor, spec: MaskSpec) -> torch.Tensor:
    """Full mask for a padded batch.

    key_is_real: (batch, seq) bool, False at [PAD] positions.
    returns:     (batch, seq, seq) bool, True = query (row) may attend key (column).
    """
    seq_len = key_is_real.shape[-1]
    structure = structural_mask(seq_len, spec, device=key_is_real.device)  # (seq, seq)
    return structure[None, :, :] & key_is_real[:, None, :].bool()


def masked_softmax(scores: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis with disallowed cells at exactly zero.

    scores: (..., q_len, k_len); allowed broadcastable to it.
    """
    probs = torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=-1)
    if not bool(allowed.any(dim=-1).all()):
        # A row with no allowed key is all -inf -> NaN; such rows carry no attention.
        probs = torch.nan_to_num(probs, nan=0.0)
    return probs
