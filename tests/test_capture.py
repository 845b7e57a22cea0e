"""The capture layer against Hugging Face's output_attentions and an independent NumPy recomputation."""

import threading

import numpy as np
import pytest
import torch

import attnviz
from attnviz.capture import run_capture
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name

SENTENCES = [
    "The animal didn't cross the street because it was too tired.",
    "狗追猫。",
    "I love 🍕 and 🚀!",
    "<b>bold</b> & <script>x</script>",
]
LAYER_HOOKS = ("hook_q", "hook_k", "hook_v", "hook_scores", "hook_mask", "hook_pattern", "hook_z")


def hf_forward(hf_reference, texts, additive_mask=None):
    model, tokenizer = hf_reference
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    mask = batch["attention_mask"] if additive_mask is None else additive_mask
    with torch.no_grad():
        return model(input_ids=batch["input_ids"], attention_mask=mask, output_attentions=True), batch


@pytest.mark.parametrize("text", SENTENCES)
def test_pattern_equals_hf_output_attentions(minilm, hf_reference, text):
    cap = attnviz.capture(text, minilm)
    out, batch = hf_forward(hf_reference, [text])
    assert cap.tokens == hf_reference[1].convert_ids_to_tokens(batch["input_ids"][0])
    assert np.array_equal(cap["token_ids"], batch["input_ids"][0].numpy())
    for layer in range(6):
        np.testing.assert_allclose(cap.pattern(layer), out.attentions[layer][0].numpy(), atol=1e-5)
    np.testing.assert_allclose(cap["blocks.5.hook_resid_post"], out.last_hidden_state[0].numpy(), atol=1e-4)


def test_every_named_array_with_its_shape(minilm):
    cap = attnviz.capture("one two three", minilm)
    seq = len(cap.tokens)
    assert seq == 5  # [CLS] one two three [SEP]
    for layer in range(6):
        prefix = f"blocks.{layer}.attn."
        for name in ("hook_q", "hook_k", "hook_v", "hook_z"):
            assert cap[prefix + name].shape == (12, seq, 32)
        for name in ("hook_scores", "hook_pattern"):
            assert cap[prefix + name].shape == (12, seq, seq)
        assert cap[prefix + "hook_mask"].shape == (seq, seq) and cap[prefix + "hook_mask"].dtype == bool
        assert cap[f"blocks.{layer}.hook_resid_post"].shape == (seq, 384)
    assert cap["hook_embed"].shape == (seq, 384)
    assert cap["token_ids"].shape == (seq,)


@pytest.mark.parametrize(
    "spec", [MaskSpec(), MaskSpec(causal=True), MaskSpec(window=2), MaskSpec(causal=True, chunk=3)]
)
def test_numpy_recomputation_from_q_k_v(minilm, spec):
    cap = attnviz.capture(SENTENCES[0], minilm, causal=spec.causal, window=spec.window, chunk=spec.chunk)
    for layer in range(6):
        p = f"blocks.{layer}.attn."
        q, k, v = cap[p + "hook_q"].astype(np.float64), cap[p + "hook_k"].astype(np.float64), cap[p + "hook_v"]
        scores = np.einsum("htd,hsd->hts", q, k) / np.sqrt(32)
        np.testing.assert_allclose(cap[p + "hook_scores"], scores, atol=1e-4)
        masked = np.where(cap[p + "hook_mask"][None], cap[p + "hook_scores"].astype(np.float64), -np.inf)
        expected = np.exp(masked - masked.max(axis=-1, keepdims=True))
        expected /= expected.sum(axis=-1, keepdims=True)
        np.testing.assert_allclose(cap[p + "hook_pattern"], expected, atol=1e-5)
        np.testing.assert_allclose(cap[p + "hook_z"], cap[p + "hook_pattern"] @ v, atol=1e-5)


def test_padded_batch_matches_hf_and_masks_padding(minilm, hf_reference):
    texts = ["A much longer sentence with many more words in it.", "Short one."]
    long_cap, short_cap = run_capture(minilm, texts)
    out, batch = hf_forward(hf_reference, texts)
    assert len(long_cap.tokens) == len(short_cap.tokens)
    n_real = int(batch["attention_mask"][1].sum())
    assert short_cap.tokens[n_real:] == ["[PAD]"] * (len(short_cap.tokens) - n_real)
    for layer in range(6):
        np.testing.assert_allclose(long_cap.pattern(layer), out.attentions[layer][0].numpy(), atol=1e-5)
        np.testing.assert_allclose(short_cap.pattern(layer), out.attentions[layer][1].numpy(), atol=1e-5)
        assert not short_cap.mask(layer)[:, n_real:].any()
        assert np.all(short_cap.pattern(layer)[:, :, n_real:] == 0)
    solo = attnviz.capture("Short one.", minilm)
    np.testing.assert_allclose(short_cap.pattern(3)[:, :n_real, :n_real], solo.pattern(3), atol=1e-5)


def test_threads_never_mix_captures(minilm):
    texts = ["The first sentence is here.", "A completely different second text, longer than the first one."]
    solo = {t: attnviz.capture(t, minilm) for t in texts}
    failures = []
    barrier = threading.Barrier(2)

    def worker(text):
        barrier.wait()
        for _ in range(8):
            cap = attnviz.capture(text, minilm)
            if cap.tokens != solo[text].tokens or not np.allclose(cap.pattern(5), solo[text].pattern(5), atol=1e-6):
                failures.append(text)

    threads = [threading.Thread(target=worker, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_hook_filter_records_only_what_is_asked(minilm):
    cap = attnviz.capture("hello world", minilm, hooks=["blocks.*.attn.hook_pattern"])
    assert sorted(k for k in cap if k.startswith("blocks")) == [f"blocks.{l}.attn.hook_pattern" for l in range(6)]


def test_plain_torch_forward_hooks_still_work(minilm):
    seen = []
    handle = minilm.hook("blocks.2.attn.hook_pattern").register_forward_hook(lambda m, i, o: seen.append(o.shape))
    try:
        attnviz.capture("hello world", minilm)
    finally:
        handle.remove()
    assert seen == [torch.Size([1, 12, 4, 4])]


def test_empty_text_is_refused_clearly(minilm):
    with pytest.raises(attnviz.InputError, match="empty"):
        attnviz.capture("   \n ", minilm)


def test_long_text_is_truncated_and_says_so(minilm):
    cap = attnviz.capture("word " * 5000, minilm, hooks=["blocks.0.attn.hook_pattern"])
    assert cap.truncated and cap.full_length == 5002
    assert len(cap.tokens) == 512 and cap.tokens[-1] == "[SEP]"


def test_control_characters_are_removed_with_a_notice(minilm):
    cap = attnviz.capture("abc\x07\x1b def", minilm)
    assert cap.tokens == ["[CLS]", "abc", "def", "[SEP]"]
    assert any("control" in n for n in cap.notices)


@pytest.mark.parametrize(("name", "dcmha"), [("all-MiniLM-L6-v2", False), ("dcformer-tiny", True)])
def test_in_brackets_and_get_agree_on_what_a_linear_capture_gives(name, dcmha):
    """A name is in a capture when ``cap[name]`` gives its array, and ``cap.get(name)`` gives the same array: a
    linear capture's maps are computed for all three (``dict.get`` skipped the computation and said None);
    ``recorded`` alone says what is stored."""
    from attnviz.capture import capture, get_model

    linear = capture("the cat sat on the mat", get_model(name), full=False)
    names = [hook_name(kind, layer) for kind in ("pattern", "scores", "mask", "probs") for layer in (0, 1)]
    for hook in [*names, hook_name("q", 0), "blocks.0.attn.hook_nothing", "nothing"]:
        got = linear.get(hook)
        assert (hook in linear) == (got is not None), hook
        if got is None:
            with pytest.raises(KeyError):
                linear[hook]
        else:
            np.testing.assert_array_equal(linear[hook], got)
    assert hook_name("pattern", 1) in linear and not linear.recorded(hook_name("pattern", 1))
    assert (hook_name("probs", 0) in linear) == dcmha  # the pre-compose softmax exists only where heads compose
    assert linear.get("nothing", "default") == "default"
    assert set(linear) == {n for n in linear.keys() if linear.recorded(n)}  # iterating lists what is stored


@pytest.mark.parametrize("name", ["all-MiniLM-L6-v2", "mistral-char", "dcformer-tiny"])
def test_a_linear_capture_answers_every_map_by_name_exactly(name):
    """capture(..., full=False) stores no (heads, T, T) map; asking for one by name computes it from q, k and the
    row normalisers, equal to the full capture's, under a causal window (a DCFormer's composition included)."""
    from attnviz.capture import capture, get_model

    model = get_model(name)
    text = "the cat sat on the mat and the dog sat on the log"
    full = capture(text, model, causal=True, window=5, full=True)
    linear = capture(text, model, causal=True, window=5, full=False)
    assert not full.is_linear(0) and all(linear.is_linear(layer) for layer in range(model.n_layers))
    assert not linear.recorded(hook_name("pattern", 0)) and full.recorded(hook_name("pattern", 0))
    for layer in range(model.n_layers):
        np.testing.assert_allclose(linear.pattern(layer), full.pattern(layer), atol=1e-5)
        np.testing.assert_array_equal(linear.mask(layer), full.mask(layer))
        np.testing.assert_allclose(linear[hook_name("z", layer)], full[hook_name("z", layer)], atol=1e-5)
    if hook_name("scores", 0) in full:
        np.testing.assert_allclose(linear.scores(0), full.scores(0), atol=1e-4, rtol=1e-5)
    n = len(full.tokens)
    assert linear.full_bytes() == model.n_layers * (2 * model.n_heads * n * n * 4 + n * n)
    with pytest.raises(KeyError):
        linear["blocks.0.attn.hook_not_a_map"]


def test_capture_records_whole_maps_only_up_to_its_limit(monkeypatch):
    import sys

    capture_module = sys.modules["attnviz.capture"]  # the package's attribute of that name is the function

    text = "the cat sat on the mat"
    assert not capture_module.capture(text).is_linear(0)
    monkeypatch.setattr(capture_module, "WHOLE_MAPS_UP_TO_MB", 0)  # a "long" text: linear by default, whole on request
    assert capture_module.capture(text).is_linear(0)
    assert not capture_module.capture(text, full=True).is_linear(0)


def test_patterns_become_the_models_exact_names_and_the_forward_stops_after_the_last_one():
    from attnviz.capture import exact_names, get_model

    model = get_model("all-MiniLM-L6-v2")
    names = exact_names(model, ("blocks.*.attn.hook_pattern", "blocks.1.attn.hook_q"))
    assert sorted(names) == sorted(
        [*(f"blocks.{layer}.attn.hook_pattern" for layer in range(model.n_layers)), "blocks.1.attn.hook_q"]
    )
    assert (
        exact_names(model, ("blocks.0.attn.hook_z",)) == ("blocks.0.attn.hook_z",) and exact_names(model, None) is None
    )
    reached = []
    handle = model.hook("blocks.5.hook_resid_post").register_forward_hook(lambda *args: reached.append(1))
    try:
        (stopped,) = run_capture(model, ["The cat sat."], MaskSpec(), hooks=("blocks.*.attn.hook_pattern",))
        assert not reached  # the last layer's feed-forward never ran
        (whole,) = run_capture(model, ["The cat sat."], MaskSpec(), hooks=None)
        assert reached
    finally:
        handle.remove()
    for layer in range(model.n_layers):
        np.testing.assert_array_equal(stopped.pattern(layer), whole.pattern(layer))
