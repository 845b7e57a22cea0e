"""The block view's census: each tile's state and the work skipped equal a direct count over the mask."""

import numpy as np
import pytest

import attnviz
from attnviz.analysis.kernel_blocks import (
    BLOCK_SIZES,
    FULL,
    MAX_TILES_PER_SIDE,
    PARTIAL,
    SKIPPED,
    block_census,
    block_sizes,
    census_of_mask,
)
from attnviz.capture import run_capture
from attnviz.figures.kernel_blocks import kernel_blocks_figure, summary
from attnviz.masks import MaskSpec, position_mask
from mask_reference import reference_mask


def direct_count(mask: np.ndarray, block: int) -> tuple[dict, int]:
    """Tile by tile, the plain way: how many tiles are skipped, partly masked and full; cells in computed tiles."""
    n = len(mask)
    counts, computed = {SKIPPED: 0, PARTIAL: 0, FULL: 0}, 0
    for a in range(0, n, block):
        for c in range(0, n, block):
            tile = mask[a : a + block, c : c + block]
            state = SKIPPED if not tile.any() else FULL if tile.all() else PARTIAL
            counts[state] += 1
            computed += 0 if state == SKIPPED else tile.size
    return counts, computed


@pytest.mark.parametrize(
    "spec",
    [
        MaskSpec(causal=True),
        MaskSpec(causal=True, window=8),
        MaskSpec(window=5, sinks=3),
        MaskSpec(prefix=7, dilation=3),
        MaskSpec(chunk=6, documents=(20,)),
    ],
    ids=lambda spec: spec.describe(),
)
@pytest.mark.parametrize("block", [1, 4, 7, 16, 64])
def test_the_census_equals_a_direct_count_over_the_mask(spec, block):
    n = 45  # not a multiple of any block: the last tiles are smaller
    mask = reference_mask(n, spec)
    census = census_of_mask(lambda rows: mask[rows], n, block)
    counts, computed = direct_count(mask, block)
    assert {state: census.count(state) for state in counts} == counts
    assert census.computed_cells == computed and census.tiles == sum(counts.values())
    assert census.skipped_share == pytest.approx(counts[SKIPPED] / census.tiles)
    assert census.allowed.sum() == mask.sum()


def test_a_window_skips_more_of_a_longer_text():
    """A causal window of 16 in tiles of 16: each block of rows computes its diagonal tile and the one before it, so
    the work grows with the text (2 tiles per block of rows) and the share skipped grows towards 1."""
    rule = MaskSpec(causal=True, window=16)
    shares = []
    for n in (64, 256, 1024):
        census = census_of_mask(lambda rows: position_mask(np.arange(n)[rows], np.arange(n), rule), n, 16)
        assert census.count(PARTIAL) + census.count(FULL) == 2 * (n // 16) - 1
        shares.append(census.skipped_share)
    assert shares[0] < shares[1] < shares[2] and shares[2] == 1 - (2 * 64 - 1) / 64**2


def test_a_capture_census_counts_its_layers_own_mask_whole_or_linear(minilm):
    text = "one two three four five six seven eight nine ten eleven twelve"
    spec = MaskSpec(window=3, sinks=1)
    (full,) = run_capture(minilm, [text], spec)
    (linear,) = run_capture(minilm, [text], spec, attnviz.tiles.linear_hooks(range(minilm.n_layers)))
    for block in (2, 4, 8):
        census = block_census(full, 0, block)
        counts, computed = direct_count(full.mask(0), block)
        assert {state: census.count(state) for state in counts} == counts and census.computed_cells == computed
        assert np.array_equal(block_census(linear, 0, block).states, census.states)


def test_the_figure_draws_each_tile_in_its_state_and_says_the_count_in_both_languages():
    n, block = 10, 4
    mask = reference_mask(n, MaskSpec(causal=True))
    census = census_of_mask(lambda rows: mask[rows], n, block)
    fig = kernel_blocks_figure(census, lang="en")
    trace = fig.data[0]
    assert np.array_equal(np.asarray(trace.z), census.states) and list(trace.x) == [-0.5, 3.5, 7.5, 9.5]
    assert trace.customdata[2][0].startswith("queries 8–9 × keys 0–3<br>full: 8 of 8")
    assert trace.customdata[0][1].startswith("queries 0–3 × keys 4–7<br>skipped: 0 of 16")
    assert fig.layout.title.text == "Tiles of 4 × 4"
    assert summary(census, "en") == "Tiles of 4 × 4: 3 of 9 skipped (33%), 3 partly masked, 3 full"
    assert summary(census, "zh") == "4 × 4 的块：9 块中跳过 3 块（33%），部分遮蔽 3 块，完整 3 块"


def test_a_long_text_is_offered_only_tile_sizes_that_keep_the_figure_bounded():
    assert block_sizes(45) == BLOCK_SIZES
    assert block_sizes(8192) == (64, 128, 256)  # 128 tiles of 64 a side at most
    assert all(-(-8192 // size) <= MAX_TILES_PER_SIDE for size in block_sizes(8192))
    census_of_mask(lambda rows: np.ones((rows.stop - rows.start, 512), bool), 512, 4)  # 128 a side: drawn
    with pytest.raises(ValueError, match="more than 128"):
        census_of_mask(lambda rows: np.ones((rows.stop - rows.start, 513), bool), 513, 4)
