"""Training helpers for the tiny char-level DCFormer and its MHA twin.

The CLI is ``scripts/train_dcformer.py``; this module holds the pieces so that a test can
run a few steps on a synthetic corpus (CI has no ``fortunes`` installed).

Corpus: the Debian packages ``fortunes`` (English) and ``fortunes-zh`` (Chinese), installed
under ``/usr/share/games/fortunes``. Fortunes are split on ``%`` lines, ANSI colour codes are
stripped, the list is shuffled with the seed, and a fixed share is held out.
"""

from __future__ import annotations

import json
import os
import random
import re
import time
from dataclasses import dataclass, asdict

import torch
import torch.nn.functional as F

from ..models.dcformer import DCFormer, DCFormerConfig
from ..models.dcformer_checkpoint import save_dcformer
from ..models.vocab import CharTokenizer
from .schedule import adamw, lr_at, take_step

FORTUNE_DIR = "/usr/share/games/fortunes"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def load_fortunes(root: str = FORTUNE_DIR) -> list[str]:
    """All fortunes (one string each) of every regular fortune file under ``root``, sorted by path."""
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{root} not found: apt-get install -y fortunes fortunes-zh")
    out: list[str] = []
    for dirpath, _, files in sorted(os.walk(root)):
        for name in sorted(files):
            path = os.path.join(dirpath, name)
            if name.endswith(".dat") or os.path.islink(path):
                continue
            with open(path, encoding="utf-8", errors="replace") as f:
                text = _ANSI.sub("", f.read())
            for item in re.split(r"\n%\n", text):
                item = item.strip("\n%").rstrip()
                if item.strip():
                    out.append(item)
    return out


def split_corpus(docs: list[str], seed: int, heldout_frac: float = 0.05) -> tuple[str, str]:
    """Shuffle documents with ``seed`` and join them; the last ``heldout_frac`` are held out."""
    docs = list(docs)
    random.Random(seed).shuffle(docs)
    n_val = max(1, int(len(docs) * heldout_frac))
    return "\n\n".join(docs[n_val:]) + "\n\n", "\n\n".join(docs[:n_val]) + "\n\n"


@dataclass
class TrainSettings:
    steps: int = 1000
    batch_size: int = 16
    context: int = 256
    lr: float = 2e-3
    min_lr_frac: float = 0.1
    warmup: int = 50
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1234
    eval_batches: int = 24
    log_every: int = 50


def batch_starts(n_tokens: int, s: TrainSettings) -> torch.Tensor:
    """(steps, batch) random start offsets, from a generator seeded with s.seed: the data order
    depends only on the seed and corpus, so the DCFormer and its MHA twin see the same batches."""
    g = torch.Generator().manual_seed(s.seed)
    return torch.randint(0, n_tokens - s.context - 1, (s.steps, s.batch_size), generator=g)


def get_batch(data: torch.Tensor, starts: torch.Tensor, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    idx = starts[:, None] + torch.arange(context + 1)[None, :]  # (B, T+1)
    chunk = data[idx]
    return chunk[:, :-1], chunk[:, 1:]


@torch.no_grad()
def evaluate(model: DCFormer, data: torch.Tensor, context: int, n_batches: int, batch_size: int = 8) -> float:
    """Mean next-char loss over fixed, evenly spaced held-out windows (deterministic)."""
    model.eval()
    n = n_batches * batch_size
    span = len(data) - context - 1
    starts = torch.linspace(0, span, n).long()
    total, count = 0.0, 0
    for i in range(0, n, batch_size):
        x, y = get_batch(data, starts[i : i + batch_size], context)
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train()
    return total / count


@torch.no_grad()
def evaluate_full(model: DCFormer, data: torch.Tensor, context: int, batch_size: int = 8) -> float:
    """Mean next-char loss over the WHOLE held-out split, cut into non-overlapping windows."""
    model.eval()
    starts = torch.arange(0, len(data) - 1 - context + 1, context)
    total, count = 0.0, 0
    for i in range(0, len(starts), batch_size):
        x, y = get_batch(data, starts[i : i + batch_size], context)
        logits = model(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    return total / count


def train(
    cfg: DCFormerConfig, train_data: torch.Tensor, s: TrainSettings, val_data: torch.Tensor | None = None, log=print
) -> tuple[DCFormer, dict]:
    """Train from scratch with a fixed seed. Returns (model, history)."""
    torch.manual_seed(s.seed)
    model = DCFormer(cfg)
    model.train()
    opt = adamw(model, s)
    starts = batch_starts(len(train_data), s)
    hist: dict = {"step": [], "train_loss": [], "val": []}
    t0 = time.time()
    run = None
    for step in range(s.steps):
        x, y = get_batch(train_data, starts[step], s.context)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        lv = take_step(model, opt, loss, lr_at(step, s), s.grad_clip)
        run = lv if run is None else 0.95 * run + 0.05 * lv
        hist["step"].append(step)
        hist["train_loss"].append(round(lv, 4))
        if log and (step % s.log_every == 0 or step == s.steps - 1):
            log(
                f"step {step:5d}  loss {lv:.4f}  (smoothed {run:.4f})  lr {lr_at(step, s):.2e}  "
                f"{time.time() - t0:7.1f}s"
            )
        if val_data is not None and s.log_every and step > 0 and step % (s.log_every * 5) == 0:
            v = evaluate(model, val_data, s.context, max(2, s.eval_batches // 4))
            hist["val"].append((step, round(v, 4)))
            if log:
                log(f"  held-out (partial) {v:.4f}")
    hist["seconds"] = round(time.time() - t0, 1)
    model.eval()
    return model, hist


def smoke_train(steps: int = 8, seed: int = 0, use_dcmha: bool = True) -> tuple[DCFormer, list[float]]:
    """A few steps on a tiny synthetic corpus (no fortunes needed). Returns (model, losses)."""
    text = "the cat sat on the mat. 猫坐在垫子上。 " * 40
    tok = CharTokenizer.from_text(text)
    data = torch.tensor(tok.encode(text), dtype=torch.long)
    cfg = DCFormerConfig(
        vocab_size=len(tok),
        dim=32,
        n_layer=2,
        n_head=4,
        window_size=8,
        window_type="LG",
        q_chunk_size=16,
        use_dcmha=use_dcmha,
    )
    s = TrainSettings(steps=steps, batch_size=4, context=32, lr=3e-3, warmup=1, seed=seed, log_every=0)
    model, hist = train(cfg, data, s, log=None)
    return model, hist["train_loss"]


def write_assets(model: DCFormer, tok: CharTokenizer, out_dir: str, log_info: dict) -> None:
    save_dcformer(model, out_dir)
    tok.save(os.path.join(out_dir, "vocab.json"))
    with open(os.path.join(out_dir, "train_log.json"), "w", encoding="utf-8") as f:
        json.dump(log_info, f, indent=2, ensure_ascii=False)


def settings_dict(s: TrainSettings) -> dict:
    return asdict(s)
