"""Every step-by-step panel against an independent recomputation from Hugging Face's model."""

import numpy as np
import pytest
import torch

import attnviz
from attnviz.steps import steps

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
        x=x, q=q[query], k=k, v=v, dots=dots, scaled=scaled, probs=probs, weighted=probs[:, None] * v, z=z,
        concat=concat, result=result, mid=mid, output=out.hidden_states[layer + 1][0, query].numpy(),
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
    for name, ours in [("q", s.q), ("k", s.k), ("v", s.v), ("dots", s.dots), ("scaled", s.scaled), ("probs", s.probs),
                       ("weighted", s.weighted), ("z", s.z), ("concat", s.concat), ("result", s.attn_result),
                       ("mid", s.resid_mid), ("output", s.layer_output)]:
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
    np.testing.assert_allclose(s.embeddings["after LayerNorm"], after, atol=1e-5)
