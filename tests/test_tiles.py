"""Exact tiles of attention maps from linear state (q, k, the row normaliser, the mask rule), for every family
that records them, against a full capture of the same text under the same mask."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz import tiles
from attnviz.capture import get_model, run_capture
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name


TEXT = "the cat sat on the mat and the dog sat on the log while the owl watched the cat"
CASES = [
    ("minilm", MaskSpec()),
    ("minilm", MaskSpec(causal=True, window=4)),
    ("minilm", MaskSpec(chunk=5)),
    ("minilm", MaskSpec(alibi=True, softcap=4.0, window=4, sinks=2)),  # score modifications and sinks
    ("gpt2", MaskSpec(causal=True)),
    ("llama", MaskSpec(causal=True, window=3)),
    ("qwen2", MaskSpec(causal=True)),
    ("mistral", MaskSpec(causal=True)),
    ("gemma2", MaskSpec(causal=True, chunk=6)),
    ("gemma2", MaskSpec(causal=True, alibi=True, softcap=5.0, window=4, sinks=1)),  # its own softcap, then the user's
    ("gpt_oss", MaskSpec(causal=True)),
]


CASES += [("dcformer-tiny", MaskSpec(causal=True)), ("mha-tiny", MaskSpec(causal=True, window=5))]


@pytest.fixture
def model(request, build):  # noqa: F811
    if request.param in ("minilm", "dcformer-tiny", "mha-tiny"):
        return get_model("all-MiniLM-L6-v2" if request.param == "minilm" else request.param)
    return build(request.param).adapter


@pytest.mark.parametrize(
    "model, spec", [pytest.param(m, s, id=f"{m}-{i}") for i, (m, s) in enumerate(CASES)], indirect=["model"]
)
def test_tiles_from_linear_state_equal_the_full_capture(model, spec):
    (full,) = run_capture(model, [TEXT], spec)
    hooks = tiles.linear_hooks(range(model.n_layers), dcmha=getattr(model, "use_dcmha", False)) + [hook_name("z", "*")]
    (linear,) = run_capture(model, [TEXT], spec, hooks=hooks)
    assert not linear.recorded(hook_name("pattern", 0))  # no map was recorded, nor computed whole (the block path ran)
    n = len(full.tokens)
    rng = np.random.default_rng(0)
    for layer in range(model.n_layers):
        np.testing.assert_allclose(linear[hook_name("lse", layer)], full[hook_name("lse", layer)], atol=1e-5)
        np.testing.assert_allclose(
            linear[hook_name("z", layer)], full[hook_name("z", layer)], atol=1e-5
        )  # same forward
        pattern, scores = full.pattern(layer), full.scores(layer)
        np.testing.assert_allclose(tiles.full_pattern(linear, layer), pattern, atol=1e-5)
        for _ in range(4):
            head = int(rng.integers(model.n_heads))
            a, c = (int(x) for x in rng.integers(0, n - 3, 2))
            rows, cols = slice(a, int(rng.integers(a + 1, n + 1))), slice(c, int(rng.integers(c + 1, n + 1)))
            np.testing.assert_allclose(
                tiles.pattern_tile(linear, layer, head, rows, cols), pattern[head, rows, cols], atol=1e-5
            )
            np.testing.assert_allclose(
                tiles.scores_tile(linear, layer, head, rows, cols), scores[head, rows, cols], atol=1e-4, rtol=1e-5
            )
            np.testing.assert_array_equal(tiles.allowed_tile(linear, layer, rows, cols), full.mask(layer)[rows, cols])
    size = 5
    starts = tiles._blocks(n, size) + [n]
    for how, reduce in (("mean", np.mean), ("max", np.max)):
        small = tiles.downsampled(linear, 0, 1, size, how)
        expected = [
            [reduce(full.pattern(0)[1, a:b, c:d]) for c, d in zip(starts, starts[1:])]
            for a, b in zip(starts, starts[1:])
        ]
        np.testing.assert_allclose(small, expected, atol=1e-5)
    p = full.pattern(0).astype(np.float64)
    entropy = -(p * np.log(np.where(p > 0, p, 1))).sum(-1)[:, full.key_is_real].mean(-1)
    from attnviz.analysis.stats import stats_table  # every head's entropy, streamed over blocks of rows

    np.testing.assert_allclose(stats_table(linear).query("layer == 0")["entropy"], entropy, atol=1e-5)


def test_a_padded_batch_keeps_padding_out_of_every_tile():
    model = get_model("all-MiniLM-L6-v2")
    texts = ["the cat sat", "a much longer second sentence pads the first one"]
    full = run_capture(model, texts, MaskSpec())
    linear = run_capture(model, texts, MaskSpec(), hooks=tiles.linear_hooks(range(model.n_layers)))
    assert not linear[0].key_is_real.all()
    np.testing.assert_allclose(tiles.full_pattern(linear[0], 2), full[0].pattern(2), atol=1e-5)


MEASURE = r"""
import resource, sys, torch, transformers
sys.path.insert(0, {tests!r})
from tiny_tokenizer import byte_level_tokenizer
from attnviz import tiles
from attnviz.hooks import recording
from attnviz.masks import MaskSpec
from attnviz.models.base import Encoding
from attnviz.models.hf import ATTN_NAME, HFAttentionModel, family_of, register_attnviz_attention

torch.set_num_threads(1)
register_attnviz_attention()
tokenizer = byte_level_tokenizer(["the cat sat on the mat"])
config = transformers.LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=64, num_hidden_layers=2,
                                  num_attention_heads=8, num_key_value_heads=2, max_position_embeddings=16384)
model = HFAttentionModel(transformers.LlamaForCausalLM(config).eval(), tokenizer, "llama", family_of("llama"))
n = {n}
ids = torch.randint(0, len(tokenizer), (1, n))
encoding = Encoding(ids, torch.ones_like(ids, dtype=torch.bool), torch.zeros_like(ids), [["x"] * n], [[False] * n], [False], [n])
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with torch.inference_mode(), recording(tiles.linear_hooks(range(2))) as rec:
    model(encoding, MaskSpec(causal=True))
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
stored = sum(t.numel() * t.element_size() for t in rec.tensors.values())
print((after - before) * 1024, stored)
"""


@pytest.mark.slow  # three fresh processes at 1k, 4k and 8k tokens
def test_a_capture_for_tiles_grows_linearly_with_the_text():
    """Peak memory of a forward recording only the linear state, at 1k, 4k and 8k tokens (fresh processes): what is
    stored grows exactly linearly, and the peak stays far below one (heads × T × T) map (8k: 2 GiB in float32)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    tests = str(root / "tests" / "support")
    measured = {}
    for n in (1024, 4096, 8192):
        out = subprocess.run(
            [sys.executable, "-c", MEASURE.format(tests=tests, n=n)],
            capture_output=True,
            text=True,
            timeout=600,
            cwd=str(root),
        )
        assert out.returncode == 0, out.stderr[-2000:]
        peak, stored = (int(x) for x in out.stdout.split())
        measured[n] = (peak, stored)
    s1, s4, s8 = (measured[n][1] for n in (1024, 4096, 8192))
    assert (s8 - s4) * 3 == (s4 - s1) * 4  # a fixed part (the score scales) plus exactly so much per token
    one_map = 8 * 8192 * 8192 * 4
    assert measured[8192][0] < one_map / 4, measured  # quadratic would need several such maps at once
    print("peak memory above the model's (MB):", {n: round(peak / 2**20) for n, (peak, _) in measured.items()})


@pytest.mark.parametrize(
    "model, spec",
    [pytest.param(m, s, id=f"{m}-{i}") for i, (m, s) in enumerate(CASES) if i in (1, 4, 6, 9)],
    indirect=["model"],
)
def test_block_maps_are_exact_block_means_with_each_blocks_strongest_cell(model, spec):
    (full,) = run_capture(model, [TEXT], spec)
    (linear,) = run_capture(
        model, [TEXT], spec, hooks=tiles.linear_hooks(range(model.n_layers), dcmha=getattr(model, "use_dcmha", False))
    )
    n, layer, head = len(full.tokens), model.n_layers - 1, model.n_heads - 1
    pattern, scores = full.pattern(layer)[head].astype(np.float64), full.scores(layer)[head]
    for rows, cols in ((slice(0, n), slice(0, n)), (slice(3, n - 2), slice(1, n - 5))):
        blocks = tiles.block_map(linear, layer, head, 6, rows, cols)
        means = tiles.block_map(linear, layer, head, 6, rows, cols, strongest=False)
        row_ends, col_ends = np.append(blocks.row_starts[1:], rows.stop), np.append(blocks.col_starts[1:], cols.stop)
        for i, (a, b) in enumerate(zip(blocks.row_starts, row_ends)):
            for j, (c, d) in enumerate(zip(blocks.col_starts, col_ends)):
                region = pattern[a:b, c:d]
                assert blocks.mean[i, j] == pytest.approx(region.mean(), abs=1e-5) == means.mean[i, j]
                assert blocks.weight[i, j] == pytest.approx(region.max(), abs=1e-5)
                assert (means.weight[i, j] > 0) == (region.max() > 0)
                q, k = blocks.query[i, j], blocks.key[i, j]
                assert a <= q < b and c <= k < d and pattern[q, k] == pytest.approx(region.max(), abs=1e-5)
                if (
                    region.max() > 0 and hook_name("pre_qw1", layer) not in linear
                ):  # a DCFormer's scores are composed after
                    assert blocks.score[i, j] == pytest.approx(scores[q, k], abs=1e-4)
    assert tiles.block_map(linear, layer, head, n).exact and not blocks.exact


@pytest.mark.parametrize(
    "model, spec",
    [pytest.param(m, s, id=f"{m}-{i}") for i, (m, s) in enumerate(CASES) if i in (1, 4, 9)],
    indirect=["model"],
)
def test_a_capture_that_stores_its_maps_gives_the_same_tiles_and_blocks_as_a_linear_one(model, spec):
    """A text of a few hundred tokens keeps its maps whole but is drawn in blocks too: its tiles are regions of the
    stored maps, its block maps the same as the linear capture's (strongest cells' scores from q and k, or recorded)."""
    dcmha = getattr(model, "use_dcmha", False)
    (linear,) = run_capture(model, [TEXT], spec, hooks=tiles.linear_hooks(range(model.n_layers), dcmha=dcmha))
    (with_qk,) = run_capture(
        model,
        [TEXT],
        spec,
        hooks=(
            "blocks.*.attn.hook_pattern",
            "blocks.*.attn.hook_q",
            "blocks.*.attn.hook_k",
            "blocks.*.attn.hook_score_scale",
        ),
    )
    (with_scores,) = run_capture(model, [TEXT], spec, hooks=("blocks.*.attn.hook_pattern", "blocks.*.attn.hook_scores"))
    assert not with_qk.is_linear(0) and with_qk.holds_scores(0) and with_scores.holds_scores(0)
    n, layer, head = len(linear.tokens), model.n_layers - 1, model.n_heads - 1
    rows, cols = slice(2, n - 1), slice(1, n - 4)
    for stored in (with_qk, with_scores):
        np.testing.assert_allclose(
            tiles.pattern_tile(stored, layer, head, rows, cols),
            tiles.pattern_tile(linear, layer, head, rows, cols),
            atol=1e-5,
        )
        np.testing.assert_allclose(
            tiles.scores_tile(stored, layer, head, rows, cols),
            tiles.scores_tile(linear, layer, head, rows, cols),
            atol=1e-4,
            rtol=1e-5,
        )
        a, b = tiles.block_map(stored, layer, head, 5, rows, cols), tiles.block_map(linear, layer, head, 5, rows, cols)
        np.testing.assert_allclose(a.mean, b.mean, atol=1e-5)
        np.testing.assert_array_equal(a.query, b.query)
        np.testing.assert_array_equal(a.key, b.key)
        np.testing.assert_allclose(a.score, b.score, atol=1e-4, rtol=1e-5)
    np.testing.assert_allclose(with_qk.scores(layer), with_scores.scores(layer), atol=1e-4, rtol=1e-5)  # from q and k


@pytest.mark.parametrize(
    "model, spec",
    [pytest.param(m, s, id=f"{m}-{i}") for i, (m, s) in enumerate(CASES) if i in (1, 2, 4, 9)],
    indirect=["model"],
)
def test_every_heads_thumbnail_is_the_exact_block_means_from_stored_or_linear_state(model, spec):
    dcmha = getattr(model, "use_dcmha", False)
    (full,) = run_capture(model, [TEXT], spec)
    (linear,) = run_capture(model, [TEXT], spec, hooks=tiles.linear_hooks(range(model.n_layers), dcmha=dcmha))
    n, layer, size = len(full.tokens), model.n_layers - 1, 6
    starts = tiles._blocks(n, size) + [n]
    pattern, mask = full.pattern(layer).astype(np.float64), full.mask(layer)
    expected = np.array(
        [
            [
                [pattern[h, a:b, c:d].mean() if mask[a:b, c:d].any() else np.nan for c, d in zip(starts, starts[1:])]
                for a, b in zip(starts, starts[1:])
            ]
            for h in range(model.n_heads)
        ]
    )
    for cap in (full, linear):
        np.testing.assert_allclose(tiles.layer_block_means(cap, layer, size), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["dcformer-tiny", "mha-tiny"])
def test_every_dcmha_stage_of_any_region_comes_from_linear_state(name):
    """Raw scores, after pre-compose, softmax and after post-compose: tiles of a linear capture (and whole maps asked for
    by name) equal what the forward recorded, for the DCFormer and for its MHA twin (no compose: the stages repeat)."""
    model = get_model(name)
    spec = MaskSpec(causal=True, window=9)
    (full,) = run_capture(model, [TEXT], spec)
    (linear,) = run_capture(model, [TEXT], spec, hooks=tiles.linear_hooks(range(model.n_layers), dcmha=model.use_dcmha))
    n = len(full.tokens)
    for layer in range(model.n_layers):
        rows, cols = slice(3, n - 2), slice(1, n - 7)
        for source in (full, linear):
            stages = tiles.stage_tiles(source, layer, rows, cols)
            for stage, hook in tiles.STAGE_HOOKS.items():
                expected = full[hook_name(hook, layer)][:, rows, cols]
                np.testing.assert_allclose(
                    stages[stage], expected, atol=1e-4, rtol=1e-5, err_msg=f"{name} {stage} {layer}"
                )
        if model.use_dcmha:
            for hook in ("scores_composed", "probs"):  # by name, from the linear state
                np.testing.assert_allclose(
                    linear[hook_name(hook, layer)], full[hook_name(hook, layer)], atol=1e-4, rtol=1e-5
                )


@pytest.mark.parametrize(
    "model, spec",
    [pytest.param(m, s, id=f"{m}-{i}") for i, (m, s) in enumerate(CASES) if i in (0, 4, 8, 9)],
    indirect=["model"],
)
def test_every_heads_tile_at_once_equals_head_by_head(model, spec):
    (linear,) = run_capture(
        model, [TEXT], spec, hooks=tiles.linear_hooks(range(model.n_layers), dcmha=getattr(model, "use_dcmha", False))
    )
    n = len(linear.tokens)
    rows, cols = slice(2, n - 3), slice(0, n - 1)
    for layer in (0, model.n_layers - 1):
        together = tiles.heads_tile(linear, layer, rows, cols)
        one_by_one = np.stack([tiles.pattern_tile(linear, layer, head, rows, cols) for head in range(model.n_heads)])
        np.testing.assert_allclose(together, one_by_one, atol=1e-6)
