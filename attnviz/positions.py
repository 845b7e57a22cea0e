"""Word order: sinusoidal positional encoding, learned position embeddings, and order-swapped attention."""

from __future__ import annotations

import numpy as np


def sinusoidal(n_positions: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(pos / base^(2i/d)); shape (n_positions, d_model)."""
    pos = np.arange(n_positions)[:, None]  # (n_positions, 1)
    i = np.arange(0, d_model, 2)[None, :]  # (1, d_model/2)
    angle = pos / np.power(base, i / d_model)
    pe = np.zeros((n_positions, d_model))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return pe


def learned_positions(model, n_positions: int) -> np.ndarray:
    """The model's own learned absolute position embeddings, (n_positions, d_model)."""
    table = model.hf.embeddings.position_embeddings.weight.detach().cpu().numpy()
    offset = model.hf.config.pad_token_id + 1 if model.hf.config.model_type in ("roberta", "xlm-roberta") else 0
    return table[offset : offset + n_positions]


def cosine_similarity(vectors: np.ndarray) -> np.ndarray:
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return unit @ unit.T


def alignment(tokens_a: list[str], tokens_b: list[str]) -> np.ndarray | None:
    """perm with tokens_b[perm[i]] == tokens_a[i] when B is a reordering of A's tokens, else None.

    Repeated tokens are matched in order of appearance.
    """
    if sorted(tokens_a) != sorted(tokens_b):
        return None
    used = [False] * len(tokens_b)
    perm = []
    for token in tokens_a:
        j = next(j for j, t in enumerate(tokens_b) if t == token and not used[j])
        used[j] = True
        perm.append(j)
    return np.array(perm)


def reorder(pattern: np.ndarray, perm: np.ndarray) -> np.ndarray:
    """B's (…, q, k) map expressed in A's token order: out[i, j] = pattern[perm[i], perm[j]]."""
    return pattern[..., perm, :][..., :, perm]
