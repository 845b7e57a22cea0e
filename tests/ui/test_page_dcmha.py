"""AppTest of pages/2_DCMHA.py: what the page draws is what the model computed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from apptest_utils import array, figure_with_title, figures
from dcmha_reference import independent_c

from attnviz.analysis import dcmha as dv
from attnviz.i18n import translate
from attnviz.models import load_model

TIMEOUT = 180
PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "2_DCMHA.py")
PARTS_SHOWN = ["identity", "query", "key", "query_gate", "key_gate", "C"]


@pytest.fixture(scope="module")
def page():
    """The default page, run once and shared: the tests below run in file order, each from the state
    the previous one left (reads first, then query, window, sandbox and text changes)."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    return at


def reference_capture(at, window="config", causal=True):
    """The same forward, computed here without the page (a model loaded apart from the page's cache)."""
    model = load_model(at.session_state["dc_model"], device="cpu")
    prepared = dv.prepare_text(at.session_state["dc_text"], model)
    return dv.run_dcmha(model, prepared.text, window=window, causal=causal)


def head_z(spec: dict, head: int) -> np.ndarray:
    """The map of one head in a head-grid figure (masked-cell underlays are separate traces)."""
    return next(array(t["z"]) for t in spec["data"] if t.get("name") == f"head {head}")


def compose_panels(at, stage: str) -> list[np.ndarray]:
    spec = figure_with_title(at, "Pre-compose C_ts" if stage == "pre" else "Post-compose C_ts")
    return [array(trace["z"]) for trace in spec["data"]]


def test_page_renders_every_section(page):
    at = page
    assert not at.exception
    titles = [f["layout"]["title"]["text"] for f in figures(at)]
    for fragment in (
        "Pre-compose C_ts",
        "Post-compose C_ts",
        "How much each head draws",
        "the four stages",
        "every head at the four stages",
        "gate strengths",
        "DCFormer (post-compose pattern) vs MHA twin",
        "MiniLM layer 2: heads before",
        "MiniLM layer 2: heads after post-compose",
    ):
        assert any(fragment in t for t in titles), fragment
    assert any("identity" in s.value for s in at.success)  # the sandbox starts at the identity


def test_compose_figures_equal_compose_matrix_and_independent_recomputation(page):
    at = page
    ref = reference_capture(at)
    layer, t, s = at.session_state["dc_layer"], at.session_state["dc_q"], at.session_state["dc_k"]
    for stage in ("pre", "post"):
        panels = compose_panels(at, stage)
        parts = dv.compose(ref, layer, t, s, stage)
        assert len(panels) == len(PARTS_SHOWN)
        for z, key in zip(panels, PARTS_SHOWN):
            np.testing.assert_allclose(z, parts[key], atol=1e-6)
        np.testing.assert_allclose(panels[-1], independent_c(ref, layer, t, s, stage), atol=2e-5)


def test_stage_maps_equal_the_captured_hooks(page):
    at = page
    ref = reference_capture(at)
    layer, head = at.session_state["dc_layer"], at.session_state["dc_head"]
    spec = figure_with_title(at, "the four stages")
    z = {trace["name"]: array(trace["z"]) for trace in spec["data"]}
    allowed = ref.mask(layer)
    names = {k: translate(f"dcmha.stage_{k}", "en") for k in ("raw", "composed", "probs", "pattern", "dpre", "dpost")}
    for stage in dv.STAGES:
        shown = z[names[stage]]
        np.testing.assert_allclose(shown[allowed], dv.stage_maps(ref, layer)[stage][head][allowed], atol=1e-6)
        assert np.isnan(shown[~allowed]).all()
    st = dv.stage_maps(ref, layer)
    np.testing.assert_allclose(z[names["dpost"]][allowed], (st["pattern"] - st["probs"])[head][allowed], atol=1e-6)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_changing_the_query_token_changes_the_compose_matrix(page):
    at = page
    before = {stage: compose_panels(at, stage) for stage in ("pre", "post")}
    t_new = at.session_state["dc_q"] + 3
    at.selectbox(key="dc_q").set_value(t_new).run()
    assert not at.exception
    assert f"t={t_new}" in figure_with_title(at, "Pre-compose C_ts")["layout"]["title"]["text"]
    after = {stage: compose_panels(at, stage) for stage in ("pre", "post")}
    if dv.uses_dcmha(reference_capture(at)):
        for stage in ("pre", "post"):
            assert not np.allclose(before[stage][-1], after[stage][-1]), stage  # C_ts changed
            assert not np.allclose(before[stage][1], after[stage][1])  # its query-wise part too
    assert at.query_params["dc_q"] == str(t_new)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_changing_the_window_changes_the_maps(page):
    at = page
    layer = at.session_state["dc_layer"]
    assert reference_capture(at).layer_windows[layer] is not None  # layer 0 is a local layer
    at.slider(key="dc_window").set_value(3).run()
    assert not at.exception
    spec = figure_with_title(at, "the four stages")
    probs = array(spec["data"][3]["z"])
    n = probs.shape[0]
    i, j = np.indices((n, n))
    assert np.array_equal(~np.isnan(probs), (j <= i) & (i - j < 3))  # the real forward used w = 3
    ref = reference_capture(at, window=3)
    assert at.session_state["dc_global"] is False
    np.testing.assert_allclose(
        probs[~np.isnan(probs)], dv.stage_maps(ref, layer)["probs"][0][~np.isnan(probs)], atol=1e-6
    )
    assert any("Intervention" in w.value for w in at.warning)
    assert at.query_params["dc_window"] == "3"
    at.checkbox(key="dc_global").check().run()
    probs = array(figure_with_title(at, "the four stages")["data"][3]["z"])
    assert np.array_equal(~np.isnan(probs), j <= i)
    assert at.query_params["dc_global"] == "1"


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_url_reopens_the_view_and_language_switches_labels():
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params.update(
        {
            "dc_text": "猫坐在垫子上。猫坐在垫子上。",
            "dc_layer": "1",
            "dc_q": "9",
            "dc_k": "2",
            "lang": "zh",
            "dc_head": "2",
            "sb_preset": "swap",
            "sb_matrix": "0.0=0;0.1=1;1.0=1;1.1=0",
        }
    )
    at.run()
    assert not at.exception
    assert at.title[0].value.startswith("DCMHA —— 注意力头的动态组合")
    assert at.selectbox(key="dc_q").value == 9 and at.selectbox(key="dc_layer").value == 1
    spec = figure_with_title(at, "第 1 层 · t=9")
    assert "输出头" in spec["layout"]["yaxis"]["title"]["text"]
    assert figure_with_title(at, "第 1 层 · 头 2")
    sandbox_after = figure_with_title(at, "MiniLM 第 2 层：post-compose 之后的各头")
    before = figure_with_title(at, "组合之前的各头")
    np.testing.assert_allclose(head_z(sandbox_after, 0), head_z(before, 1), atol=1e-6)


def test_sandbox_preset_swaps_heads(page):
    at = page
    at.number_input(key="sb_b").set_value(3)
    at.selectbox(key="sb_preset").set_value("swap").run()
    assert not at.exception
    assert at.query_params["sb_matrix"] == "0.0=0;0.3=1;3.0=1;3.3=0"
    after = figure_with_title(at, "heads after post-compose")
    before = figure_with_title(at, "heads before")
    np.testing.assert_allclose(head_z(after, 0), head_z(before, 3), atol=1e-6)
    np.testing.assert_allclose(head_z(after, 1), head_z(before, 1), atol=1e-6)
    np.testing.assert_allclose(head_z(after, 3), head_z(before, 0), atol=1e-6)
    assert not any("identity" in s.value for s in at.success)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_generation_with_both_models(page):
    at = page
    at.slider(key="dc_gen_chars").set_value(12)
    at.button(key="dc_gen").click().run()
    assert not at.exception
    prompt = at.session_state["dc_text"]
    shown = [c.value for c in at.code]
    assert len(shown) == 2 and all(v.startswith(prompt) and len(prompt) < len(v) <= len(prompt) + 12 for v in shown)
    at.text_input(key="dc_text").set_value("").run()  # the tabs are gone with the text...
    at.text_input(key="dc_text").set_value(prompt).run()
    assert not at.exception and at.slider(key="dc_gen_chars").value == 12  # ...and the choice comes back with them


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_bad_input_gives_a_message_not_a_traceback(page):
    at = page
    for text, kind, fragment in [
        ("", "info", "empty"),
        ("   ", "info", "empty"),
        ("cat ☃ dog ☃", "warning", "‘☃’"),
        ("the cat " * 200, "warning", "only the first 1,024"),  # the most it reads, with its local windows
        ("the cat " * 200, "info", "more than the 256 the model was trained on"),
    ]:
        at.text_input(key="dc_text").input(text).run()
        assert not at.exception, text
        messages = at.info if kind == "info" else at.warning
        assert any(fragment in m.value for m in messages), [m.value for m in messages]
    assert array(figure_with_title(at, "the four stages")["data"][0]["z"]).shape == (
        256,
        256,
    )  # the region around the query


def test_the_comparison_tab_draws_both_models_on_one_scale():
    """DCFormer's post-composed maps may be negative; the MHA twin's never are. Side by side, both grids share one
    scale with one meaning (diverging for both, one limit), so a colour is the same number in both."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    dc, mha = figure_with_title(at, "every head after post-compose"), figure_with_title(at, "every head (softmax)")
    assert dc["layout"]["coloraxis"] == mha["layout"]["coloraxis"]


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_the_redundancy_tab_states_what_the_numbers_show_for_both_models():
    """Per layer, the mean cosine between distinct heads and the mean effective rank of the maps, for the DCFormer
    and its twin on the page's text: the bars carry the same numbers as an independent computation, the two
    head × head matrices share one colour scale, and the verdicts are written in the chosen language."""
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception
    dc_model, mha_model = load_model("dcformer-tiny", device="cpu"), load_model("mha-tiny", device="cpu")
    text = dv.prepare_text(at.session_state["dc_text"], dc_model).text
    dc, mha = dv.run_dcmha(dc_model, text), dv.run_dcmha(mha_model, text)
    bars = figure_with_title(at, "How alike a layer's heads are")
    for trace, cap in zip(bars["data"], (dc, mha)):
        expected = []
        for layer in range(cap.n_layers):
            maps = cap.pattern(layer).reshape(cap.n_heads, -1).astype(np.float64)
            unit = maps / np.linalg.norm(maps, axis=1, keepdims=True)
            cosine = unit @ unit.T
            expected.append(cosine[~np.eye(cap.n_heads, dtype=bool)].mean())
        np.testing.assert_allclose(array(trace["y"]), expected, atol=1e-5)
    left, right = (
        figure_with_title(at, "DCFormer · after post-compose"),
        figure_with_title(at, "MHA twin · softmax"),
    )
    assert left["data"][0]["zmin"] == right["data"][0]["zmin"] and left["data"][0]["zmax"] == right["data"][0]["zmax"]
    verdicts = [m.value for m in at.markdown if m.value.startswith(("**Alike:**", "**Directions:**"))]
    assert len(verdicts) == 2
    chinese = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    chinese.query_params["lang"] = "zh"
    chinese.run()
    assert not chinese.exception
    assert sum(m.value.startswith(("**相似度**：", "**方向数**：")) for m in chinese.markdown) == 2


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_long_text_is_read_whole_and_its_maps_are_the_exact_region_around_the_chosen_query():
    """Beyond the 256 characters it was trained on the DCFormer reads on (flagged); every tab works; the stage maps are
    the region of the whole text's forward around the chosen query, and choosing another query moves it."""
    from attnviz.capture import get_model, run_capture
    from attnviz.masks import MaskSpec

    text = ("the quick brown fox jumps over the lazy dog while the cat sleeps. " * 12)[:700].strip()
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params.update(dc_text=text)
    at.run()
    assert not at.exception
    assert any("more than the 256 the model was trained on" in i.value for i in at.info)
    assert figure_with_title(at, f"the whole text ({len(text)} characters)")  # the head's whole map, in blocks
    everything = run_capture(get_model("dcformer-tiny"), [text], MaskSpec(), local_window="config", causal=True)[0]
    for query, first in (
        (0, 0),
        (500, 320),
    ):  # the region: 256 characters around the query, on a query block's boundary
        at.selectbox(key="dc_q").set_value(query).run()
        assert not at.exception
        assert any(f"positions {first}–{first + 255}" in i.value for i in at.info)
        layer, head = at.session_state["dc_layer"], at.session_state["dc_head"]
        z = array(figure_with_title(at, "the four stages")["data"][0]["z"]).astype(float)
        raw = everything[f"blocks.{layer}.attn.hook_scores"][head, first : first + 256, first : first + 256]
        allowed = everything.mask(layer)[first : first + 256, first : first + 256]
        np.testing.assert_allclose(z[allowed], raw[allowed], atol=1e-4, rtol=1e-5)
    at.text_input(key="dc_text").set_value("the cat sat").run()  # and back to a short text: whole maps again
    assert not at.exception and not any("positions" in i.value for i in at.info)


def test_a_long_texts_dcmha_forward_runs_in_the_analysis_lane_and_a_short_one_does_not(monkeypatch):
    """Five students' 1,000-character DCMHA texts (15-18 s first runs) held the forward workers every page's short
    sentence needs; a long text's DCMHA forward now runs in the analysis lane."""
    import ui.dcmha
    import ui.offered
    import ui.session

    lanes = []
    real = ui.session.remembered
    monkeypatch.setattr(
        ui.dcmha,
        "remembered",
        lambda slot, key, compute, lane="forward": lanes.append((slot, lane)) or real(slot, key, compute, lane),
    )
    model = ui.offered.get_model("dcformer-tiny")
    ui.dcmha.capture_for(model, "The cat sat.", None, True)
    ui.dcmha.capture_for(model, "the cat sat on the mat. " * 20, None, True)  # 480 characters: long
    assert [lane for slot, lane in lanes if slot.startswith("dcmha:dcformer")] == ["forward", "analysis"]


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_long_text_holds_one_of_the_servers_heavy_slots_while_the_page_draws_and_gives_it_back(monkeypatch):
    """Five students' 1,000-character DCMHA pages drew at once beside a short sentence (its worst wait 1.99 s): a
    long text's run now takes one of the server's few heavy slots before it computes and frees it when the page
    is drawn, like the main page's long texts; a short text never takes one."""
    import ui.session

    taken, free_before = [], ui.session.HEAVY._slots._value
    real = ui.session.HEAVY.take
    monkeypatch.setattr(ui.session.HEAVY, "take", lambda: taken.append(True) or real())
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT).run()
    assert not at.exception and taken == []
    at.text_input(key="dc_text").set_value("the cat sat on the mat. " * 20).run()  # 480 characters
    assert not at.exception and taken == [True]
    assert ui.session.HEAVY._slots._value == free_before  # given back once the page was drawn
    at.text_input(key="dc_text").set_value("the cat sat").run()
    assert not at.exception and taken == [True]
