"""What a blocked attention kernel can skip: the mask cut into query-block × key-block tiles, as FlashAttention and
FlexAttention's block masks cut it, each tile fully masked (skipped: never loaded, never computed), partly masked
(computed, then masked cell by cell) or full (computed without a mask).

The census is counted from the capture's own mask rule (every rule, the layer's window, padding), a block of query
rows at a time: a long text's (T × T) mask never exists at once, and the counts are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# attnviz.tiles (torch) is imported by block_census alone: the census type and its counting are plain NumPy, and the
# figures draw a census without a model (tests/test_layering.py).

SKIPPED, PARTIAL, FULL = 0, 1, 2  # a tile's state
BLOCK_SIZES = (4, 8, 16, 32, 64, 128, 256)  # FlashAttention's tiles are 64 or 128; smaller ones suit a sentence
# At most this many tiles along a side: a figure of 128 × 128 tiles, each with its hover text (an 8k-token text in
# tiles of 4 would be four million of them).
MAX_TILES_PER_SIDE = 128


@dataclass(frozen=True)
class BlockCensus:
    """Each tile's state and allowed-cell count, for a mask of ``n`` queries × ``n`` keys cut into ``block``-sized
    tiles (the last row and column of tiles may be smaller)."""

    n: int
    block: int
    states: np.ndarray  # (query blocks, key blocks) int8: SKIPPED, PARTIAL or FULL
    allowed: np.ndarray  # (query blocks, key blocks) int64: allowed cells in each tile

    def count(self, state: int) -> int:
        return int((self.states == state).sum())

    @property
    def tiles(self) -> int:
        return int(self.states.size)

    @property
    def skipped_share(self) -> float:
        """The share of tiles a kernel skips."""
        return self.count(SKIPPED) / self.tiles

    @property
    def computed_cells(self) -> int:
        """Cells a blocked kernel computes: every cell of every tile it does not skip."""
        sizes = tile_sizes(self.n, self.block)
        return int((np.outer(sizes, sizes) * (self.states != SKIPPED)).sum())

    def tile_bounds(self, index: int) -> tuple[int, int]:
        """[a, b): the positions of the index-th block of queries (or keys)."""
        return index * self.block, min(self.n, (index + 1) * self.block)


def tile_sizes(n: int, block: int) -> np.ndarray:
    """How many positions each block holds (the last one may be smaller)."""
    starts = np.arange(0, n, block)
    return np.minimum(starts + block, n) - starts


def block_sizes(n: int) -> tuple[int, ...]:
    """The tile sizes of BLOCK_SIZES that cut ``n`` positions into at most MAX_TILES_PER_SIDE tiles along a side."""
    return tuple(size for size in BLOCK_SIZES if -(-n // size) <= MAX_TILES_PER_SIDE) or BLOCK_SIZES[-1:]


def census_of_mask(allowed_rows, n: int, block: int) -> BlockCensus:
    """The census of an (n × n) mask given a block of rows at a time: ``allowed_rows(rows)`` -> (len(rows), n) bool.
    At most MAX_TILES_PER_SIDE tiles along a side (a ValueError beyond)."""
    if block < 1:
        raise ValueError(f"block must be at least 1 (got {block})")
    if -(-n // block) > MAX_TILES_PER_SIDE:
        raise ValueError(f"tiles of {block} cut {n} positions into more than {MAX_TILES_PER_SIDE} a side")
    starts = np.arange(0, n, block)
    sizes = tile_sizes(n, block)
    allowed = np.zeros((len(starts), len(starts)), dtype=np.int64)
    for b, a in enumerate(starts):
        rows = allowed_rows(slice(int(a), int(a + sizes[b])))  # (rows, n)
        allowed[b] = np.add.reduceat(rows.sum(axis=0, dtype=np.int64), starts)
    cells = np.outer(sizes, sizes)
    states = np.where(allowed == 0, SKIPPED, np.where(allowed == cells, FULL, PARTIAL)).astype(np.int8)
    return BlockCensus(n, block, states, allowed)


def block_census(cap, layer: int, block: int) -> BlockCensus:
    """The census of ``layer``'s mask in a capture (its rules, its window, padding), for tiles of ``block``."""
    from .. import tiles

    n = len(cap.key_is_real)
    return census_of_mask(lambda rows: tiles.allowed_tile(cap, layer, rows, slice(0, n)), n, block)
