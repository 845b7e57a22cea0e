"""Head statistics on hand-made patterns whose answers are known."""

import numpy as np
import pytest

from attnviz.analysis.stats import STAT_COLUMNS, stats_table
from attnviz.capture import Capture
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name


def head_stats(pattern: np.ndarray, tokens: list[str], query_rows: np.ndarray | None = None) -> dict[str, float]:
    """The page's statistics (stats_table, streamed over blocks of rows) of one hand-made head: a capture of one
    layer and one head holding ``pattern``, nothing masked."""
    n = len(tokens)
    capture = Capture(
        {
            hook_name("pattern", 0): np.asarray(pattern, np.float32)[None],
            hook_name("mask", 0): np.ones((n, n), bool),
            "tokens": np.array(tokens),
        },
        model_name="hand-made",
        n_layers=1,
        n_heads=1,
        spec=MaskSpec(),
        special=[t.startswith(("[", "<")) for t in tokens],
        truncated=False,
        full_length=n,
    )
    row = stats_table(capture, query_rows).iloc[0]
    return {name: float(row[name]) for name in STAT_COLUMNS if name in row}


TOKENS = ["[CLS]", "a", "b", "c", "[SEP]"]


def test_identity_pattern_is_all_self():
    s = head_stats(np.eye(5), TOKENS)
    assert s["self"] == pytest.approx(1.0)
    assert s["entropy"] == pytest.approx(0.0)
    assert s["mean_distance"] == pytest.approx(0.0)
    assert s["previous"] == s["next"] == 0.0
    assert s["cls"] == pytest.approx(0.2) and s["sep"] == pytest.approx(0.2)  # only their own rows


def test_previous_token_head():
    p = np.eye(5, k=-1)
    p[0, 0] = 1.0  # the first token has no predecessor and looks at itself
    s = head_stats(p, TOKENS)
    assert s["previous"] == pytest.approx(4 / 5)
    assert s["self"] == pytest.approx(1 / 5)
    assert s["mean_distance"] == pytest.approx(4 / 5)


def test_uniform_pattern_has_log_n_entropy_and_cls_share():
    p = np.full((5, 5), 0.2)
    s = head_stats(p, TOKENS)
    assert s["entropy"] == pytest.approx(np.log(5))
    assert s["cls"] == pytest.approx(0.2)
    assert s["next"] == pytest.approx(0.2 * 4 / 5)
    # mean |i-j| over a uniform 5x5: (sum over all pairs of |i-j|) / 25
    assert s["mean_distance"] == pytest.approx(sum(abs(i - j) for i in range(5) for j in range(5)) / 25)


def test_query_rows_restrict_the_average():
    p = np.eye(5)
    p[4] = [1, 0, 0, 0, 0]  # [SEP] row attends to [CLS]
    rows = np.array([True, True, True, True, False])
    assert head_stats(p, TOKENS, rows)["self"] == pytest.approx(1.0)
    assert head_stats(p, TOKENS)["self"] == pytest.approx(0.8)


def test_induction_head_on_a_repeated_sequence():
    """``<s> a b c a b c``: a perfect induction head sends each repeated token to what followed its first copy."""
    tokens = ["<s>", "a", "b", "c", "a", "b", "c"]
    p = np.zeros((7, 7))
    p[:4, 0] = 1.0  # first occurrences (no earlier copy): all on the first token, the sink
    for i, target in ((4, 2), (5, 3), (6, 4)):  # a→b (position 2), b→c (3), c→a (4: followed c at 3)
        p[i, target] = 1.0
    s = head_stats(p, tokens)
    assert s["induction"] == pytest.approx(1.0)  # averaged over the three queries that have an earlier copy
    assert s["first"] == pytest.approx(4 / 7)
    previous = np.eye(7, k=-1)
    previous[0, 0] = 1.0
    assert head_stats(previous, tokens)["induction"] == pytest.approx(0.0)  # a previous-token head is no induction head
    assert np.isnan(head_stats(np.eye(4), ["<s>", "a", "b", "c"])["induction"])  # no repeats: undefined, not 0


def test_cls_and_sep_columns_only_where_those_tokens_are():
    from attnviz.analysis.stats import stat_columns

    assert "cls" in stat_columns(TOKENS) and "sep" in stat_columns(TOKENS)
    decoder = stat_columns(["<s>", "a", "b"])
    assert "cls" not in decoder and "sep" not in decoder and {"first", "induction"} <= set(decoder)


@pytest.mark.parametrize(
    "name, spec",
    [
        ("all-MiniLM-L6-v2", "chunk"),
        ("mistral-char", "causal"),
        ("dcformer-tiny", "causal"),
        ("mistral-char", "window"),
    ],
)
def test_a_long_texts_table_streamed_from_linear_state_equals_the_whole_maps(name, spec, monkeypatch):
    """A linear capture's statistics come a block of query rows at a time over the keys the mask allows: the same
    table as the stored maps give (padding rows left out as before, induction over the repeated tokens)."""
    from attnviz import tiles
    from attnviz.analysis.stats import stats_table
    from attnviz.capture import get_model, run_capture
    from attnviz.masks import MaskSpec

    model = get_model(name)
    mask = {"chunk": MaskSpec(chunk=7), "causal": MaskSpec(causal=True), "window": MaskSpec(causal=True, window=9)}[
        spec
    ]
    text = "the cat sat on the mat and the dog sat on the log, then the cat sat on the dog " * 4
    (full,) = run_capture(model, [text], mask)
    (linear,) = run_capture(
        model, [text], mask, hooks=tiles.linear_hooks(range(model.n_layers), dcmha=getattr(model, "use_dcmha", False))
    )
    assert linear.is_linear(0) and not full.is_linear(0)
    monkeypatch.setattr(tiles, "ROWS_PER_BLOCK", 16)  # several blocks of rows even for this text
    streamed = stats_table(linear)
    whole = stats_table(full)
    assert list(streamed.columns) == list(whole.columns) and len(streamed) == model.n_layers * model.n_heads
    np.testing.assert_allclose(streamed.to_numpy(dtype=float), whole.to_numpy(dtype=float), atol=2e-5, equal_nan=True)
    assert np.isfinite(whole["induction"]).all()  # the text repeats itself: every head has an induction share


def test_padding_rows_never_count_whatever_the_tokenizer_calls_its_pad_token():
    """GPT-2 pads with <|endoftext|>: the statistics matched the strings "[PAD]"/"<pad>" and counted its padding
    rows as text. They now follow key_is_real, the one rule for real positions."""
    tokens = ["the", "cat", "sat", "<|endoftext|>", "<|endoftext|>"]
    p = np.eye(5)
    p[3:] = 0.2  # padding rows: junk that must not enter the means
    real = np.array([True, True, True, False, False])
    capture = Capture(
        {
            hook_name("pattern", 0): p.astype(np.float32)[None],
            hook_name("mask", 0): np.ones((5, 5), bool),
            "tokens": np.array(tokens),
        },
        model_name="gpt2-like",
        n_layers=1,
        n_heads=1,
        spec=MaskSpec(),
        special=[False] * 3 + [True] * 2,
        truncated=False,
        full_length=5,
        key_is_real=real,
    )
    assert stats_table(capture).iloc[0]["self"] == pytest.approx(1.0)
