"""DCFormer / DCMHA: the properties of section 6 of docs/dcmha.md, on random tiny configs,
plus checkpoint round trips, loader errors, hooks, compose_matrix, training smoke and shipped assets."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from attnviz.compose import compose
from attnviz.models.base import CheckpointError
from attnviz.models.dcformer import DCFormer, DCFormerConfig, KVCache
from attnviz.models.vocab import CharTokenizer
from attnviz.analysis.dcmha import compose_matrix
from attnviz.decoding import decode
from attnviz.models.char_lm import CharLanguageModel
from attnviz.models.dcformer_checkpoint import load_dcformer, save_dcformer

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
ATOL = 2e-5


def tiny_cfg(**kw) -> DCFormerConfig:
    base = dict(
        vocab_size=50,
        dim=32,
        n_layer=4,
        n_head=4,
        window_size=5,
        window_type="LG",
        q_chunk_size=None,
        use_qk_norm=True,
        rope_base=10000.0,
    )
    base.update(kw)
    return DCFormerConfig(**base)


def make_model(seed: int = 0, boost: float = 30.0, **kw) -> DCFormer:
    """Random model whose dynamic weights are scaled up so that compose is far from the identity."""
    torch.manual_seed(seed)
    m = DCFormer(tiny_cfg(**kw)).eval()
    with torch.no_grad():
        for name, p in m.named_parameters():
            if name.endswith(("qkw",)):
                p.mul_(boost)
            if name.endswith(("dd",)):
                p.mul_(20.0)
            if name.endswith("norm.weight") or name.endswith(".scale"):
                p.copy_(1.0 + 0.3 * torch.randn_like(p))
    return m


def toks(T=23, B=2, V=50, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, V, (B, T), generator=g)


# --------------------------------------------------------------- an independent naive reference
def ref_forward(sd: dict, cfg: DCFormerConfig, tokens: torch.Tensor) -> torch.Tensor:
    """Direct transcription of the design page, with per-(t, s) H x H compose matrices built explicitly."""
    sd = {k: v.double() for k, v in sd.items()}
    H, d = cfg.n_head, cfg.head_dim
    B, T = tokens.shape

    def rms(x, w, eps):
        return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * w

    def rope(x):  # (B, H, T, d)
        half = d // 2
        j = torch.arange(half, dtype=torch.float64)
        ang = torch.arange(T, dtype=torch.float64)[:, None] * cfg.rope_base ** (-2 * j / d)
        c, s = torch.cos(ang), torch.sin(ang)
        x1, x2 = x[..., :half], x[..., half:]
        return torch.cat([x1 * c - x2 * s, x1 * s + x2 * c], -1)

    def gelu(z):  # exact GELU
        return 0.5 * z * (1 + torch.erf(z / math.sqrt(2)))

    h = sd["tok_embeddings.weight"][tokens]
    windows = cfg.layer_windows()
    for l in range(cfg.n_layer):
        p = f"layers.{l}."
        x = rms(h, sd[p + "attention_norm.weight"], cfg.norm_eps)
        qkv = x @ sd[p + "attention.wqkv.weight"].T
        q, k, v = [t.view(B, T, H, d).transpose(1, 2) for t in qkv.split(H * d, -1)]
        if cfg.use_qk_norm:
            q = rms(q, sd[p + "attention.q_norm.scale"], 1e-6)
            k = rms(k, sd[p + "attention.k_norm.scale"], 1e-6)
        q, k = rope(q), rope(k)
        A = q @ k.transpose(-1, -2) / math.sqrt(d)  # (B, H, T, S)
        i = torch.arange(T)
        mask = i[:, None] >= i[None, :]
        if windows[l] is not None:
            mask &= (i[:, None] - i[None, :]) < windows[l]
        if cfg.use_dcmha:
            dw1, qkw, dd = (
                sd[p + "attention.dyn_w_proj.dw1"],
                sd[p + "attention.dyn_w_proj.qkw"],
                sd[p + "attention.dyn_w_proj.dd"],
            )
            gates = torch.tanh(x @ dd[:, 0, :])  # (B, T, 4H)
            W = {}
            for c, br in enumerate(["pre_q", "pre_k", "post_q", "post_k"]):
                hid = gelu(x @ dw1[:, 0, c, :])  # (B, T, K)
                w = hid @ qkw[0, c].reshape(qkw.shape[2], -1)  # (B, T, 2R*H)
                w = w.view(B, T, 4, H)
                w1, w2 = w[:, :, :2], w[:, :, 2:]
                w1 = w1 / torch.sqrt((w1 * w1).mean(-1, keepdim=True) + 1e-6)
                W[br] = (w1, w2, gates[..., c * H : (c + 1) * H])

            def explicit(Ain, stage):
                w1q, w2q, gq = W[stage + "_q"]
                w1k, w2k, gk = W[stage + "_k"]
                out = torch.zeros_like(Ain)
                for b in range(B):
                    for t in range(T):
                        for s in range(T):
                            C = torch.eye(H, dtype=torch.float64)
                            for r in range(2):
                                C = (
                                    C
                                    + torch.outer(w2q[b, t, r], w1q[b, t, r])
                                    + torch.outer(w2k[b, s, r], w1k[b, s, r])
                                )
                            C = C + torch.diag(gq[b, t]) + torch.diag(gk[b, s])
                            out[b, :, t, s] = C @ Ain[b, :, t, s]
                return out

            A = explicit(A, "pre")
        P = torch.softmax(A.masked_fill(~mask, float("-inf")), -1)
        if cfg.use_dcmha:
            P = explicit(P, "post")
        o = (P @ v).transpose(1, 2).reshape(B, T, H * d) @ sd[p + "attention.wo.weight"].T
        h = h + o
        y = rms(h, sd[p + "ffn_norm.weight"], cfg.norm_eps)
        a1 = y @ sd[p + "feed_forward.w1.weight"].T
        act = (a1 * torch.sigmoid(a1)) * (y @ sd[p + "feed_forward.w3.weight"].T)  # (B, T, I)
        if cfg.mgate:  # mgate_dim equal groups, each scaled by softmax(mg y)
            g = torch.softmax(y @ sd[p + "feed_forward.mg.weight"].T, -1)  # (B, T, M)
            act = (act.view(B, T, cfg.mgate_dim, -1) * g[..., None]).view(B, T, -1)
        h = h + act @ sd[p + "feed_forward.w2.weight"].T
    return rms(h, sd["norm.weight"], cfg.norm_eps) @ sd["output.weight"].T


def test_matches_independent_reference():
    m = make_model(seed=3, n_layer=2, window_size=4)
    x = toks(T=9, B=2)
    with torch.no_grad():
        out = m(x)
    ref = ref_forward(m.state_dict(), m.config, x)
    assert torch.allclose(out.double(), ref, atol=2e-6), (out.double() - ref).abs().max()


def test_matches_independent_reference_mgate_lgll():
    m = make_model(
        seed=16,
        n_layer=4,
        window_size=3,
        window_type="LGLL",
        mgate=True,
        mgate_dim=4,
        intermediate_size=48,
        use_qk_norm=False,
    )
    with torch.no_grad():
        for l in m.layers:
            l.feed_forward.mg.weight.normal_(0, 1.0)
    x = toks(T=8, B=1)
    with torch.no_grad():
        out = m(x)
    assert torch.allclose(out.double(), ref_forward(m.state_dict(), m.config, x), atol=2e-6)


# --------------------------------------------------------------- 6.1 zero dynamic weights == MHA
def plain_mha_forward(sd, cfg, tokens):
    c = DCFormerConfig(**{**cfg.to_dict(), "use_dcmha": False})
    return ref_forward({k: v for k, v in sd.items() if "dyn_w_proj" not in k}, c, tokens)


def test_zero_dynamic_weights_equal_mha():
    m = make_model(seed=1)
    with torch.no_grad():
        for l in m.layers:
            l.attention.dyn_w_proj.qkw.zero_()
            l.attention.dyn_w_proj.dd.zero_()
    x = toks()
    twin = DCFormer(DCFormerConfig(**{**m.config.to_dict(), "use_dcmha": False})).eval()
    missing = twin.load_state_dict(m.state_dict(), strict=False)
    assert all("dyn_w_proj" in k for k in missing.unexpected_keys) and not missing.missing_keys
    with torch.no_grad():
        a, b = m(x), twin(x)
    assert torch.allclose(a, b, atol=ATOL)
    assert torch.allclose(b.double(), plain_mha_forward(twin.state_dict(), twin.config, x), atol=1e-4)


# --------------------------------------------------------------- 6.2 factored == explicit C_ts
def test_factored_compose_equals_explicit():
    g = torch.Generator().manual_seed(0)
    B, H, T, S, R = 2, 5, 6, 7, 2
    a = torch.randn(B, H, T, S, generator=g, dtype=torch.float64)
    qw1, qw2 = (
        torch.randn(B, T, R, H, generator=g, dtype=torch.float64),
        torch.randn(B, T, R, H, generator=g, dtype=torch.float64),
    )
    kw1, kw2 = (
        torch.randn(B, S, R, H, generator=g, dtype=torch.float64),
        torch.randn(B, S, R, H, generator=g, dtype=torch.float64),
    )
    qdd, kdd = (
        torch.randn(B, T, H, generator=g, dtype=torch.float64),
        torch.randn(B, S, H, generator=g, dtype=torch.float64),
    )
    static = torch.randn(H, H, generator=g, dtype=torch.float64)
    out = compose(a, qw1, qw2, kw1, kw2, qdd, kdd, static)
    # explicit (B, T, S, H, H): only on this short input
    C = (
        torch.eye(H, dtype=torch.float64)
        + static
        + torch.einsum("btin,btim->btnm", qw2, qw1)[:, :, None]
        + torch.diag_embed(qdd)[:, :, None]
        + torch.einsum("bsin,bsim->bsnm", kw2, kw1)[:, None]
        + torch.diag_embed(kdd)[:, None]
    )
    explicit = torch.einsum("btsnm,bmts->bnts", C, a)
    assert torch.allclose(out, explicit, atol=1e-10)


def test_compose_matrix_matches_factored_forward():
    m = make_model(seed=2, use_static_compose=True)
    with torch.no_grad():
        for l in m.layers:
            l.attention.dyn_w_proj.sw.normal_(0, 0.3)
    _, cap = m.run_with_cache(toks(T=12, B=1))
    for layer in (0, 1):
        for t, s in [(0, 0), (7, 3), (11, 11), (11, 0)]:
            pre = compose_matrix(cap, layer, t, s, "pre")
            post = compose_matrix(cap, layer, t, s, "post")
            scores = cap[f"blocks.{layer}.attn.hook_scores"][:, t, s]
            composed = cap[f"blocks.{layer}.attn.hook_scores_composed"][:, t, s]
            np.testing.assert_allclose(pre["C"] @ scores, composed, atol=1e-4)
            probs = cap[f"blocks.{layer}.attn.hook_probs"][:, t, s]
            pattern = cap[f"blocks.{layer}.attn.hook_pattern"][:, t, s]
            np.testing.assert_allclose(post["C"] @ probs, pattern, atol=1e-5)
            parts = sum(pre[k] for k in ("identity", "query", "key", "query_gate", "key_gate", "static"))
            np.testing.assert_allclose(parts, pre["C"], atol=1e-6)
            assert np.abs(pre["static"]).sum() > 0 and np.allclose(
                np.diag(np.diag(pre["query_gate"])), pre["query_gate"]
            )


# --------------------------------------------------------------- 6.3 chunked == unchunked; incremental decoding
@pytest.mark.parametrize("causal", [True, False])
def test_chunked_equals_unchunked(causal):
    m = make_model(seed=4)
    x = toks(T=37)
    with torch.no_grad():
        full = m(x, causal=causal)
        m.config.q_chunk_size = 8
        chunked = m(x, causal=causal)
        chunked_w = m(x, causal=causal, window_size=3)
        m.config.q_chunk_size = None
        full_w = m(x, causal=causal, window_size=3)
    assert torch.allclose(full, chunked, atol=ATOL)
    assert torch.allclose(full_w, chunked_w, atol=ATOL)
    assert not torch.allclose(full, full_w, atol=1e-3)  # the window override changes the real forward


def test_incremental_decoding_equals_full_forward():
    m = make_model(seed=5, q_chunk_size=4)
    x = toks(T=19, B=2)
    with torch.no_grad():
        full = m(x)
        cache = KVCache(m.config.n_layer)
        m(x[:, :-1], cache=cache)  # prefill (chunked)
        last = m(x[:, -1:], cache=cache)  # one new token
        assert torch.allclose(last[:, 0], full[:, -1], atol=ATOL)
        cache = KVCache(m.config.n_layer)  # two chunked prefills (the second one starts at 7)
        m(x[:, :7], cache=cache)
        second = m(x[:, 7:], cache=cache)
        assert torch.allclose(second, full[:, 7:], atol=ATOL)
        cache = KVCache(m.config.n_layer)  # token by token, every position
        steps = torch.cat([m(x[:, i : i + 1], cache=cache) for i in range(x.shape[1])], dim=1)
    assert torch.allclose(steps, full, atol=ATOL)


# --------------------------------------------------------------- 6.4 causality in every layer
def test_causality_every_layer():
    m = make_model(seed=6, q_chunk_size=5)
    x = toks(T=20, B=1)
    t = 11
    y = x.clone()
    y[0, t + 1 :] = (y[0, t + 1 :] + 7) % 50
    _, ca = m.run_with_cache(x)
    _, cb = m.run_with_cache(y)
    for l in range(m.config.n_layer):
        for h in ("hook_resid_post", "hook_attn_out"):
            np.testing.assert_allclose(ca[f"blocks.{l}.{h}"][: t + 1], cb[f"blocks.{l}.{h}"][: t + 1], atol=1e-5)
        for h in ("hook_scores_composed", "hook_probs", "hook_pattern"):
            np.testing.assert_allclose(
                ca[f"blocks.{l}.attn.{h}"][:, : t + 1, : t + 1],
                cb[f"blocks.{l}.attn.{h}"][:, : t + 1, : t + 1],
                atol=1e-5,
            )
        # future keys get exactly zero weight, before and after post-compose
        for h in ("hook_probs", "hook_pattern"):
            assert np.all(np.triu(np.ones((20, 20)), 1)[None] * ca[f"blocks.{l}.attn.{h}"] == 0)
    assert not np.allclose(ca["hook_logits"][t + 1 :], cb["hook_logits"][t + 1 :])
    with torch.no_grad():  # same through the chunked, non-recording path
        assert torch.allclose(m(x)[0, : t + 1], m(y)[0, : t + 1], atol=1e-5)


# --------------------------------------------------------------- 6.5 window
def test_window_zero_before_and_after_post_compose():
    w = 4
    m = make_model(seed=7, window_size=w, window_type="LGLL")
    assert m.layer_windows() == [w, None, w, w]
    _, cap = m.run_with_cache(toks(T=16, B=1))
    i = np.arange(16)
    old = (i[:, None] - i[None, :]) >= w
    for l, win in enumerate(m.layer_windows()):
        mask = cap[f"blocks.{l}.attn.hook_mask"]
        assert mask.dtype == np.bool_
        probs, pattern = cap[f"blocks.{l}.attn.hook_probs"], cap[f"blocks.{l}.attn.hook_pattern"]
        if win is None:
            assert mask[15, 0] and probs[:, 15, 0].min() > 0
            continue
        assert not mask[old].any() and mask[~old & (i[:, None] >= i[None, :])].all()
        assert np.all(probs[:, old] == 0) and np.all(pattern[:, old] == 0)
        assert (probs[:, 15, 15 - w + 1] > 0).all()  # query i sees key i-w+1 ...
        assert (probs[:, 15, 15 - w] == 0).all()  # ... but not i-w
    assert not np.allclose(cap["blocks.0.attn.hook_pattern"], cap["blocks.0.attn.hook_probs"], atol=1e-3)


def test_explicit_window_list_and_override():
    m = make_model(seed=8, window_type=[3, None, 2, None])
    assert m.layer_windows() == [3, None, 2, None]
    _, cap = m.run_with_cache(toks(T=10, B=1), layer_windows=[None, 2, None, None])
    assert cap["blocks.0.attn.hook_mask"][9, 0] and not cap["blocks.1.attn.hook_mask"][9, 7]
    extra = torch.ones(10, 10, dtype=torch.bool)
    extra[:, 0] = False
    extra[0, 0] = True
    _, cap2 = m.run_with_cache(toks(T=10, B=1), attn_mask=extra)
    assert not cap2["blocks.1.attn.hook_mask"][9, 0] and np.all(cap2["blocks.1.attn.hook_pattern"][:, 5, 0] == 0)


# --------------------------------------------------------------- 6.6 permutation post-compose
def test_permutation_post_compose_swaps_patterns():
    m = make_model(seed=9, use_static_compose=True)
    perm = [2, 0, 3, 1]  # output head n takes input head perm[n]
    P = torch.zeros(4, 4)
    P[torch.arange(4), torch.tensor(perm)] = 1.0  # C orientation: C[n, perm[n]] = 1
    with torch.no_grad():
        for l in m.layers:
            dw = l.attention.dyn_w_proj
            dw.qkw.zero_()
            dw.dd.zero_()
            dw.sw.zero_()
            dw.sw[0, 1] = (
                P - torch.eye(4)
            ).T  # residual I + static == P; sw is stored in published (in, out) orientation
    _, cap = m.run_with_cache(toks(T=9, B=1))
    for l in range(4):
        probs, pattern = cap[f"blocks.{l}.attn.hook_probs"], cap[f"blocks.{l}.attn.hook_pattern"]
        for n in range(4):
            np.testing.assert_allclose(pattern[n], probs[perm[n]], atol=1e-6)
        np.testing.assert_allclose(compose_matrix(cap, l, 3, 2, "post")["C"], P.numpy(), atol=1e-6)


# --------------------------------------------------------------- dynamic weights: exact GELU, tanh gates, normed w1
def test_dynamic_weight_semantics():
    m = make_model(seed=10)
    dwp = m.layers[0].attention.dyn_w_proj
    x = torch.randn(1, 6, 32)
    with torch.no_grad():
        out = dwp(x)
        hid = torch.nn.functional.gelu(torch.einsum("btd,dck->btck", x, dwp.dw1[:, 0]), approximate="none")
        w = torch.einsum("btck,ckim->btcim", hid, dwp.qkw[0])
        w1 = w[:, :, 1, :2]  # branch 1 = pre-key
        w1 = w1 / torch.sqrt(w1.pow(2).mean(-1, keepdim=True) + 1e-6)
        assert torch.allclose(out["pre_kw1"], w1, atol=1e-5)
        assert torch.allclose(out["post_qw2"], w[:, :, 2, 2:], atol=1e-6)
        assert torch.allclose(out["post_kdd"], torch.tanh(x @ dwp.dd[:, 0])[..., 12:16], atol=1e-6)
    assert tuple(dwp.dw1.shape) == (32, 1, 4, 16) and tuple(dwp.qkw.shape) == (1, 4, 16, 4, 4)
    assert tuple(dwp.dd.shape) == (32, 1, 16)


# --------------------------------------------------------------- hooks
ATTENTION_HOOKS = [
    "hook_q",
    "hook_k",
    "hook_v",
    "hook_scores",
    "hook_scores_composed",
    "hook_mask",
    "hook_probs",
    "hook_pattern",
    "hook_z",
] + [f"hook_{st}_{n}" for st in ("pre", "post") for n in ("qw1", "qw2", "kw1", "kw2", "qdd", "kdd")]


def test_hook_names_and_shapes():
    m = make_model(seed=11)
    T, H, d, D, R = 13, 4, 8, 32, 2
    _, cap = m.run_with_cache(toks(T=T, B=2))
    assert set(m.hook_names()) == set(cap)
    for l in range(4):
        p = f"blocks.{l}.attn."
        for n in ATTENTION_HOOKS:
            assert p + n in cap, p + n
            assert isinstance(cap[p + n], np.ndarray)
        for n in ("hook_q", "hook_k", "hook_v"):
            assert cap[p + n].shape == (H, T, d) and cap[p + n].dtype == np.float32
        for n in ("hook_scores", "hook_scores_composed", "hook_probs", "hook_pattern"):
            assert cap[p + n].shape == (H, T, T) and cap[p + n].dtype == np.float32
        assert cap[p + "hook_mask"].shape == (T, T)
        assert cap[p + "hook_z"].shape == (H, T, d)
        for st in ("pre", "post"):
            for n in ("qw1", "qw2", "kw1", "kw2"):
                assert cap[f"{p}hook_{st}_{n}"].shape == (T, R, H)
            for n in ("qdd", "kdd"):
                assert cap[f"{p}hook_{st}_{n}"].shape == (T, H)
        np.testing.assert_allclose(cap[p + "hook_probs"].sum(-1), 1.0, atol=1e-5)
        assert cap[f"blocks.{l}.hook_resid_post"].shape == (T, D)
    # MHA twin: no compose hooks, composed == raw, pattern == probs
    twin = make_model(seed=11, use_dcmha=False)
    _, ct = twin.run_with_cache(toks(T=T, B=1))
    assert set(twin.hook_names()) == set(ct) and "blocks.0.attn.hook_pre_qw1" not in ct
    np.testing.assert_array_equal(ct["blocks.0.attn.hook_pattern"], ct["blocks.0.attn.hook_probs"])
    with pytest.raises(KeyError):
        compose_matrix(ct, 0, 1, 1)


def test_recording_is_per_call_and_thread_safe():
    import threading
    from attnviz.hooks import recording

    m = make_model(seed=12)
    results = {}

    def run(T):
        with torch.no_grad():
            for _ in range(3):
                with recording() as recorder:
                    m(toks(T=T, B=1))
        results[T] = recorder.tensors

    threads = [threading.Thread(target=run, args=(T,)) for T in (5, 7, 9)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    for T, rec in results.items():
        assert rec["blocks.3.attn.hook_pattern"].shape == (1, 4, T, T)
    for mod in m.modules():  # nothing captured is kept on the modules
        assert not any(
            isinstance(v, torch.Tensor) and any(v is r for rec in results.values() for r in rec.values())
            for v in vars(mod).values()
        )


def test_only_recorded_maps_are_built():
    """Filtered at the source: without a recorder wanting a map, the blocked forward reads only each block's keys;
    recording one name records that name alone, and the numbers equal a full recording's."""
    from attnviz.hooks import recording

    m = make_model(seed=12, window_size=3, q_chunk_size=4)
    x = toks(T=11, B=1)
    with torch.no_grad(), recording(["blocks.1.attn.hook_pattern"]) as only:
        m(x)
    _, full = m.run_with_cache(x)
    assert list(only.tensors) == ["blocks.1.attn.hook_pattern"]
    np.testing.assert_allclose(
        only.tensors["blocks.1.attn.hook_pattern"][0].numpy(), full["blocks.1.attn.hook_pattern"], atol=1e-6
    )


# --------------------------------------------------------------- checkpoints
def test_save_load_published_layout_roundtrip(tmp_path):
    from safetensors.torch import load_file, save_file

    m = make_model(seed=13, mgate=True, mgate_dim=4, intermediate_size=48)
    save_dcformer(m, tmp_path / "a")
    names = set(load_file(tmp_path / "a" / "model.safetensors"))
    for n in (
        "tok_embeddings.weight",
        "norm.weight",
        "output.weight",
        "layers.0.attention_norm.weight",
        "layers.0.ffn_norm.weight",
        "layers.0.attention.wqkv.weight",
        "layers.0.attention.wo.weight",
        "layers.0.attention.q_norm.scale",
        "layers.0.attention.k_norm.scale",
        "layers.0.attention.dyn_w_proj.dw1",
        "layers.0.attention.dyn_w_proj.qkw",
        "layers.0.attention.dyn_w_proj.dd",
        "layers.0.feed_forward.w1.weight",
        "layers.0.feed_forward.w2.weight",
        "layers.0.feed_forward.w3.weight",
        "layers.3.feed_forward.mg.weight",
    ):
        assert n in names, n
    cfg = json.loads((tmp_path / "a" / "config.json").read_text())
    for k in (
        "dim",
        "n_head",
        "n_layer",
        "head_dim",
        "intermediate_size",
        "window_size",
        "window_type",
        "use_qk_norm",
        "rope_base",
        "norm_eps",
        "vocab_size",
        "q_chunk_size",
        "use_dcmha",
        "mgate",
        "mgate_dim",
    ):
        assert k in cfg
    x = toks()
    with torch.no_grad():
        ref = m(x)
        assert torch.equal(load_dcformer(tmp_path / "a")(x), ref)
    # separate wq / wk / wv in bf16, in a list of files
    sd = {k: v.clone() for k, v in m.state_dict().items()}
    for l in range(4):
        wq, wk, wv = sd.pop(f"layers.{l}.attention.wqkv.weight").chunk(3, 0)
        sd.update(
            {
                f"layers.{l}.attention.wq.weight": wq,
                f"layers.{l}.attention.wk.weight": wk,
                f"layers.{l}.attention.wv.weight": wv,
            }
        )
    (tmp_path / "b").mkdir()
    save_file({k: v.contiguous() for k, v in sd.items()}, tmp_path / "b" / "w.safetensors")
    (tmp_path / "b" / "config.json").write_text(json.dumps(cfg))
    m2 = load_dcformer([tmp_path / "b" / "config.json", tmp_path / "b" / "w.safetensors"])
    with torch.no_grad():
        assert torch.allclose(m2(x), ref, atol=1e-6)
    save_file(
        {k: v.to(torch.bfloat16).contiguous() for k, v in m.state_dict().items()}, tmp_path / "b" / "w.safetensors"
    )
    m3 = load_dcformer(tmp_path / "b")
    assert next(m3.parameters()).dtype == torch.float32


def test_a_config_written_the_published_way_reads_as_the_published_code_reads_it(tmp_path):
    """A published config.json: window_type null (the LG layout), and no rope_base, q_chunk_size or
    intermediate_size (the published defaults: 500000, 128 and the SwiGLU width rounded to 256)."""
    published = {
        "vocab_size": 50,
        "dim": 64,
        "n_head": 4,
        "n_layer": 4,
        "window_size": 5,
        "window_type": None,
        "use_qk_norm": True,
        "model_type": "dcformer",
        "bos_token_id": 1,
    }
    cfg = DCFormerConfig.from_dict(published)
    assert cfg.layer_windows() == [5, None, 5, None]
    assert cfg.rope_base == 500000.0 and cfg.q_chunk_size == 128 and cfg.intermediate_size == 256
    assert cfg.head_dim == 16 and cfg.use_dcmha and not cfg.mgate
    # weights of that shape, written with the published names, load and run with those windows and positions
    torch.manual_seed(0)
    model = DCFormer(cfg).eval()
    save_dcformer(model, tmp_path)
    (tmp_path / "config.json").write_text(json.dumps(published))
    loaded = load_dcformer(tmp_path)
    assert loaded.config.rope_base == 500000.0 and loaded.layer_windows() == [5, None, 5, None]
    x = torch.randint(0, 50, (1, 12))
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    _, cap = loaded.run_with_cache(x)
    i, j = np.indices((12, 12))
    assert np.array_equal(cap["blocks.0.attn.hook_mask"], (j <= i) & (i - j < 5))
    assert np.array_equal(cap["blocks.1.attn.hook_mask"], j <= i)


def test_loader_names_missing_and_misshaped(tmp_path):
    from safetensors.torch import save_file

    m = make_model(seed=14)
    sd = {k: v.clone().contiguous() for k, v in m.state_dict().items()}
    del sd["layers.1.attention.dyn_w_proj.qkw"]
    del sd["norm.weight"]
    sd["layers.2.attention.wo.weight"] = torch.zeros(32, 31)
    sd["layers.0.attention.dyn_w_proj.dd"] = torch.zeros(32, 1, 15)
    save_dcformer(m, tmp_path)
    save_file(sd, tmp_path / "model.safetensors")
    with pytest.raises(CheckpointError) as e:
        load_dcformer(tmp_path)
    msg = str(e.value)
    assert "missing layers.1.attention.dyn_w_proj.qkw: expected shape (1, 4, 16, 4, 4)" in msg
    assert "missing norm.weight" in msg
    assert "layers.2.attention.wo.weight: expected shape (32, 32), got (32, 31)" in msg
    assert "layers.0.attention.dyn_w_proj.dd: expected shape (32, 1, 16), got (32, 1, 15)" in msg


# --------------------------------------------------------------- tokenizer, generation, training smoke
def test_tokenizer_and_generation(tmp_path):
    tok = CharTokenizer.from_text("hello 你好")
    tok.save(tmp_path / "vocab.json")
    tok2 = CharTokenizer.load(tmp_path / "vocab.json")
    assert tok2.encode("hello 你好") == tok.encode("hello 你好") and tok2.decode(tok2.encode("你好")) == "你好"
    assert tok2.encode("z") == [0]  # unknown character
    m = make_model(seed=15, vocab_size=len(tok), boost=1.0)
    save_dcformer(m, tmp_path)
    model = CharLanguageModel(tmp_path)  # the one decoder loop feeds the model's decode_step (its KV cache)
    _, steps = decode(model, tok.encode("he"), 12)
    cached = [step.token_id for step in steps]
    ids = tok.encode("he")  # the same greedy choice, recomputed from a full forward over the whole text each time
    with torch.no_grad():
        for _ in range(12):
            logits = m(torch.tensor([ids]))[0, -1].clone()
            logits[0] = float("-inf")  # <unk> is never generated
            ids.append(int(logits.argmax()))
    assert cached == ids[2:] and len(cached) == 12
    sampled = [[s.token_id for s in decode(model, tok.encode("he"), 12, temperature=1.0, top_k=3, seed=7)[1]]]
    sampled.append([s.token_id for s in decode(model, tok.encode("he"), 12, temperature=1.0, top_k=3, seed=7)[1]])
    assert sampled[0] == sampled[1] and 0 not in sampled[0]


def test_training_smoke():
    from attnviz.training.dcformer import smoke_train

    model, losses = smoke_train(steps=10)
    assert all(math.isfinite(l) for l in losses)
    assert np.mean(losses[-3:]) < np.mean(losses[:3])


@pytest.mark.parametrize("name", ["dcformer-tiny", "mha-tiny"])
def test_shipped_assets_load(name):
    """The committed weights (assets/<name>/, in git): missing or unreadable is a failure, never a skip."""
    d = ROOT / "assets" / name
    for file in ("config.json", "model.safetensors", "vocab.json", "train_log.json"):
        path = d / file
        assert path.is_file(), f"{path.relative_to(ROOT)} is missing: it is committed with the repository"
        assert path.stat().st_size > 0, f"{path.relative_to(ROOT)} is empty"
    with open(d / "model.safetensors", "rb") as weights:
        pointer = weights.read(64).startswith(b"version https://git-lfs")
    assert not pointer, f"{(d / 'model.safetensors').relative_to(ROOT)} is a Git LFS pointer, not the weights"
    m = load_dcformer(d)
    tok = CharTokenizer.load(d / "vocab.json")
    assert len(tok) == m.config.vocab_size
    ids = tok.encode("The cat sat on the mat. 床前明月光，疑是地上霜。")
    assert sum(i == 0 for i in ids) <= 2
    with torch.no_grad():
        logits = m(torch.tensor([ids]))
    assert torch.isfinite(logits).all()
    assert m.config.use_dcmha == (name == "dcformer-tiny")
    log = json.loads((d / "train_log.json").read_text())
    assert math.isfinite(log["heldout_loss"])
