"""Head ablation (attnviz.analysis.importance) and the editing mechanism under it (attnviz.hooks.editing).

Families: the shipped MiniLM (BERT adapter), tiny random GPT-2 and Llama (grouped-query) decoders and a tiny
DistilBERT encoder (transformers' attention interface, built at test time by tests/support/tiny_models.py and
test_hf_encoder), and the shipped character DCFormer. Expected values are computed here independently of the
module under test: from clean recordings in NumPy, from the layer's weights (W_O by hand), from
``run_capture(with_loss=True)`` and from a plain softmax of the model's logits.
"""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from attnviz.analysis.importance import (
    EncoderEffect,
    LanguageModelEffect,
    ablate,
    ablation_effect,
    head_means,
    n_forwards_estimate,
    normalize_heads,
    rank_heads,
    ranking_is_slow,
)
from attnviz.capture import get_model, run_capture
from attnviz.hooks import HookPoint, editing, recording
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name


FAMILIES = ["minilm", "gpt2", "llama", "distilbert", "dcformer-tiny"]
TEXT = "the cat sat on the mat and the dog sat on the log"
LATER = "the cat sat on the mat and the owl ran to the sea"  # the same first 8 words, then different


@pytest.fixture
def model(request):
    name = request.param
    if name == "minilm":
        return get_model("all-MiniLM-L6-v2")
    if name == "dcformer-tiny":
        return get_model(name)
    if name == "distilbert":
        return request.getfixturevalue("distilbert")[2]
    return request.getfixturevalue("build")(name).adapter


def middle_head(model) -> tuple[int, int]:
    """The last head of a middle layer: one with a layer after it (and layers before it, from 3 layers on)."""
    return (model.n_layers - 1) // 2, model.n_heads - 1


def record(model, text_or_encoding, spec=MaskSpec(), edits=None, names=None):
    """(output, {name: tensor}) of one forward under ``edits``; every hook point recorded unless ``names``."""
    encoding = model.encode([text_or_encoding]) if isinstance(text_or_encoding, str) else text_or_encoding
    with torch.inference_mode(), editing(edits or {}), recording(names) as recorder:
        output = model(encoding, spec)
    return output, recorder.tensors


# --------------------------------------------------------------------------------------------- hooks.editing
class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = HookPoint("a"), HookPoint("b")

    def forward(self, x):
        return self.b(self.a(x) * 2)


def test_editing_replaces_the_tensor_and_recording_sees_the_edit():
    tiny, x = Tiny(), torch.ones(3)
    assert not tiny.a.wanted()
    with editing({"a": lambda t: t + 1}), recording() as recorder:
        out = tiny(x)
    assert torch.equal(out, torch.full((3,), 4.0))
    assert torch.equal(recorder.tensors["a"], torch.full((3,), 2.0))  # the edited tensor, not the input
    with editing({"a": lambda t: t + 1}):
        assert tiny.a.wanted() and not tiny.b.wanted()  # an edit alone makes a point wanted (models compute it)
    assert not tiny.a.wanted() and torch.equal(tiny(x), torch.full((3,), 2.0))  # gone after the block


def test_editing_nests_outer_first_and_none_means_in_place():
    tiny, x = Tiny(), torch.ones(3)

    def in_place(t):
        t.mul_(10)  # returns None: the edit changed the tensor itself

    with editing({"a": lambda t: t + 1}):
        with editing({"a": in_place, "b": lambda t: -t}):
            assert torch.equal(tiny(x.clone()), torch.full((3,), -40.0))  # ((1 + 1) * 10) * 2, negated
        assert torch.equal(tiny(x), torch.full((3,), 4.0))  # the inner block's edits are gone


# --------------------------------------------------------------------------------------------- the edits
def test_head_sets_validation_and_estimates(minilm):
    assert normalize_heads({2: [5, 1, 5], 0: []}) == {2: [1, 5]} == normalize_heads([(2, 5), (2, 1)])
    with pytest.raises(ValueError, match="how"):
        ablate({0: [0]}, "random")
    with pytest.raises(ValueError, match="head_means"):
        ablate({0: [0]}, "mean")
    assert n_forwards_estimate(minilm) == 6 * 12 + 1 and not ranking_is_slow(minilm)
    assert ranking_is_slow(SimpleNamespace(n_layers=32, n_heads=32))


@pytest.mark.parametrize("model", FAMILIES, indirect=True)
def test_zeroed_head_is_zero_only_its_layer_and_later_change(model):
    layer, head = middle_head(model)
    clean_out, clean = record(model, TEXT)
    out, ablated = record(model, TEXT, edits=ablate({layer: [head]}))
    z = ablated[hook_name("z", layer)][0]  # (heads, seq, d_head)
    assert (z[head] == 0).all()
    others = [h for h in range(model.n_heads) if h != head]
    assert torch.equal(z[others], clean[hook_name("z", layer)][0][others])  # the other heads of that layer untouched
    for earlier in range(layer + 1):  # every map up to the ablated layer's own (computed before its z) is identical
        assert torch.equal(ablated[hook_name("pattern", earlier)], clean[hook_name("pattern", earlier)]), earlier
    for earlier in range(layer):
        assert torch.equal(ablated[hook_name("z", earlier)], clean[hook_name("z", earlier)]), earlier
    later = [
        not torch.equal(ablated[hook_name("pattern", l)], clean[hook_name("pattern", l)])
        for l in range(layer + 1, model.n_layers)
    ]
    assert all(later), "every later layer's maps move when a head before it is removed"
    assert not torch.equal(out, clean_out)


@pytest.mark.parametrize("model", FAMILIES, indirect=True)
def test_ablating_nothing_reproduces_the_output_exactly(model):
    clean_out, _ = record(model, TEXT, names=())
    out, _ = record(model, TEXT, edits=ablate({}), names=())
    identity = {hook_name("z", l): (lambda z: z) for l in range(model.n_layers)}  # an edit that changes nothing
    same, _ = record(model, TEXT, edits=identity, names=())
    assert torch.equal(out, clean_out) and torch.equal(same, clean_out)
    effect = ablation_effect(model, TEXT, MaskSpec(), {})
    if isinstance(effect, LanguageModelEffect):
        assert np.array_equal(effect.loss_ablated, effect.loss_clean) and effect.effect == 0.0
        assert np.array_equal(effect.top_ablated.probs, effect.top_clean.probs)
    else:
        assert effect.cosine == pytest.approx(1.0, abs=1e-12) and (effect.pattern_change_max == 0).all()


def test_minilm_layer_output_by_hand_from_recorded_z(minilm):
    """The attention's output under the ablation is concat(z) @ W_O + b_O of the recorded (ablated) z, and equals
    the clean output minus exactly that head's rows of W_O times its clean z."""
    layer, head, d = 2, 5, minilm.d_head
    weights = minilm.attention_weights(layer)
    _, clean = record(minilm, TEXT)
    _, ablated = record(minilm, TEXT, edits=ablate({layer: [head]}))
    z = ablated[hook_name("z", layer)][0].numpy()  # (heads, seq, d)
    concat = z.transpose(1, 0, 2).reshape(z.shape[1], -1)  # (seq, heads * d)
    result = ablated[hook_name("result", layer)][0].numpy()  # (seq, d_model)
    np.testing.assert_allclose(result, concat @ weights.w_o + weights.b_o, atol=2e-5)
    clean_z = clean[hook_name("z", layer)][0].numpy()
    without_head = clean[hook_name("result", layer)][0].numpy() - clean_z[head] @ weights.w_o[head * d : (head + 1) * d]
    np.testing.assert_allclose(result, without_head, atol=2e-5)


# --------------------------------------------------------------------------------------------- mean ablation
def test_mean_ablation_is_the_heads_mean_over_real_tokens_of_each_text(minilm):
    """A padded batch of two texts: each text's real positions get the mean of the head's clean z over that text's
    real tokens (never its padding)."""
    layer, head = 3, 7
    encoding = minilm.encode([TEXT + " and then some more words", "a short one"])
    real = encoding.key_is_real.numpy()
    assert not real[1].all()  # the second text is padded
    _, clean = record(minilm, encoding, names=[hook_name("z", layer)])
    clean_z = clean[hook_name("z", layer)].numpy()  # (2, heads, seq, d)
    means = head_means(minilm, encoding, MaskSpec(), layers=[layer])
    _, ablated = record(
        minilm, encoding, edits=ablate({layer: [head]}, "mean", means=means), names=[hook_name("z", layer)]
    )
    z = ablated[hook_name("z", layer)].numpy()
    for b in range(2):
        expected = clean_z[b, head][real[b]].mean(0)  # (d,)
        np.testing.assert_allclose(z[b, head][real[b]], np.broadcast_to(expected, z[b, head][real[b]].shape), atol=1e-6)
    others = [h for h in range(minilm.n_heads) if h != head]
    assert np.array_equal(z[:, others], clean_z[:, others])


@pytest.mark.parametrize("model", ["llama", "dcformer-tiny"], indirect=True)
def test_mean_ablation_under_a_causal_mask_is_the_mean_of_what_each_position_sees(model):
    """A decoder's position i gets the mean of the head's clean z over positions 0..i: a whole-sentence mean would
    give it the tokens its mask hides (the next token, which its loss is about)."""
    layer, head = middle_head(model)
    _, clean = record(model, TEXT, names=[hook_name("z", layer)])
    clean_z = clean[hook_name("z", layer)][0, head].numpy().astype(np.float64)  # (seq, d)
    prefix_mean = np.cumsum(clean_z, axis=0) / np.arange(1, len(clean_z) + 1)[:, None]
    means = head_means(model, model.encode([TEXT]), MaskSpec(), layers=[layer])
    _, ablated = record(model, TEXT, edits=ablate({layer: [head]}, "mean", means=means), names=[hook_name("z", layer)])
    np.testing.assert_allclose(ablated[hook_name("z", layer)][0, head].numpy(), prefix_mean, atol=1e-5)


# --------------------------------------------------------------------------------------------- masks
@pytest.mark.parametrize("how", ["zero", "mean"])
def test_causal_mask_on_an_encoder_is_respected_under_ablation(minilm, how):
    """MiniLM under a causal mask with a head ablated: the maps stay causal, and changing later tokens changes
    nothing at the earlier positions (the mean replacement included)."""
    spec, layer, head = MaskSpec(causal=True), 1, 4
    outputs, captures = [], []
    for text in (TEXT, LATER):
        encoding = minilm.encode([text])
        means = head_means(minilm, encoding, spec, layers=[layer]) if how == "mean" else None
        with editing(ablate({layer: [head]}, how, means=means)):
            (cap,) = run_capture(minilm, [text], spec, hooks=["blocks.*.attn.hook_pattern", "blocks.*.hook_resid_post"])
        captures.append(cap)
        outputs.append(cap[hook_name("resid_post", minilm.n_layers - 1)])
    a, b = captures
    same = next(i for i, (x, y) in enumerate(zip(a.tokens, b.tokens)) if x != y)
    assert same >= 8
    for l in range(minilm.n_layers):
        assert not np.triu(a.pattern(l), 1).any(), f"layer {l}: a query attends to a later key"
    np.testing.assert_allclose(outputs[0][:same], outputs[1][:same], atol=1e-5)
    effect = ablation_effect(minilm, TEXT, spec, {layer: [head]}, how)
    assert isinstance(effect, EncoderEffect) and 0 < effect.effect < 1
    assert (effect.pattern_change_max[: layer + 1] == 0).all() and (effect.pattern_change_max[layer + 1 :] > 0).all()


# --------------------------------------------------------------------------------------------- what changed
@pytest.mark.parametrize("model", ["gpt2", "llama", "dcformer-tiny"], indirect=True)
def test_language_model_effect_against_run_capture_and_a_plain_softmax(model):
    heads, spec = {middle_head(model)[0]: [0, 1]}, MaskSpec(causal=True, window=4)
    effect = ablation_effect(model, TEXT, spec, heads, top_k=3)
    (clean,) = run_capture(model, [TEXT], spec, hooks=(), with_loss=True)
    with editing(ablate(heads)):
        (ablated,) = run_capture(model, [TEXT], spec, hooks=(), with_loss=True)
    n = len(clean.tokens)
    assert effect.loss_clean.shape == effect.loss_ablated.shape == (n - 1,)
    assert effect.mean_loss_clean == pytest.approx(clean.loss, abs=1e-5)
    assert effect.mean_loss_ablated == pytest.approx(ablated.loss, abs=1e-5)
    assert effect.effect != 0
    logits, _ = record(model, TEXT, spec, edits=ablate(heads), names=())
    probs = torch.softmax(logits[0].float(), -1).numpy()  # (seq, vocab)
    assert effect.positions.tolist() == list(range(n)) and effect.top_ablated.probs.shape == (n, 3)
    for row, position in enumerate(effect.positions):
        expected = np.sort(probs[position])[::-1][:3]
        np.testing.assert_allclose(effect.top_ablated.probs[row], expected, atol=1e-6)
        np.testing.assert_allclose(
            probs[position, effect.top_ablated.ids[row]], effect.top_ablated.probs[row], atol=1e-6
        )
        assert list(effect.top_ablated.tokens[row]) == [model.token_label(i) for i in effect.top_ablated.ids[row]]
    last = ablation_effect(model, TEXT, spec, heads, top_k=3, position=-1)
    assert last.positions.tolist() == [n - 1] and np.array_equal(last.top_ablated.ids[0], effect.top_ablated.ids[-1])


def test_encoder_cosine_is_mean_pooled_over_real_tokens(minilm):
    layer, head = 4, 2
    effect = ablation_effect(minilm, TEXT, MaskSpec(), {layer: [head]})
    last = hook_name("resid_post", minilm.n_layers - 1)
    (clean,) = run_capture(minilm, [TEXT], MaskSpec(), hooks=[last])
    with editing(ablate({layer: [head]})):
        (ablated,) = run_capture(minilm, [TEXT], MaskSpec(), hooks=[last])
    u, v = (cap[last][cap.key_is_real].astype(np.float64).mean(0) for cap in (clean, ablated))
    assert effect.cosine == pytest.approx(u @ v / np.linalg.norm(u) / np.linalg.norm(v), abs=1e-9)
    assert effect.token_cosine.shape == (len(clean.tokens),)
    assert effect.pattern_change_mean.shape == (minilm.n_layers, minilm.n_heads)
    assert (effect.pattern_change_mean[: layer + 1] == 0).all() and (effect.pattern_change_mean[layer + 1 :] > 0).all()


# --------------------------------------------------------------------------------------------- ranking
@pytest.mark.parametrize("model", FAMILIES, indirect=True)
def test_ranking_has_every_head_and_its_top_equals_a_single_ablation(model):
    calls = []
    table = rank_heads(model, TEXT, MaskSpec(), "zero", progress=lambda done, total: calls.append((done, total)))
    total = model.n_layers * model.n_heads
    assert len(table) == total == table.attrs["ablations"]
    assert sorted(zip(table.layer, table["head"])) == [
        (l, h) for l in range(model.n_layers) for h in range(model.n_heads)
    ]
    assert (np.diff(table.effect.to_numpy()) <= 0).all()
    assert table.attrs["forwards"] == 1 + -(-total // table.attrs["batch_size"])
    assert (
        calls[0] == (0, total) and calls[-1] == (total, total) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    )
    top = table.iloc[0]
    single = ablation_effect(model, TEXT, MaskSpec(), {int(top.layer): [int(top["head"])]}, pattern_changes=False)
    assert single.effect == pytest.approx(top.effect, abs=1e-6)
    if model.kind == "decoder":
        assert table.attrs["clean_loss"] == pytest.approx(single.mean_loss_clean, abs=1e-6)
    else:
        assert top.cosine == pytest.approx(single.cosine, abs=1e-6)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
@pytest.mark.parametrize("model", ["minilm", "llama", "dcformer-tiny"], indirect=True)
@pytest.mark.parametrize("how", ["zero", "mean"])
def test_batched_ranking_equals_one_forward_per_head(model, how):
    spec = MaskSpec(causal=True)
    one_by_one = rank_heads(model, TEXT, spec, how, batch_size=1)
    batched = rank_heads(model, TEXT, spec, how, batch_size=5)  # rows of several layers in one forward, a ragged end
    assert one_by_one.attrs["forwards"] == model.n_layers * model.n_heads + 1 == n_forwards_estimate(model)
    assert batched.attrs["forwards"] == 1 + -(-model.n_layers * model.n_heads // 5)
    by_head = [t.sort_values(["layer", "head"]).effect.to_numpy() for t in (one_by_one, batched)]
    np.testing.assert_allclose(by_head[1], by_head[0], rtol=0, atol=1e-6)
    layer, head = middle_head(model)
    single = ablation_effect(model, TEXT, spec, {layer: [head]}, how, pattern_changes=False).effect
    row = batched[(batched.layer == layer) & (batched["head"] == head)].iloc[0]
    assert row.effect == pytest.approx(single, abs=1e-6)


def test_rank_heads_refuses_a_one_token_text_for_a_language_model():
    with pytest.raises(ValueError, match="two tokens"):
        rank_heads(get_model("dcformer-tiny"), "a")


# --------------------------------------------------------------------------------------------- threads
@pytest.mark.parametrize("model", ["minilm", "llama"], indirect=True)
def test_threads_ablating_different_heads_do_not_see_each_others_edits(model):
    plans = [{}, {0: [0]}, {model.n_layers - 1: [1]}, {0: list(range(model.n_heads))}]
    serial = [record(model, TEXT, edits=ablate(plan), names=())[0] for plan in plans]
    barrier = threading.Barrier(len(plans))
    results: dict[int, list[torch.Tensor]] = {i: [] for i in range(len(plans))}

    def work(index):
        barrier.wait()
        for _ in range(5):
            results[index].append(record(model, TEXT, edits=ablate(plans[index]), names=())[0])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({tuple(s.flatten()[:8].tolist()) for s in serial}) == len(plans)  # the plans do differ
    for index, outputs in results.items():
        assert len(outputs) == 5
        for output in outputs:
            assert torch.equal(output, serial[index]), f"thread {index} saw another thread's edits"
