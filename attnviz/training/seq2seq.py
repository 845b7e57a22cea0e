"""Training helpers for the date encoder-decoder (CLI: ``scripts/train_seq2seq.py``).

Data is generated on the fly by :mod:`attnviz.tasks` from one seeded ``random.Random``, so a
run depends only on its seed and settings. Held-out days (:func:`attnviz.tasks.is_heldout`) are
never drawn for training.
"""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

from .. import tasks
from ..models.vocab import EOS, PAD, SOS, CharVocab
from ..models.seq2seq import Seq2Seq, Seq2SeqConfig, greedy_batch, pad_batch
from .schedule import lr_at, take_step

HELDOUT_SEED = 12345  # the generator seed of every held-out set (the days themselves are fixed by is_heldout)


@dataclass
class TrainSettings:
    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-3
    min_lr_frac: float = 0.05
    warmup: int = 100
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    seed: int = 2026
    log_every: int = 100
    eval_every: int = 500
    eval_size: int = 500


def make_batch(pairs: list[tuple[str, str]], vocab: CharVocab) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(src (B, S), decoder input (B, T) = <sos> + target, labels (B, T) = target + <eos>)."""
    src = pad_batch([vocab.encode(s) for s, _ in pairs])
    tgt = [vocab.encode(t) for _, t in pairs]
    dec_in = pad_batch([[SOS] + t for t in tgt])
    labels = pad_batch([t + [EOS] for t in tgt])
    return src, dec_in, labels


def exact_match(model: Seq2Seq, vocab: CharVocab, pairs: list[tuple[str, str]], batch_size: int = 256) -> float:
    """Share of sources whose greedy output equals the target exactly."""
    right = 0
    for i in range(0, len(pairs), batch_size):
        chunk = pairs[i : i + batch_size]
        outputs = greedy_batch(model, vocab, [s for s, _ in chunk])
        right += sum(o == t for o, (_, t) in zip(outputs, chunk))
    return right / max(1, len(pairs))


def train(
    cfg: Seq2SeqConfig, vocab: CharVocab, s: TrainSettings, heldout: list[tuple[str, str]] | None = None, log=print
) -> tuple[Seq2Seq, dict]:
    """Train from scratch with a fixed seed; returns (model, history)."""
    torch.manual_seed(s.seed)
    rng = random.Random(s.seed)
    model = Seq2Seq(cfg)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "embed" not in n)]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=s.lr,
        betas=(0.9, 0.98),
    )
    hist: dict = {"step": [], "loss": [], "heldout_exact_match": []}
    t0 = time.time()
    model.train()
    for step in range(s.steps):
        src, dec_in, labels = make_batch([tasks.sample(rng) for _ in range(s.batch_size)], vocab)
        logits = model(src, dec_in)  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1), ignore_index=PAD)
        value = take_step(model, opt, loss, lr_at(step, s), s.grad_clip)
        if s.log_every and (step % s.log_every == 0 or step == s.steps - 1):
            hist["step"].append(step)
            hist["loss"].append(round(value, 5))
            if log:
                log(f"step {step:5d}  loss {value:.4f}  lr {lr_at(step, s):.2e}  {time.time() - t0:6.1f}s")
        if heldout and s.eval_every and step > 0 and (step % s.eval_every == 0 or step == s.steps - 1):
            acc = exact_match(model, vocab, heldout[: s.eval_size])
            model.train()
            hist["heldout_exact_match"].append((step, round(acc, 4)))
            if log:
                log(f"  held-out exact match ({min(len(heldout), s.eval_size)} dates): {acc:.2%}")
    hist["seconds"] = round(time.time() - t0, 1)
    model.eval()
    return model, hist


def smoke_train(steps: int = 5, seed: int = 0) -> tuple[Seq2Seq, CharVocab, dict]:
    """A few steps of a tiny model on generated dates (for tests)."""
    vocab = tasks.date_vocab()
    cfg = Seq2SeqConfig(vocab_size=len(vocab), d_model=32, n_heads=4, n_encoder_layers=1, n_decoder_layers=1, d_ff=64)
    s = TrainSettings(steps=steps, batch_size=16, lr=3e-3, warmup=1, seed=seed, log_every=1, eval_every=0)
    model, hist = train(cfg, vocab, s, log=None)
    return model, vocab, hist


def settings_dict(s: TrainSettings) -> dict:
    return asdict(s)
