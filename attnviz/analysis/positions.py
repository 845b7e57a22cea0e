"""Word order: sinusoidal positional encoding, learned position embeddings, and order-swapped attention."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # arrays only at run time: the figures draw these without importing a model or torch
    from ..models.base import AttentionModel


def sinusoidal(n_positions: int, d_model: int, base: float = 10000.0) -> np.ndarray:
    """PE[pos, 2i] = sin(pos / base^(2i/d)), PE[pos, 2i+1] = cos(pos / base^(2i/d)); shape (n_positions, d_model)."""
    pos = np.arange(n_positions)[:, None]  # (n_positions, 1)
    i = np.arange(0, d_model, 2)[None, :]  # (1, d_model/2)
    angle = pos / np.power(base, i / d_model)
    pe = np.zeros((n_positions, d_model))
    pe[:, 0::2] = np.sin(angle)
    pe[:, 1::2] = np.cos(angle[:, : d_model // 2])
    return pe


def learned_positions(model: AttentionModel, n_positions: int) -> np.ndarray | None:
    """The model's own learned absolute position embeddings, (n_positions, d_model) (fewer rows if the model has
    fewer positions), or None for a model without them (RoPE rotates q and k instead)."""
    return model.embedding_parts(np.zeros(n_positions, dtype=np.int64)).get("position")


def rotary_angles(n_positions: int, d_head: int, base: float) -> np.ndarray:
    """RoPE's rotation angle of every position for every pair of dimensions: pos · base^(−2j/d), (n_positions, d/2).

    Pair j of q and k (dimensions j and j + d/2) turns by this angle; low j turn fast, high j slowly."""
    j = np.arange(d_head // 2)
    return np.arange(n_positions)[:, None] * np.power(float(base), -2.0 * j / d_head)[None, :]


def rotary_similarity(n_positions: int, d_head: int, base: float) -> np.ndarray:
    """cos(R_m u, R_n u) for a vector u with equal weight in every pair: mean_j cos((m − n) θ_j), (n, n).

    It depends on m − n alone: a rotation by position makes q·k see how far apart two tokens are, not where."""
    angles = rotary_angles(n_positions, d_head, base)  # (n, d/2)
    diff = angles[:, None, :] - angles[None, :, :]  # (n, n, d/2) = (m − n) θ_j
    return np.cos(diff).mean(axis=-1)


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


def order_difference(pattern_a: np.ndarray, pattern_b: np.ndarray, tokens_a: list[str], tokens_b: list[str]):
    """A's map minus B's put back in A's token order (both (…, q, k)), or None when B is not a reordering of A."""
    perm = alignment(tokens_a, tokens_b)
    return None if perm is None else pattern_a - reorder(pattern_b, perm)
