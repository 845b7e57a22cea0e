"""attnviz.analysis.dcmha: captures, compose matrices (against the hooks and an independent recomputation),
summaries, text preparation, and the MiniLM sandbox (identity changes nothing, a permutation swaps heads)."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
import torch

from attnviz.analysis import dcmha as dv
from dcmha_reference import independent_c
from attnviz.masks import query_block_spans
from attnviz.models.char_lm import CharLanguageModel
from attnviz.models.dcformer import DCFormer, DCFormerConfig
from attnviz.models.vocab import CharTokenizer
from attnviz.analysis.dcmha import compose_matrix
from attnviz.models.dcformer_checkpoint import save_dcformer

torch.set_num_threads(1)
TEXT = "the cat sat on the mat. 猫坐在垫子上。"
ATOL = 2e-5


def boosted_tiny(directory, use_dcmha: bool = True, seed: int = 0) -> CharLanguageModel:
    """A random tiny model whose dynamic weights are scaled up, so that C_ts is far from I, saved to ``directory``
    and loaded as the app loads the shipped ones (training context 64)."""
    tok = CharTokenizer(sorted(set(TEXT)))
    torch.manual_seed(seed)
    cfg = DCFormerConfig(
        vocab_size=len(tok),
        dim=32,
        n_layer=4,
        n_head=4,
        window_size=5,
        window_type="LG",
        q_chunk_size=8,
        use_dcmha=use_dcmha,
    )
    model = DCFormer(cfg).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("qkw"):
                p.mul_(30.0)
            elif name.endswith("dd"):
                p.mul_(20.0)
    save_dcformer(model, str(directory))
    tok.save(str(directory / "vocab.json"))
    (directory / "train_log.json").write_text(json.dumps({"settings": {"context": 64}}), encoding="utf-8")
    return CharLanguageModel(directory, name="dcformer-tiny" if use_dcmha else "mha-tiny").eval()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return boosted_tiny(tmp_path_factory.mktemp("boosted"))


@pytest.fixture(scope="module")
def cap(tiny):
    return dv.run_dcmha(tiny, dv.prepare_text(TEXT, tiny).text)


@pytest.mark.parametrize("stage", ["pre", "post"])
def test_compose_matrix_equals_hooks_and_independent_formula(cap, stage):
    T = len(cap.tokens)
    for layer in range(cap.n_layers):
        for t, s in [(0, 0), (7, 5), (20, 19), (T - 1, T - 3)]:
            parts = dv.compose(cap, layer, t, s, stage)
            ref = compose_matrix(cap, layer, t, s, stage)
            for key in ref:
                np.testing.assert_allclose(parts[key], ref[key], atol=1e-6)
            np.testing.assert_allclose(parts["C"], independent_c(cap, layer, t, s, stage), atol=ATOL)
            total = sum(parts[k] for k in dv.PARTS)
            np.testing.assert_allclose(total, parts["C"], atol=1e-6)
    assert np.abs(dv.compose(cap, 0, 7, 5, stage)["C"] - np.eye(cap.n_heads)).max() > 0.05  # the test is not vacuous


def test_compose_matrix_maps_the_captured_stages(cap):
    """C_ts applied to the heads' values at (t, s) gives the next stage of the real forward."""
    for layer in range(cap.n_layers):
        st = dv.stage_maps(cap, layer)
        for t in range(len(cap.tokens)):
            for s in np.flatnonzero(cap.mask(layer)[t]):
                pre, post = dv.compose(cap, layer, t, s, "pre")["C"], dv.compose(cap, layer, t, s, "post")["C"]
                np.testing.assert_allclose(pre @ st["raw"][:, t, s], st["composed"][:, t, s], atol=1e-4)
                np.testing.assert_allclose(post @ st["probs"][:, t, s], st["pattern"][:, t, s], atol=1e-5)


def test_stage_maps_are_the_hooks(cap):
    st = dv.stage_maps(cap, 1)
    for stage, hook in dv.STAGE_HOOKS.items():
        assert st[stage] is cap[f"blocks.1.attn.hook_{hook}"]


def test_draw_matrix_is_the_mean_over_allowed_cells(cap):
    layer = 0
    allowed = cap.mask(layer)
    for stage in ("pre", "post"):
        brute = np.mean(
            [
                np.abs(dv.compose(cap, layer, t, s, stage)["C"] - np.eye(cap.n_heads))
                for t, s in zip(*np.nonzero(allowed))
            ],
            axis=0,
        )
        np.testing.assert_allclose(dv.draw_matrix(cap, layer, stage, block=3), brute, atol=1e-5)
        strength = dv.head_strength(brute)
        np.testing.assert_allclose(strength["self"], np.diag(brute))
        np.testing.assert_allclose(strength["cross"], brute.sum(1) - np.diag(brute), atol=1e-6)


def test_ranking_and_gates(cap):
    table = dv.ranking(cap)
    assert len(table) == cap.n_layers * cap.n_heads
    assert list(table["cross_total"]) == sorted(table["cross_total"], reverse=True)
    gates = dv.gates(cap, 2)
    assert set(gates) == set(dv.GATES) and gates["pre_qdd"].shape == (len(cap.tokens), cap.n_heads)
    assert np.all(np.abs(gates["post_kdd"]) < 1)  # tanh
    change = dv.map_change(cap, 1)
    assert change["pre"].shape == (cap.n_heads,) and (change["post"] > 0).all()


def test_window_override_and_causal_change_the_real_forward(tiny):
    text = dv.prepare_text(TEXT, tiny).text
    cap3 = dv.run_dcmha(tiny, text, window=3)
    cap_global = dv.run_dcmha(tiny, text, window=None)
    i, j = np.indices((len(text), len(text)))
    assert cap3.layer_windows == [3, None, 3, None]
    assert np.array_equal(cap3.mask(0), (j <= i) & (i - j < 3))
    assert np.array_equal(cap3.mask(1), j <= i)
    assert np.array_equal(cap_global.mask(0), j <= i)
    assert not np.allclose(cap3.pattern(0), cap_global.pattern(0))
    bidir = dv.run_dcmha(tiny, text, window=None, causal=False)
    assert bidir.mask(1).all() and not bidir.causal


def test_query_blocks_are_the_keys_each_block_of_the_forward_reads(cap):
    assert query_block_spans(20, 8, 3) == [(0, 8, 0, 8), (8, 16, 6, 16), (16, 20, 14, 20)]
    assert query_block_spans(20, 8, None) == [(0, 8, 0, 8), (8, 16, 0, 16), (16, 20, 0, 20)]
    assert query_block_spans(5, 8, 3) == [(0, 5, 0, 5)]
    assert dv.query_blocks(cap, 0) == query_block_spans(len(cap.tokens), 8, 5)  # the capture's own layer 0
    for a, b, k0, k1 in dv.query_blocks(cap, 0):  # every key a block may see lies in its span
        seen = np.flatnonzero(cap.mask(0)[a:b].any(axis=0))
        assert seen.min() >= k0 and seen.max() < k1


def test_mha_twin_has_identity_compose(tmp_path):
    mha = boosted_tiny(tmp_path, use_dcmha=False)
    cap = dv.run_dcmha(mha, "the cat")
    np.testing.assert_array_equal(dv.compose(cap, 0, 3, 1, "pre")["C"], np.eye(4))
    st = dv.stage_maps(cap, 0)
    np.testing.assert_array_equal(st["raw"], st["composed"])
    np.testing.assert_array_equal(st["probs"], st["pattern"])
    assert dv.gates(cap, 0) == {}
    assert np.all(dv.draw_matrix(cap, 0, "pre") == 0)


def test_prepare_text_names_unknown_characters_and_truncates(tiny):
    p = dv.prepare_text("cat é 😀 é", tiny)
    assert p.unknown == ["é", "😀"]
    beyond = dv.prepare_text("the cat " * 40, tiny)  # beyond its training context of 64: read, and flagged by the page
    assert not beyond.truncated and len(beyond.text) == 319 > tiny.context
    long = dv.prepare_text("the cat " * 200, tiny)  # beyond what it reads at all: cut
    assert long.truncated and len(long.text) == tiny.max_tokens and long.full_length == 1599
    assert dv.labels(dv.run_dcmha(tiny, p.text))[3] == "␣"
    assert dv.prepare_text("ca\x07t", tiny).notices == [("msg.control_removed", {"count": 1})]
    for bad in ("", "   ", None):
        with pytest.raises(dv.InputError):
            dv.prepare_text(bad, tiny)


def test_loss_is_the_next_character_cross_entropy(tiny, cap):
    with torch.no_grad():
        logits = tiny.lm(torch.tensor([tiny.tokenizer.encode(TEXT)]))[0]
    ids = tiny.tokenizer.encode(TEXT)
    log_probs = torch.log_softmax(logits.double(), -1)
    expected = -np.mean([float(log_probs[i, ids[i + 1]]) for i in range(len(ids) - 1)])
    assert cap.loss == pytest.approx(expected, abs=1e-5)


def test_matrix_text_round_trip():
    m = dv.preset_matrix("swap", 12, 2, 7)
    assert dv.matrix_from_text(dv.matrix_to_text(m), 12).tolist() == m.tolist()
    assert dv.matrix_to_text(np.eye(12)) == ""
    avg = dv.preset_matrix("average", 12)
    np.testing.assert_allclose(dv.matrix_from_text(dv.matrix_to_text(avg), 12), avg, rtol=1e-6)
    for bad in ("0.13=1", "x", "0.0=nan", "0.1.2=3", "0.1=2=3"):
        with pytest.raises(ValueError):
            dv.matrix_from_text(bad, 12)


@pytest.mark.parametrize("hostile", ["x" * 60_077, "0.1=" + "9" * 60_000 + "x", ";".join(["0.0=1"] * 5_000)])
def test_a_hostile_matrix_from_a_link_gets_a_short_message(hostile):
    """A 60,077-character sb_matrix was echoed whole, with Python's 'not enough values to unpack'."""
    with pytest.raises(ValueError) as error:
        dv.matrix_from_text(hostile, 12)
    message = str(error.value)
    assert len(message) < 100 and "unpack" not in message and "could not convert" not in message


def test_the_pages_strings_use_the_course_notes_terms():
    from attnviz.i18n import translate

    assert "softmax 之前" in translate("dcmha.intro", "zh") and "组合" in translate("dcmha.intro", "zh")


# ----------------------------------------------------------------------------- MiniLM sandbox
SENTENCE = "The cat sat on the mat."


@pytest.fixture(scope="module")
def base(minilm):
    from attnviz.capture import run_capture

    (cap,) = run_capture(minilm, [SENTENCE])
    return dict(cap)


@pytest.mark.parametrize("stage", ["pre", "post"])
def test_sandbox_identity_changes_nothing(minilm, base, stage):
    result = dv.sandbox_capture(minilm, SENTENCE, 3, np.eye(12), stage, base=base)
    last = f"blocks.{minilm.n_layers - 1}.hook_resid_post"
    np.testing.assert_allclose(result.edited[last], base[last], atol=1e-6, rtol=0)  # final hidden states
    for layer in range(minilm.n_layers):
        key = f"blocks.{layer}.attn.hook_pattern"
        np.testing.assert_allclose(result.edited[key], base[key], atol=1e-7, rtol=0)
    assert dv.max_difference(result) <= 1e-6
    assert dv.hidden_change(result, minilm.n_layers) < 1e-6


@pytest.mark.parametrize("stage", ["pre", "post"])
def test_sandbox_permutation_swaps_heads(minilm, base, stage):
    layer, a, b = 2, 0, 5
    perm = dv.preset_matrix("swap", 12, a, b)
    result = dv.sandbox_capture(minilm, SENTENCE, layer, perm, stage, base=base)
    key = f"blocks.{layer}.attn.hook_pattern"
    order = np.arange(12)
    order[[a, b]] = order[[b, a]]
    np.testing.assert_allclose(result.edited[key], base[key][order], atol=1e-6)
    assert not np.allclose(result.edited[key], base[key])
    change = dv.pattern_change_by_layer(result, minilm.n_layers)
    assert np.all(change[:layer] == 0) and change[layer] > 0 and change[layer + 1] > 0
    if stage == "pre":
        scores = base[f"blocks.{layer}.attn.hook_scores"]
        np.testing.assert_allclose(result.edited[f"blocks.{layer}.attn.hook_scores_composed"], scores[order], atol=1e-6)


def test_sandbox_average_and_bad_matrices(minilm, base):
    result = dv.sandbox_capture(minilm, SENTENCE, 1, dv.preset_matrix("average", 12), "post", base=base)
    pattern = result.edited["blocks.1.attn.hook_pattern"]
    np.testing.assert_allclose(
        pattern, np.broadcast_to(base["blocks.1.attn.hook_pattern"].mean(0), pattern.shape), atol=1e-6
    )
    with pytest.raises(ValueError):
        dv.sandbox_capture(minilm, SENTENCE, 1, np.eye(4), "post", base=base)
    with pytest.raises(ValueError):
        dv.sandbox_capture(minilm, SENTENCE, 1, np.full((12, 12), np.nan), "pre", base=base)


def test_the_sandbox_edit_is_invisible_to_other_threads(minilm, base, monkeypatch):
    """While one session's sandbox edit is active, a forward in another thread through the same model is untouched:
    the compose is a ``hooks.editing`` edit, scoped to its thread, and nothing is installed on the shared model. The
    other thread runs from inside the edited run (deterministically while the edit is active)."""
    from attnviz.capture import run_capture

    other: dict = {}

    def run_while_another_session_runs(model, texts, *args, **kwargs):
        if not other:
            worker = threading.Thread(target=lambda: other.update(dict(run_capture(model, [SENTENCE])[0])))
            worker.start()
            worker.join()
        return run_capture(model, texts, *args, **kwargs)

    monkeypatch.setattr(dv, "run_capture", run_while_another_session_runs)
    name = "blocks.2.attn.hook_pattern"
    result = dv.sandbox_capture(minilm, SENTENCE, 2, dv.preset_matrix("swap", 12, 0, 5), "post", base=base)
    assert other, "the other session's forward ran"
    np.testing.assert_array_equal(other[name], base[name])  # the other thread: unmodified
    assert not np.allclose(result.edited["blocks.3.attn.hook_pattern"], base["blocks.3.attn.hook_pattern"])  # ours
    assert not minilm.hook(name)._forward_hooks


def test_the_redundancy_verdict_says_no_consistent_difference_unless_every_layer_agrees():
    def comparison(dc, mha):
        return dv.RedundancyComparison(
            {"dcmha": np.array(dc), "mha": np.array(mha)}, {"dcmha": np.array(dc), "mha": np.array(mha)}, d_head=32
        )

    key, values = comparison([0.1, 0.2], [0.4, 0.5]).verdict("similarity")
    assert key == "dcmha.verdict_similarity_lower" and values["lower"] == 2
    assert comparison([0.6, 0.7], [0.4, 0.5]).verdict("rank")[0] == "dcmha.verdict_rank_higher"
    key, values = comparison([0.1, 0.7], [0.4, 0.5]).verdict("similarity")
    assert key == "dcmha.verdict_similarity_mixed" and (values["lower"], values["higher"]) == (1, 1)
    key, values = comparison([0.401, 0.2], [0.4, 0.5]).verdict("similarity")  # 0.25 % apart: the same
    assert key == "dcmha.verdict_similarity_mixed" and (values["lower"], values["higher"]) == (1, 0)


def test_redundancy_comparison_of_a_model_with_itself_is_no_difference(cap):
    result = dv.redundancy_comparison(cap, cap)
    np.testing.assert_array_equal(result.similarity["dcmha"], result.similarity["mha"])
    assert result.verdict("similarity")[0].endswith("_mixed") and result.verdict("rank")[0].endswith("_mixed")
    assert "dcmha_softmax" in result.similarity and result.d_head == cap["blocks.0.attn.hook_q"].shape[-1]


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_long_texts_region_holds_the_exact_maps_of_the_whole_texts_forward():
    """Beyond dv.REGION characters the forward stores no (T × T) map; a region of it is a capture of its own whose four
    stage maps, mask and per-head summaries are those of a forward that stored everything, over that square."""
    from attnviz.capture import get_model, run_capture
    from attnviz.masks import MaskSpec

    model = get_model("dcformer-tiny")
    text = ("the quick brown fox jumps over the lazy dog, " * 12)[:400]
    cap = dv.run_dcmha(model, text)
    assert cap.is_linear(0) and not cap.recorded("blocks.0.attn.hook_probs")
    (everything,) = run_capture(model, [text], MaskSpec(), with_loss=True, local_window="config", causal=True)
    assert cap.loss == pytest.approx(everything.loss)
    first = dv.region_start(len(cap.tokens), 300, cap.query_block)
    assert first % cap.query_block == 0 and first <= 300 < first + dv.REGION
    region = dv.region_capture(cap, first, first + dv.REGION)
    square = slice(first, first + dv.REGION)
    for layer in range(cap.n_layers):
        for stage, maps in dv.stage_maps(region, layer).items():
            np.testing.assert_allclose(
                maps,
                everything[f"blocks.{layer}.attn.hook_{dv.STAGE_HOOKS[stage]}"][:, square, square],
                atol=1e-4,
                rtol=1e-5,
                err_msg=f"{stage} {layer}",
            )
        np.testing.assert_array_equal(region.mask(layer), everything.mask(layer)[square, square])
        # the whole text's summaries, streamed, equal those of the stored maps
        for stage, value in dv.map_change(cap, layer).items():
            np.testing.assert_allclose(value, dv.map_change(everything, layer)[stage], atol=1e-5)
        values = dv.cell_values(cap, layer, 350, 340)
        for stage in dv.STAGES:
            np.testing.assert_allclose(
                values[stage],
                everything[f"blocks.{layer}.attn.hook_{dv.STAGE_HOOKS[stage]}"][:, 350, 340],
                atol=1e-4,
                rtol=1e-5,
            )
