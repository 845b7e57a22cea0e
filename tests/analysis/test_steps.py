"""Every step-by-step panel against an independent recomputation from Hugging Face's model."""

import numpy as np
import pytest
import torch

import attnviz
from attnviz.capture import get_model, run_capture
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name
from attnviz.analysis.steps import full_projection, steps


TEXT = "The dog chases the cat."


def reference(hf_reference, layer, head, query, causal=False):
    """Recompute one head's computation with NumPy from the HF state dict and HF hidden states."""
    model, tokenizer = hf_reference
    ids = tokenizer([TEXT], return_tensors="pt")["input_ids"]
    seq = ids.shape[1]
    mask = np.tril(np.ones((seq, seq), dtype=bool)) if causal else np.ones((seq, seq), dtype=bool)
    additive = torch.zeros(1, 1, seq, seq)
    additive[0, 0][~torch.from_numpy(mask)] = torch.finfo(torch.float32).min
    with torch.no_grad():
        out = model(input_ids=ids, attention_mask=additive, output_hidden_states=True)
    sd = {k: v.numpy().astype(np.float64) for k, v in model.state_dict().items()}
    pre = f"encoder.layer.{layer}."
    x = out.hidden_states[layer][0].numpy().astype(np.float64)  # (seq, 384), the layer's input
    heads, d = 12, 32

    def project(name):  # weight (out, in) viewed as (heads, d, in): the head's rows of the one big matrix
        w = sd[pre + f"attention.self.{name}.weight"].reshape(heads, d, -1)[head]
        b = sd[pre + f"attention.self.{name}.bias"].reshape(heads, d)[head]
        return x @ w.T + b  # (seq, d)

    q, k, v = project("query"), project("key"), project("value")
    dots = k @ q[query]
    scaled = dots / np.sqrt(d)
    masked = np.where(mask[query], scaled, -np.inf)
    probs = np.exp(masked - masked.max())
    probs /= probs.sum()
    z = probs @ v

    # all heads for the query, concatenated, then W_O, residual and LayerNorm
    def head_z(h):
        def proj(name):
            w = sd[pre + f"attention.self.{name}.weight"].reshape(heads, d, -1)[h]
            return x @ w.T + sd[pre + f"attention.self.{name}.bias"].reshape(heads, d)[h]

        s = proj("key") @ proj("query")[query] / np.sqrt(d)
        s = np.where(mask[query], s, -np.inf)
        p = np.exp(s - s.max())
        return (p / p.sum()) @ proj("value")

    concat = np.concatenate([head_z(h) for h in range(heads)])
    result = concat @ sd[pre + "attention.output.dense.weight"].T + sd[pre + "attention.output.dense.bias"]
    y = result + x[query]
    mid = (y - y.mean()) / np.sqrt(y.var() + 1e-12) * sd[pre + "attention.output.LayerNorm.weight"] + sd[
        pre + "attention.output.LayerNorm.bias"
    ]
    return dict(
        x=x,
        q=q[query],
        k=k,
        v=v,
        dots=dots,
        scaled=scaled,
        probs=probs,
        weighted=probs[:, None] * v,
        z=z,
        concat=concat,
        result=result,
        mid=mid,
        output=out.hidden_states[layer + 1][0, query].numpy(),
        w_q=sd[pre + "attention.self.query.weight"].reshape(heads, d, -1)[head].T,
        mask=mask[query],
    )


@pytest.mark.parametrize("layer, head, query, causal", [(0, 0, 1, False), (2, 7, 4, True), (5, 11, 6, False)])
def test_every_panel_matches_an_independent_recomputation(minilm, hf_reference, layer, head, query, causal):
    cap = attnviz.capture(TEXT, minilm, causal=causal)
    s = steps(minilm, cap, layer, head, query)
    ref = reference(hf_reference, layer, head, query, causal)
    close = dict(atol=2e-4, rtol=1e-4)
    np.testing.assert_allclose(s.layer_input, ref["x"], **close)
    np.testing.assert_allclose(s.slices.w_q, ref["w_q"], atol=1e-7)
    np.testing.assert_allclose(s.layer_input[query] @ s.slices.w_q + s.slices.b_q, s.q, atol=1e-4)
    for name, ours in [
        ("q", s.q),
        ("k", s.k),
        ("v", s.v),
        ("dots", s.dots),
        ("scaled", s.scaled),
        ("probs", s.probs),
        ("weighted", s.weighted),
        ("z", s.z),
        ("concat", s.concat),
        ("result", s.attn_result),
        ("mid", s.resid_mid),
        ("output", s.layer_output),
    ]:
        np.testing.assert_allclose(ours, ref[name], err_msg=name, **close)
    assert np.array_equal(s.allowed, ref["mask"])
    assert np.all(np.isneginf(s.masked[~s.allowed]))
    np.testing.assert_allclose(s.weighted.sum(axis=0), s.z, atol=1e-5)
    np.testing.assert_allclose(s.concat[head * 32 : (head + 1) * 32], s.z)


def test_layer_zero_shows_the_embedding_sum(minilm, hf_reference):
    cap = attnviz.capture(TEXT, minilm)
    s = steps(minilm, cap, 0, 0, 1)
    model, tokenizer = hf_reference
    ids = tokenizer([TEXT], return_tensors="pt")["input_ids"][0].numpy()
    emb = model.embeddings
    word = emb.word_embeddings.weight.detach().numpy()[ids]
    position = emb.position_embeddings.weight.detach().numpy()[: len(ids)]
    kind = emb.token_type_embeddings.weight.detach().numpy()[0]
    np.testing.assert_allclose(s.embeddings["sum"], word + position + kind, atol=1e-6)
    with torch.no_grad():
        after = emb.LayerNorm(torch.from_numpy(word + position + kind)).numpy()
    np.testing.assert_allclose(s.embeddings["input"], after, atol=1e-5)


DECODERS = ["gpt2", "llama", "mistral", "gemma2", "dcformer-tiny"]


@pytest.fixture
def decoder(request, build):  # noqa: F811
    return get_model(request.param) if request.param == "dcformer-tiny" else build(request.param).adapter


@pytest.mark.parametrize("decoder", DECODERS, indirect=True)
def test_step_by_step_runs_on_every_decoder_through_the_contract(decoder):
    """Every panel from the contract alone (attention_weights, embedding_parts, hook names), each recomputed here
    from the model's weights or from other captured numbers: the projection of norm(x), the rotation (lengths of
    each rotated pair kept), K/V of the shared head, z, the output projection and the residual stream."""
    model = decoder
    (cap,) = run_capture(model, ["the cat sat on the mat and the dog sat on the log"], MaskSpec(causal=True))
    n = len(cap.tokens)
    weights = model.attention_weights(0)
    assert weights.w_q.shape == (model.n_heads, model.d_model, model.d_head)
    assert (
        weights.w_k.shape == (model.n_kv_heads, model.d_model, model.d_head) and weights.w_o.shape[1] == model.d_model
    )
    for layer, head, query in [(0, 0, 3), (model.n_layers - 1, model.n_heads - 1, n - 1)]:
        s = steps(model, cap, layer, head, query)
        kv = model.kv_head_of(head)
        assert s.slices.kv_head == kv
        np.testing.assert_allclose(s.k, cap[hook_name("k", layer)][kv])
        # q = norm(x) W_Q + b, before any rotation; without RoPE it is exactly the captured q
        w = model.attention_weights(layer)
        np.testing.assert_allclose(s.q_before, s.attn_input[query] @ w.w_q[head] + w.b_q[head], rtol=1e-5)
        half = model.d_head // 2
        pairs = lambda x: x[..., :half] ** 2 + x[..., half:] ** 2  # noqa: E731  (RoPE rotates x_j with x_{j+d/2})
        if s.rotary and not w.qk_norm:
            np.testing.assert_allclose(pairs(s.q), pairs(s.q_before), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(pairs(s.k), pairs(s.k_before), rtol=1e-4, atol=1e-6)
            np.testing.assert_allclose(s.k[0], s.k_before[0], atol=1e-5)  # position 0: no rotation
            assert not np.allclose(s.q, s.q_before, atol=1e-4) or query == 0
        elif not s.rotary:
            np.testing.assert_allclose(s.q, s.q_before, atol=1e-5)
            np.testing.assert_allclose(s.k, s.k_before, atol=1e-5)
        np.testing.assert_allclose(s.dots, s.k @ s.q, rtol=1e-6)
        np.testing.assert_allclose(s.probs.sum(), 1.0, atol=1e-5)
        softmax = np.exp(s.masked - s.masked[s.allowed].max())  # the softmax of what the page says it reads
        np.testing.assert_allclose(s.probs, softmax / softmax.sum(), atol=1e-5)
        assert (s.probs[~s.allowed] == 0).all() and not s.allowed[query + 1 :].any()
        np.testing.assert_allclose(s.z, s.pattern @ s.v, atol=1e-5)  # DCFormer: post-composed weights mix v
        if not getattr(model, "use_dcmha", False):
            np.testing.assert_array_equal(s.pattern, s.probs)
        np.testing.assert_allclose(s.attn_result, s.concat @ w.w_o + w.b_o, atol=1e-4)
        if model.name.endswith("gemma2"):  # Gemma 2 normalises the attention's output before adding it
            assert s.resid_mid.shape == (model.d_model,)
        else:
            np.testing.assert_allclose(s.resid_mid, s.layer_input[query] + s.attn_result, atol=1e-4)
        if layer + 1 < model.n_layers:
            np.testing.assert_allclose(s.layer_output, cap[hook_name("resid_pre", layer + 1)][query], atol=1e-5)
    assert full_projection(model, 0, "q").shape == (model.d_model, model.n_heads * model.d_head)
    first = steps(model, cap, 0, 0, 1)
    parts = model.embedding_parts(cap["token_ids"])
    if "position" in parts:  # GPT-2: learned positions added to the word rows
        np.testing.assert_allclose(first.embeddings["sum"], parts["word"] + parts["position"], atol=1e-6)
        np.testing.assert_allclose(first.embeddings["input"], first.embeddings["sum"], atol=1e-5)
    elif not model.name.endswith("gemma2"):  # RoPE models: the word row is layer 0's input (Gemma 2 scales it)
        np.testing.assert_allclose(first.embeddings["input"], parts["word"], atol=1e-6)


def test_the_online_softmax_ends_equal_to_the_ordinary_one(minilm):
    """FlashAttention's row, block by block: the running max only grows, each rescale is exp(m_before − m) ≤ 1, and
    the end equals the ordinary softmax and z of the real forward."""
    from attnviz.analysis.steps import online_softmax

    cap = attnviz.capture(TEXT + " and the bird sang all day long", minilm, causal=True)
    s = steps(minilm, cap, 2, 5, 9)
    for block in (1, 3, 4, 64):
        online, z, weights = online_softmax(s.masked, s.v, block)
        np.testing.assert_allclose(weights, s.probs, atol=1e-6)
        np.testing.assert_allclose(z, s.z, atol=1e-5)
        maxima = [step.running_max for step in online]
        assert maxima == sorted(maxima) and all(0 <= step.rescale <= 1 for step in online)
        assert online[-1].running_sum == pytest.approx(np.exp(s.masked[s.allowed] - maxima[-1]).sum())
        assert sum(step.keys[1] - step.keys[0] for step in online) == len(s.masked)


@pytest.mark.parametrize(
    "name, spec",
    [("all-MiniLM-L6-v2", MaskSpec(window=5)), ("mistral-char", MaskSpec()), ("dcformer-tiny", MaskSpec(causal=True))],
)
@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_long_texts_steps_from_a_capture_without_maps_equal_a_full_capture(name, spec):
    """Step by step on a long text captures every hook but the (T × T) maps; the query's row comes from tiles and every
    panel equals the one a capture of everything gives. A window of keys cuts every per-key panel consistently."""
    from dataclasses import fields

    from attnviz.analysis.steps import STEP_KEYS, key_window
    from attnviz.capture import all_but_maps

    model = get_model(name)
    text = "the cat sat on the mat and the dog sat on the log, " * 20  # 282 tokens on MiniLM, 1,020 characters
    (full,) = run_capture(model, [text], spec)
    (linear,) = run_capture(model, [text], spec, hooks=all_but_maps(model))
    assert linear.is_linear(0) and not linear.recorded(hook_name("pattern", 0))
    query, layer, head = len(full.tokens) // 2 + 3, 1, model.n_heads - 1
    a, b = steps(model, full, layer, head, query), steps(model, linear, layer, head, query)
    for field in fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, np.ndarray):
            np.testing.assert_allclose(y, x, atol=1e-4, rtol=1e-5, err_msg=field.name)
    assert (a.composed is None) == (b.composed is None) == (not getattr(model, "use_dcmha", False))
    start, stop = key_window(b)
    assert stop - start == STEP_KEYS and start <= query < stop
    if spec.window:  # every key the query may attend to fits: all of them are in the window
        assert b.allowed[start:stop].sum() == b.allowed.sum()
    cut = b.keys_window(start, stop)
    assert cut.first == start and cut.tokens[cut.query] == b.tokens[query] and len(cut.probs) == len(cut.v) == STEP_KEYS
    np.testing.assert_array_equal(cut.pattern, b.pattern[start:stop])
    np.testing.assert_array_equal(cut.z, b.z)
