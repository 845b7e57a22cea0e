"""The mask rules and score modifications by their published definitions (attention-gym's, the papers'), written here
independently of attnviz.masks: what the tests compare the forward's masks and recorded scores with."""

from __future__ import annotations

import math

import numpy as np

from attnviz.masks import MaskSpec


def reference_alibi_slopes(n: int) -> list[float]:
    """The ALiBi paper's slopes (Press et al., 2022, as their code defines them): a geometric sequence starting at
    2^(-8/n) for n a power of two; otherwise the closest power of two's, then every other one of twice that."""
    if math.log2(n).is_integer():
        start = 2 ** (-(2 ** -(math.log2(n) - 3)))
        return [start * start**i for i in range(n)]
    closest = 2 ** math.floor(math.log2(n))
    return reference_alibi_slopes(closest) + reference_alibi_slopes(2 * closest)[0::2][: n - closest]


def reference_scores(plain: np.ndarray, spec: MaskSpec) -> np.ndarray:
    """(heads, seq, seq) scores after the spec's score modifications, from the unmodified ones, by the formulas:
    ALiBi subtracts slope_h · |i - j|, then soft-capping maps s to C · tanh(s / C)."""
    heads, seq, _ = plain.shape
    scores = plain.astype(np.float64)
    if spec.alibi:
        distance = np.abs(np.arange(seq)[:, None] - np.arange(seq)[None, :])
        scores = scores - np.array(reference_alibi_slopes(heads))[:, None, None] * distance
    if spec.softcap is not None:
        scores = spec.softcap * np.tanh(scores / spec.softcap)
    return scores


def reference_allowed(i: int, j: int, spec: MaskSpec) -> bool:
    """May query i attend to key j under ``spec``'s rules (AND; sinks loosen only the window, dilation and chunks)?"""
    ok = True
    if spec.causal:
        ok = ok and j <= i
    if spec.prefix is not None:
        ok = ok and (j <= i or (i < spec.prefix and j < spec.prefix))
    local = True
    if spec.window is not None:
        local = local and abs(i - j) < spec.window
    if spec.dilation is not None:
        local = local and abs(i - j) % spec.dilation == 0
    if spec.chunk is not None:
        local = local and i // spec.chunk == j // spec.chunk
    if spec.sinks is not None:
        local = local or j < spec.sinks
    ok = ok and local
    if spec.documents:
        ok = ok and sum(i >= s for s in spec.documents) == sum(j >= s for s in spec.documents)
    if spec.grid is not None and (spec.window_2d is not None or spec.blocks_2d is not None):
        ok = ok and reference_patch_allowed(i, j, spec)
    return ok


def _patch_places(grid: tuple[int, int, int]) -> dict[int, tuple[int, int]]:
    """position -> (row, column) of every patch, by walking the grid row after row (the raster order)."""
    first, rows, cols = grid
    places, position = {}, first
    for row in range(rows):
        for col in range(cols):
            places[position] = (row, col)
            position += 1
    return places


def reference_patch_allowed(i: int, j: int, spec: MaskSpec) -> bool:
    """The 2-D rules: a token that is not a patch ([CLS], a register) sees and is seen by all; a patch sees a patch
    within ``window_2d`` steps of a king's move (Chebyshev distance) and in the same ``blocks_2d`` tile."""
    places = _patch_places(spec.grid)
    if i not in places or j not in places:
        return True
    (row_i, col_i), (row_j, col_j) = places[i], places[j]
    ok = True
    if spec.window_2d is not None:
        ok = ok and max(abs(row_i - row_j), abs(col_i - col_j)) <= spec.window_2d
    if spec.blocks_2d is not None:
        tile = spec.blocks_2d
        ok = ok and (int(row_i / tile), int(col_i / tile)) == (int(row_j / tile), int(col_j / tile))
    return ok


def reference_mask(n: int, spec: MaskSpec) -> np.ndarray:
    """(n, n) bool: :func:`reference_allowed` for every cell."""
    return np.array([[reference_allowed(i, j, spec) for j in range(n)] for i in range(n)])
