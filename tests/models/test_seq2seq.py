"""The date encoder-decoder: attention math against an independent NumPy recomputation, masks,
the autoregressive loop, checkpoints, a training smoke run, the generated task and the shipped model."""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from attnviz import tasks
from attnviz.text import InputError
from attnviz.hooks import recording
from attnviz.decoding import greedy_decode
from attnviz.models.seq2seq import (
    CheckpointError,
    DEFAULT_DIR,
    DateTranslator,
    Seq2Seq,
    Seq2SeqConfig,
    greedy_batch,
    load_seq2seq,
    pad_batch,
    save_seq2seq,
)
from attnviz.models.base import hook_name
from attnviz.training.seq2seq import HELDOUT_SEED, exact_match, make_batch, smoke_train


def hook_prefix(part: str, layer: int) -> str:
    return hook_name("pattern", layer, part).removesuffix(".hook_pattern")


torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]
# Measured: the shipped model gets 100.00 % of 2000 held-out dates (scripts/eval_seq2seq.py);
# the test asks for a margin below that on a smaller set.
SHIPPED_MIN_ACCURACY = 0.97


@pytest.fixture(scope="module")
def vocab():
    return tasks.date_vocab()


@pytest.fixture(scope="module")
def random_model(vocab):
    """A random model with large weights, so that attention is far from uniform."""
    torch.manual_seed(0)
    model = Seq2Seq(
        Seq2SeqConfig(vocab_size=len(vocab), d_model=32, n_heads=4, n_encoder_layers=2, n_decoder_layers=2, d_ff=64)
    )
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and p.dim() == 2:
                p.normal_(0.0, 0.3)
            elif "ln" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.2 * torch.randn_like(p))
            else:
                p.normal_(0.0, 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def shipped():
    if not (DEFAULT_DIR / "model.safetensors").exists():
        pytest.fail(f"{DEFAULT_DIR} is missing: run scripts/train_seq2seq.py")
    return load_seq2seq(DEFAULT_DIR)


# ----------------------------------------------------------------------------- independent reference
def np_layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def np_attention(state, prefix, x_q, x_kv, allowed, n_heads):
    """Multi-head attention from the weights alone, in float64 NumPy: (q, k, v, scores, pattern, z, result)."""
    w = lambda name: state[f"{prefix}.{name}"].double().numpy()  # noqa: E731
    D = x_q.shape[-1]
    d = D // n_heads

    def heads(y):  # (n, D) -> (H, n, d)
        return y.reshape(y.shape[0], n_heads, d).transpose(1, 0, 2)

    q = heads(x_q @ w("q_proj.weight").T + w("q_proj.bias"))
    k = heads(x_kv @ w("k_proj.weight").T + w("k_proj.bias"))
    v = heads(x_kv @ w("v_proj.weight").T + w("v_proj.bias"))
    scores = np.einsum("hqd,hkd->hqk", q, k) / np.sqrt(d)
    masked = np.where(allowed[None], scores, -np.inf)
    e = np.exp(masked - masked.max(-1, keepdims=True))
    pattern = e / e.sum(-1, keepdims=True)
    z = pattern @ v
    concat = z.transpose(1, 0, 2).reshape(x_q.shape[0], D)
    result = concat @ w("o_proj.weight").T + w("o_proj.bias")
    return dict(hook_q=q, hook_k=k, hook_v=v, hook_scores=scores, hook_pattern=pattern, hook_z=z, hook_result=result)


def test_every_attention_matches_an_independent_numpy_recomputation(random_model, vocab):
    model = random_model
    state = model.state_dict()
    src = pad_batch([vocab.encode("Nov 25, 2026"), vocab.encode("25.11.2026")])  # second row padded
    tgt = pad_batch([[tasks.SOS] + vocab.encode("2026-11"), [tasks.SOS] + vocab.encode("2026-1")])
    with torch.inference_mode(), recording() as rec:
        model(src, tgt)
    cap = {name: t.double().numpy() if t.dtype != torch.bool else t.numpy() for name, t in rec.tensors.items()}
    H = model.n_heads
    memory = cap["encoder.hook_memory"]
    for b in range(2):
        src_real = (src[b] != tasks.PAD).numpy()
        tgt_real = (tgt[b] != tasks.PAD).numpy()
        S, T = len(src_real), len(tgt_real)
        checks = []
        for layer in range(2):
            x = cap[f"encoder.blocks.{layer}.hook_resid_pre"][b]
            h = np_layer_norm(
                x,
                state[f"encoder_blocks.{layer}.ln_attn.weight"].double().numpy(),
                state[f"encoder_blocks.{layer}.ln_attn.bias"].double().numpy(),
            )
            allowed = np.broadcast_to(src_real[None, :], (S, S))
            checks.append((hook_prefix("encoder", layer), f"encoder_blocks.{layer}.attn", h, h, allowed))
            x = cap[f"decoder.blocks.{layer}.hook_resid_pre"][b]
            h = np_layer_norm(
                x,
                state[f"decoder_blocks.{layer}.ln_self.weight"].double().numpy(),
                state[f"decoder_blocks.{layer}.ln_self.bias"].double().numpy(),
            )
            allowed = np.tril(np.ones((T, T), dtype=bool)) & tgt_real[None, :]
            checks.append((hook_prefix("decoder_self", layer), f"decoder_blocks.{layer}.self_attn", h, h, allowed))
            x = cap[f"decoder.blocks.{layer}.hook_resid_mid"][b]
            h = np_layer_norm(
                x,
                state[f"decoder_blocks.{layer}.ln_cross.weight"].double().numpy(),
                state[f"decoder_blocks.{layer}.ln_cross.bias"].double().numpy(),
            )
            allowed = np.broadcast_to(src_real[None, :], (T, S))
            checks.append(
                (hook_prefix("decoder_cross", layer), f"decoder_blocks.{layer}.cross_attn", h, memory[b], allowed)
            )
        for point, weight_prefix, x_q, x_kv, allowed in checks:
            expected = np_attention(state, weight_prefix, x_q, x_kv, allowed, H)
            assert np.array_equal(cap[f"{point}.hook_mask"][b], allowed), point
            for key, value in expected.items():
                got = cap[f"{point}.{key}"][b]
                if key == "hook_scores":  # raw scores are recorded before the mask
                    np.testing.assert_allclose(got, value, atol=2e-4, rtol=1e-4, err_msg=f"{point}.{key}")
                else:
                    np.testing.assert_allclose(got, value, atol=2e-5, rtol=1e-4, err_msg=f"{point}.{key}")
            assert (cap[f"{point}.hook_pattern"][b][:, ~allowed] == 0).all()
    # the patterns are far from uniform, so the comparison above is not trivially satisfied
    assert cap["decoder.blocks.1.cross_attn.hook_pattern"].max() > 0.5


def test_decoder_self_attention_is_causal(random_model, vocab):
    src = torch.tensor([vocab.encode("2026年11月25日")])
    tgt = torch.tensor([[tasks.SOS] + vocab.encode("2026-11-25")])
    with torch.inference_mode(), recording(["decoder.blocks.*.self_attn.hook_*", "decoder.hook_logits"]) as rec:
        random_model(src, tgt)
    T = tgt.shape[1]
    for layer in range(2):
        pattern = rec.tensors[f"decoder.blocks.{layer}.self_attn.hook_pattern"][0]  # (H, T, T)
        assert torch.equal(
            rec.tensors[f"decoder.blocks.{layer}.self_attn.hook_mask"][0], torch.ones(T, T, dtype=torch.bool).tril()
        )
        lower = torch.ones(T, T, dtype=torch.bool).tril()
        assert (pattern[:, ~lower] == 0).all() and (pattern[:, lower] > 0).all()
        torch.testing.assert_close(pattern.sum(-1), torch.ones(pattern.shape[:2]))
    # changing a later target token changes nothing at earlier positions
    logits = rec.tensors["decoder.hook_logits"][0]
    changed = tgt.clone()
    changed[0, 6] = vocab.stoi["9"]
    with torch.inference_mode():
        other = random_model(src, changed)[0]
    torch.testing.assert_close(other[:6], logits[:6])
    assert not torch.allclose(other[6:], logits[6:])


def test_source_padding_changes_nothing(random_model, vocab):
    short, long = "1.1.2000", "September 30th, 2026"
    with torch.inference_mode():
        alone = random_model(torch.tensor([vocab.encode(short)]), torch.tensor([[tasks.SOS, 9, 10]]))
        batch = random_model(
            pad_batch([vocab.encode(short), vocab.encode(long)]), torch.tensor([[tasks.SOS, 9, 10]] * 2)
        )
    torch.testing.assert_close(batch[0], alone[0], atol=1e-5, rtol=1e-5)


def test_greedy_decode_equals_the_step_by_step_loop(random_model, shipped, vocab):
    for model, voc in ((random_model, vocab), (shipped[0], shipped[1])):
        texts = ["25 November 2026", "Nov 25, 2026", "2026年11月25日", "31.12.1999"]
        batch = greedy_batch(model, voc, texts)
        for text, expected in zip(texts, batch):
            decoding = greedy_decode(DateTranslator(model, voc), text)
            assert decoding.text == expected
            ids = [tasks.SOS] + [s.output_id for s in decoding.steps]
            for k, step in enumerate(decoding.steps, start=1):
                assert step.input_tokens == [voc.itos[i] for i in ids[:k]]  # the outputs so far, fed back
                assert step.output_id == int(np.argmax(step.probs))
                assert step.capture["decoder.blocks.0.cross_attn.hook_pattern"].shape[1] == k
            # Each step's rows equal the same rows of one teacher-forced pass over the final sequence:
            # the causal mask means a new token never changes what earlier positions computed.
            src = torch.tensor([voc.encode(text)])
            with torch.inference_mode(), recording(["decoder.*hook_pattern", "decoder.hook_logits"]) as rec:
                model(src, torch.tensor([ids[:-1]]))
            for k, step in enumerate(decoding.steps, start=1):
                for name in ("decoder.blocks.1.self_attn.hook_pattern", "decoder.blocks.1.cross_attn.hook_pattern"):
                    full = rec.tensors[name][0].numpy()
                    np.testing.assert_allclose(
                        step.capture[name], full[:, :k, : step.capture[name].shape[2]], atol=1e-5
                    )
                assert int(rec.tensors["decoder.hook_logits"][0, k - 1].argmax()) == step.output_id
    assert decoding.finished


def test_save_and_load_round_trip(random_model, vocab, tmp_path):
    save_seq2seq(random_model, vocab, tmp_path / "m")
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["config.json", "model.safetensors", "vocab.json"]
    loaded, loaded_vocab = load_seq2seq(tmp_path / "m")
    assert loaded_vocab.itos == vocab.itos and loaded.cfg == random_model.cfg
    src, dec_in, _ = make_batch(tasks.dataset(4, seed=1), vocab)
    with torch.inference_mode():
        assert torch.equal(loaded(src, dec_in), random_model(src, dec_in))
    # broken checkpoints give a precise message
    (tmp_path / "m" / "vocab.json").unlink()
    with pytest.raises(CheckpointError, match="missing vocab.json"):
        load_seq2seq(tmp_path / "m")
    vocab.save(tmp_path / "m" / "vocab.json")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    config["d_ff"] = 128
    (tmp_path / "m" / "config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="shape"):
        load_seq2seq(tmp_path / "m")


def test_a_few_training_steps_lower_the_loss():
    model, vocab, hist = smoke_train(steps=8, seed=0)
    losses = hist["loss"]
    assert len(losses) == 8 and all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert len(greedy_batch(model, vocab, ["1 May 2000"])) == 1


# ----------------------------------------------------------------------------- the task
def test_heldout_days_are_never_generated_for_training():
    train = tasks.dataset(3000, seed=5)
    heldout = tasks.dataset(300, seed=5, heldout=True)
    assert not any(tasks.is_heldout(dt.date.fromisoformat(t)) for _, t in train)
    assert all(tasks.is_heldout(dt.date.fromisoformat(t)) for _, t in heldout)
    assert tasks.dataset(50, seed=5) == train[:50]  # seeded: the same pairs every time
    share = sum(tasks.is_heldout(dt.date(2000, 1, 1) + dt.timedelta(days=i)) for i in range(3650)) / 3650
    assert 0.08 < share < 0.12


def test_every_format_parses_back_to_its_date():
    rng = random.Random(3)
    for _ in range(300):
        date = dt.date.fromordinal(rng.randint(dt.date(1900, 1, 1).toordinal(), dt.date(2099, 12, 31).toordinal()))
        for fmt in tasks.FORMATS.values():
            text = fmt(date)
            assert len(text) <= tasks.MAX_SOURCE_CHARS
            assert tasks.parse_date(text) == date, text
    assert tasks.FORMATS["November 25th, 2026"](dt.date(2026, 11, 22)) == "November 22nd, 2026"
    assert tasks.FORMATS["2026年11月25日"](dt.date(2026, 1, 5)) == "2026年1月5日"
    assert tasks.parse_date("31 February 2026") is None and tasks.parse_date("hello") is None


def test_input_check_messages(vocab):
    assert tasks.check_input("  25   November 2026 ", vocab) == "25 November 2026"
    for bad, fragment in (
        ("", "empty"),
        ("   ", "empty"),
        ("25 NOVEMBER 2026", "“E”"),
        ("2026-11-25 ✓", "“✓”"),
        ("1" * 30, "at most 24"),
    ):
        with pytest.raises(InputError, match=fragment):
            tasks.check_input(bad, vocab)
    with pytest.raises(InputError):
        tasks.check_input("<sos>", vocab)  # special tokens are not characters: '<' is unknown


def test_vocab_round_trip(vocab, tmp_path):
    vocab.save(tmp_path / "v.json")
    assert tasks.CharVocab.load(tmp_path / "v.json").itos == vocab.itos
    assert vocab.decode(vocab.encode("2026-11-25") + [tasks.EOS, 9]) == "2026-11-25"
    (tmp_path / "bad.json").write_text('{"tokens": ["a"]}')
    with pytest.raises(ValueError, match="not a seq2seq"):
        tasks.CharVocab.load(tmp_path / "bad.json")


# ----------------------------------------------------------------------------- the shipped model
def test_shipped_assets_are_small_and_pickle_free():
    files = {p.name: p.stat().st_size for p in DEFAULT_DIR.iterdir()}
    assert set(files) == {"model.safetensors", "config.json", "vocab.json", "train_log.json"}
    assert sum(files.values()) < 5_000_000
    log = json.loads((DEFAULT_DIR / "train_log.json").read_text())
    assert log["seed"] == 2026 and log["heldout_exact_match"] >= SHIPPED_MIN_ACCURACY


def test_shipped_model_accuracy_on_heldout_dates(shipped):
    model, vocab = shipped
    pairs = tasks.dataset(300, seed=HELDOUT_SEED + 1, heldout=True)
    assert exact_match(model, vocab, pairs) >= SHIPPED_MIN_ACCURACY
    date = dt.date(2031, 7, 4)
    while not tasks.is_heldout(date):  # the first day from here that the model never saw
        date += dt.timedelta(days=1)
    sources = [fmt(date) for fmt in tasks.FORMATS.values()]
    assert greedy_batch(model, vocab, sources) == [date.isoformat()] * len(sources), sources


def test_the_date_model_is_in_the_registry_and_keeps_the_contract():
    """One model cache and one capture path: the registry loads it, run_capture records its encoder by hook_name,
    and a decoding is Captures (the encoder's, one per step) named the same way."""
    from attnviz.capture import Capture, run_capture
    from attnviz.masks import MaskSpec
    from attnviz.models import DATE_MODEL, available_models, load_model
    from attnviz.models.base import AttentionModel

    assert DATE_MODEL in available_models() and DATE_MODEL not in available_models(("encoder", "decoder"))
    model = load_model(DATE_MODEL, device="cpu")
    assert isinstance(model, AttentionModel) and model.kind == "encoder-decoder"
    assert model.hook(hook_name("pattern", 1, "decoder_cross")).name == "decoder.blocks.1.cross_attn.hook_pattern"
    text = "25 November 2026"
    (cap,) = run_capture(model, [text], MaskSpec())
    S, H = len(text), model.n_heads
    for layer in range(model.n_layers):
        assert cap[hook_name("pattern", layer, "encoder")].shape == (H, S, S)
        assert cap[hook_name("mask", layer, "encoder")].all()  # every source character sees every other
        np.testing.assert_allclose(cap[hook_name("pattern", layer, "encoder")].sum(-1), 1.0, atol=1e-5)
    parts = model.embedding_parts(cap["token_ids"])  # word × √D + sinusoidal position = the encoder's input
    np.testing.assert_allclose(parts["word"] + parts["position"], cap[hook_name("embed", part="encoder")], atol=1e-5)
    w = model.attention_weights(0)
    assert w.w_q.shape == (H, model.d_model, model.d_head) and not w.rotary
    with pytest.raises(ValueError, match="no mask rules"):
        run_capture(model, [text], MaskSpec(causal=True))
    decoding = greedy_decode(model, text)
    assert decoding.text == "2026-11-25" and decoding.finished
    assert isinstance(decoding.encoder, Capture) and all(isinstance(s.capture, Capture) for s in decoding.steps)
    np.testing.assert_allclose(
        decoding.encoder[hook_name("pattern", 0, "encoder")], cap[hook_name("pattern", 0, "encoder")], atol=1e-6
    )
    last = decoding.steps[-1].capture
    assert (
        last[hook_name("mask", 0, "decoder_self")].tolist()
        == np.tril(np.ones((len(decoding.steps),) * 2, bool)).tolist()
    )


def test_the_pages_analysis_of_a_decoding():
    """The verdict, the sharpest cross-attention head and the loop table, against direct readings of the capture."""
    from attnviz.analysis.seq2seq import date_verdict, loop_rows, sharpest_cross_head
    from attnviz.models import DATE_MODEL, load_model

    assert date_verdict("25 November 2026", "2026-11-25") == ("ed.verdict_right", {})
    assert date_verdict("25 November 2026", "2026-11-26") == ("ed.verdict_wrong", {"answer": "2026-11-25"})
    assert date_verdict("no date here", "x")[0] == "ed.verdict_none"
    model = load_model(DATE_MODEL, device="cpu")
    decoding = greedy_decode(model, "Nov 25, 2026")
    layer, head, share = sharpest_cross_head(decoding, model.n_decoder_layers, model.n_heads)
    final = decoding.steps[-1].capture
    shares = [
        [final[hook_name("pattern", l, "decoder_cross")][h].max(-1).mean() for h in range(model.n_heads)]
        for l in range(2)
    ]
    assert share == pytest.approx(np.max(shares)) and shares[layer][head] == pytest.approx(share)
    rows = loop_rows(decoding, layer, head)
    assert [r.writes for r in rows] == decoding.output_tokens and rows[0].reads == "<sos>"
    for i, row in enumerate(rows):
        weights = decoding.steps[i].capture[hook_name("pattern", layer, "decoder_cross")][head][i]
        assert row.source == int(np.argmax(weights)) and row.weight == pytest.approx(weights.max())
