"""Compare heads, the views over every head at once: which heads attend alike, and their effective ranks."""

from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from apptest_utils import array, figure_with_title, figures

ROOT = Path(__file__).resolve().parents[2]
COMPARE = str(ROOT / "pages" / "1_Compare_heads.py")
TIMEOUT = 120


def similarity(at) -> np.ndarray:
    return array(figure_with_title(at, "against each other")["data"][0]["z"]).astype(float)


def test_the_similarity_matrix_covers_every_head_and_is_a_distance(minilm):
    at = AppTest.from_file(COMPARE, default_timeout=TIMEOUT).run()
    assert not at.exception
    js = similarity(at)
    n = minilm.n_layers * minilm.n_heads
    assert js.shape == (n, n)
    np.testing.assert_allclose(js, js.T, atol=1e-6)
    np.testing.assert_allclose(np.diag(js), 0.0, atol=1e-6)  # the order permutes rows and columns alike
    assert 0 <= js.min() and js.max() <= 1
    at.radio(key="similarity_metric").set_value("cosine").run()
    cosine = similarity(at)
    np.testing.assert_allclose(np.diag(cosine), 1.0, atol=1e-5)
    assert at.query_params["similarity_metric"] == "cosine"


def test_the_masks_change_which_heads_look_alike():
    at = AppTest.from_file(COMPARE, default_timeout=TIMEOUT).run()
    before = similarity(at)
    at.checkbox(key="causal").check().run()
    assert not at.exception
    assert not np.allclose(before, similarity(at))


def test_effective_ranks_of_the_scores_never_pass_d_head(minilm):
    at = AppTest.from_file(COMPARE, default_timeout=TIMEOUT).run()
    spec = figure_with_title(at, "Effective rank")
    bars = {trace["name"]: array(trace["y"]) for trace in spec["data"] if trace["type"] == "bar"}
    scores = next(values for name, values in bars.items() if "score" in name)
    assert len(scores) == minilm.n_layers * minilm.n_heads
    assert (scores <= minilm.d_head + 1e-6).all() and (scores >= 1).all()
    assert any(f"d_head = {minilm.d_head}" in c.value for c in at.caption)


def test_clearing_the_sentence_then_typing_again_brings_the_views_back():
    at = AppTest.from_file(COMPARE, default_timeout=TIMEOUT).run()
    at.text_input(key="text").set_value("").run()
    assert not at.exception and not figures(at)
    at.text_input(key="text").set_value("Dogs chase cats and cats chase mice.").run()
    assert not at.exception
    assert similarity(at).shape[0] == 72
    figure_with_title(at, "Effective rank")


def test_a_model_with_negative_weights_is_told_to_use_the_cosine():
    """The DCFormer's post-composed maps can hold negative weights: no JS distance of those, a message instead."""
    at = AppTest.from_file(COMPARE, default_timeout=TIMEOUT)
    at.query_params["model"] = "dcformer-tiny"
    at.run()
    assert not at.exception
    if any("negative weights" in i.value for i in at.info):
        at.radio(key="similarity_metric").set_value("cosine").run()
    assert not at.exception
    assert similarity(at).shape[0] > 0


def test_chinese_labels_on_the_new_views():
    at = AppTest.from_file(COMPARE, default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh"
    at.run()
    assert not at.exception
    assert any("重复" in s.value for s in at.subheader) and any("有效秩" in s.value for s in at.subheader)
    spec = figure_with_title(at, "两两比较")
    assert "头" in spec["layout"]["xaxis"]["title"]["text"]
