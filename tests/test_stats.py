"""Head statistics on hand-made patterns whose answers are known."""

import numpy as np
import pytest

from attnviz.stats import head_stats

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
