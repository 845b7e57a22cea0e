"""What the main and Compare pages capture: every layer's pattern and mask, and the raw scores recorded (a short
sentence), from q and k (a longer one) or from a small capture of the one layer in focus; the same numbers as a
capture of everything, at a fraction of the bytes."""

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_utils import figure_with_title
from attnviz.capture import run_capture
from attnviz.masks import MaskSpec
from ui import session

TIMEOUT = 120
ROOT = Path(__file__).resolve().parents[2]
EVERYTHING_DRAWN = ("blocks.*.attn.hook_pattern", "blocks.*.attn.hook_scores", "blocks.*.attn.hook_mask")
LONGER = "word " * 140  # 142 tokens: with every layer's scores 11.6 MB, over SESSION_CAPTURE_MB (8)


@pytest.fixture
def forwards(monkeypatch):
    """The hooks of every forward pass the pages run, from an empty shared cache."""
    calls = []
    real = session.run_capture

    def counting(model, texts, spec, hooks=None):
        calls.append(hooks)
        return real(model, texts, spec, hooks=hooks)

    monkeypatch.setattr(session, "run_capture", counting)
    session.shared_captures().clear()
    yield calls
    session.shared_captures().clear()


@pytest.mark.parametrize(
    "texts",
    [
        ["The animal didn't cross the street because it was too tired."],
        ["The cat sat.", "A longer second sentence pads the first."],
    ],
)
@pytest.mark.parametrize("spec", [MaskSpec(), MaskSpec(causal=True, window=3)])
def test_one_layers_scores_are_those_of_a_capture_of_every_layer(minilm, texts, spec):
    everything = run_capture(minilm, texts, spec, hooks=EVERYTHING_DRAWN)
    for layer in (0, 3, minilm.n_layers - 1):
        alone = run_capture(minilm, texts, spec, hooks=session.scores_hooks(layer))
        for full, small in zip(everything, alone):
            assert list(small) == [f"blocks.{layer}.attn.hook_scores", "tokens", "token_ids", "token_pieces"]
            np.testing.assert_array_equal(small.scores(layer), full.scores(layer))


def test_one_layers_scores_stop_the_forward_after_that_layer(minilm):
    reached = []
    handle = minilm.hook("blocks.4.attn.hook_pattern").register_forward_hook(lambda *args: reached.append(1))
    try:
        run_capture(minilm, ["The cat sat."], MaskSpec(), hooks=session.scores_hooks(3))
        assert not reached  # layers 4 and 5 never ran
        run_capture(
            minilm, ["The cat sat."], MaskSpec(), hooks=("blocks.3.attn.hook_*",)
        )  # a pattern: its names, then stop
        assert not reached
        run_capture(minilm, ["The cat sat."], MaskSpec(), hooks=session.scores_hooks(5))
        run_capture(minilm, ["The cat sat."], MaskSpec(), hooks=None)  # everything: all of it
        assert len(reached) == 2
    finally:
        handle.remove()


def test_one_layers_scores_of_the_character_model_too():
    from attnviz.capture import get_model

    model = get_model("dcformer-tiny")
    everything = run_capture(model, ["the cat sat on the mat"], MaskSpec(causal=True), hooks=EVERYTHING_DRAWN)
    alone = run_capture(model, ["the cat sat on the mat"], MaskSpec(causal=True), hooks=session.scores_hooks(1))
    np.testing.assert_array_equal(alone[0].scores(1), everything[0].scores(1))


def test_a_short_text_keeps_one_forward_pass_with_every_layers_scores(forwards):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    at.slider(key="layer").set_value(3).run()
    at.slider(key="head").set_value(7).run()
    assert forwards == [session.VIEW_HOOKS + session.ALL_SCORES]  # as before: small, kept in the session


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_longer_text_captures_q_and_k_once_and_the_sliders_recompute_nothing(minilm, forwards):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({"text": LONGER, "text2": "Short."})  # the padding maps use the same capture
    at.run()
    assert not at.exception
    assert forwards == [session.VIEW_HOOKS + session.QK_HOOKS]  # every layer's scores would be 5.8 MB more; q, k: 2.6
    at.slider(key="head").set_value(7).run()
    at.slider(key="layer").set_value(3).run()
    assert forwards == [session.VIEW_HOOKS + session.QK_HOOKS]  # any layer's scores come from its q and k

    # the hover's raw scores are the model's own hook_scores, for both padded sentences
    everything = run_capture(minilm, [LONGER.strip(), "Short."], MaskSpec(), hooks=EVERYTHING_DRAWN)
    for index, title in enumerate(["Layer 3 · head 7", "Sentence 2"]):
        spec = figure_with_title(at, title)
        raw = np.array([[cell[2] for cell in row] for row in spec["data"][0]["customdata"]], dtype=float)
        np.testing.assert_allclose(raw, everything[index].scores(3)[7], atol=6e-5)  # shown to 4 decimals


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_the_compare_page_captures_no_scores_for_a_longer_text(forwards):
    at = AppTest.from_file(str(ROOT / "pages" / "1_Compare_heads.py"), default_timeout=TIMEOUT)
    at.query_params.update({"text": LONGER})
    at.run()
    assert not at.exception
    # one forward pass: the effective ranks rebuild each layer's scores from the view's own q and k
    assert forwards == [session.VIEW_HOOKS + session.QK_HOOKS]


def test_a_heads_export_still_holds_its_scores(minilm, forwards):
    from ui.controls import View

    texts = ("The cat sat.", "A longer second sentence pads the first.")
    captures = session.captures_for("all-MiniLM-L6-v2", texts, MaskSpec())
    view = View("all-MiniLM-L6-v2", minilm, MaskSpec(), captures, False, texts)
    everything = run_capture(minilm, list(texts), MaskSpec(), hooks=EVERYTHING_DRAWN)
    arrays = view.head_arrays(2, 5, index=1)
    assert set(arrays) == {
        "blocks.2.attn.hook_pattern",
        "blocks.2.attn.hook_scores",
        "blocks.2.attn.hook_mask",
        "tokens",
        "token_ids",
        "token_pieces",
    }
    np.testing.assert_array_equal(arrays["blocks.2.attn.hook_scores"], everything[1].scores(2)[5])
    assert "blocks.2.attn.hook_scores" in view.layer_arrays(2, index=1)


def test_a_long_text_takes_a_slot_only_while_its_page_runs(forwards, monkeypatch):
    taken = []
    real_hold = session.HEAVY.hold
    monkeypatch.setattr(session.HEAVY, "hold", lambda size: taken.append(real_hold(size)) or taken[-1])
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({"text": "word " * 200})  # 202 tokens: a 11 MB capture
    at.run()
    assert not at.exception
    assert taken and all(taken)  # the large capture took the slot; the scores' captures ran under it
    assert session.HEAVY._slots._value == session.HEAVY.slots  # given back at the end of the run
    first = len(taken)
    at.text_input(key="text").input("A short one.").run()
    assert len(taken) > first and not any(taken[first:])
    assert session.HEAVY._slots._value == session.HEAVY.slots
