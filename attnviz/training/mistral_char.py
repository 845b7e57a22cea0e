"""A Mistral-architecture character language model, trained on the Debian fortunes, saved in the Hugging Face format.

The CLI is ``scripts/train_mistral_char.py``; the pieces live here so a test can run a few steps on a synthetic
corpus. The model is transformers' own ``MistralForCausalLM`` (nothing re-implemented), so the folder it writes
loads anywhere a Mistral loads, and attnviz's generic adapter (``attnviz.models.hf.load_hf_model``) records it:

    tokens   one per character (spaces and newlines too), <s> first        ids (B, T)
    embed    (B, T, D)                       D = hidden_size = 128
    4 ×  RMSNorm -> attention -> + ; RMSNorm -> SwiGLU MLP (D -> 384 -> D) -> +
         q (B, 4, T, 32)  4 query heads                      RoPE on q and k (theta 10000)
         k, v (B, 2, T, 32)  2 K/V heads: query heads 0,1 read K/V head 0; heads 2,3 read head 1  (GQA)
         mask: causal AND q - k < 64 on every layer   (Mistral's native sliding window)
    RMSNorm -> lm_head (untied) -> logits (B, T, V)

Corpus: the same as the shipped DCFormer's (``attnviz.training.dcformer.load_fortunes`` / ``split_corpus``:
the fortunes shuffled with the seed, 5 % held out). The vocabulary is the training split's characters seen at
least ``min_count`` times, plus ``<unk> <pad> <s> </s>``.

Data: each example is a random window of T characters of the training text, read after ``<s>`` (as the app feeds
a text: ``<s>`` then characters), so the model predicts all T characters:

    x = <s> c[s] ... c[s+T-2]        y = c[s] ... c[s+T-1]        (B, T) each

Held-out loss: the whole held-out split cut into consecutive windows of T characters (the last one shorter),
each read after ``<s>``; every held-out character is predicted exactly once; mean cross-entropy in nats per char.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .schedule import adamw, lr_at, save_hf_folder, take_step

UNK, PAD, BOS, EOS = "<unk>", "<pad>", "<s>", "</s>"
SPECIAL_TOKENS = [UNK, PAD, BOS, EOS]  # ids 0..3


# ------------------------------------------------------------------------------------------------ tokenizer
def build_tokenizer(text: str, min_count: int = 5, max_length: int = 8192):
    """A character-level Hugging Face tokenizer over ``text``'s characters seen at least ``min_count`` times.

    WordLevel model (one vocabulary entry per character, rarer ones -> <unk>); the pre-tokenizer isolates every
    character, whitespace included; ``<s>`` is prepended to every text; decoding concatenates the characters.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    counts = Counter(text)
    chars = sorted(c for c, n in counts.items() if n >= min_count and c not in SPECIAL_TOKENS)
    vocab = {tok: i for i, tok in enumerate(SPECIAL_TOKENS + chars)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # every character its own piece
    tok.decoder = decoders.Fuse()  # pieces joined with nothing in between
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, vocab[BOS])]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token=UNK,
        pad_token=PAD,
        bos_token=BOS,
        eos_token=EOS,
        model_max_length=max_length,
        clean_up_tokenization_spaces=False,
    )


def encode_text(tokenizer, text: str) -> torch.Tensor:
    """(N,) the ids of ``text``'s characters, without <s> (a direct vocabulary lookup: the tokenizer's result
    on a long corpus, fast)."""
    vocab = tokenizer.get_vocab()
    unk = vocab[UNK]
    return torch.tensor([vocab.get(c, unk) for c in text], dtype=torch.long)


# ------------------------------------------------------------------------------------------------ model
@dataclass
class ModelSettings:
    hidden_size: int = 128
    num_hidden_layers: int = 4
    num_attention_heads: int = 4  # query heads
    num_key_value_heads: int = 2  # K/V heads (GQA: 2 query heads share each)
    head_dim: int = 32
    intermediate_size: int = 384
    sliding_window: int = 64  # every layer: query i sees keys i-63 .. i
    max_position_embeddings: int = 8192  # RoPE has no table: runs past the training context
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-5
    initializer_range: float = 0.02


def make_config(tokenizer, m: ModelSettings):
    from transformers import MistralConfig

    return MistralConfig(
        vocab_size=len(tokenizer),
        hidden_size=m.hidden_size,
        intermediate_size=m.intermediate_size,
        num_hidden_layers=m.num_hidden_layers,
        num_attention_heads=m.num_attention_heads,
        num_key_value_heads=m.num_key_value_heads,
        head_dim=m.head_dim,
        sliding_window=m.sliding_window,
        max_position_embeddings=m.max_position_embeddings,
        rope_parameters={"rope_type": "default", "rope_theta": m.rope_theta},
        rms_norm_eps=m.rms_norm_eps,
        initializer_range=m.initializer_range,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def num_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------------------ training
@dataclass
class TrainSettings:
    steps: int = 1000
    batch_size: int = 16
    context: int = 512  # T: characters per training window (the model reads <s> + T-1 of them)
    lr: float = 2e-3
    min_lr_frac: float = 0.1
    warmup: int = 50
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    seed: int = 1234
    eval_batches: int = 8  # partial held-out evaluations during training: this many batches of 8 windows
    eval_every: int = 250
    log_every: int = 25
    attn_implementation: str = "sdpa"  # for training only; the saved folder names none (the app picks its own)


def batch_starts(n_chars: int, s: TrainSettings) -> torch.Tensor:
    """(steps, B) window starts from a generator seeded with s.seed: the data order depends on seed and corpus only."""
    g = torch.Generator().manual_seed(s.seed)
    return torch.randint(0, n_chars - s.context + 1, (s.steps, s.batch_size), generator=g)


def get_batch(data: torch.Tensor, starts: torch.Tensor, context: int, bos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Windows of ``context`` characters at ``starts`` (B,): x = <s> + the first T-1, y = all T. Both (B, T)."""
    idx = starts[:, None] + torch.arange(context)[None, :]  # (B, T)
    y = data[idx]  # (B, T)
    x = torch.cat([torch.full_like(y[:, :1], bos_id), y[:, :-1]], dim=1)  # (B, T)
    return x, y


def _loss_sum(model, x: torch.Tensor, y: torch.Tensor) -> float:
    logits = model(input_ids=x, use_cache=False).logits  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()


@torch.no_grad()
def evaluate(model, data: torch.Tensor, context: int, bos_id: int, n_batches: int, batch_size: int = 8) -> float:
    """Mean next-char loss over fixed, evenly spaced held-out windows (deterministic; a quick estimate)."""
    was_training = model.training
    model.eval()
    n = n_batches * batch_size
    starts = torch.linspace(0, len(data) - context, n).long()
    total, count = 0.0, 0
    for i in range(0, n, batch_size):
        x, y = get_batch(data, starts[i : i + batch_size], context, bos_id)
        total += _loss_sum(model, x, y)
        count += y.numel()
    model.train(was_training)
    return total / count


@torch.no_grad()
def evaluate_full(model, data: torch.Tensor, context: int, bos_id: int, batch_size: int = 8) -> float:
    """Mean next-char loss over the WHOLE held-out split: consecutive windows of ``context`` characters (the last
    one shorter), each read after <s>; every character is predicted once."""
    was_training = model.training
    model.eval()
    n_full = len(data) // context
    starts = torch.arange(n_full) * context
    total, count = 0.0, 0
    for i in range(0, n_full, batch_size):
        x, y = get_batch(data, starts[i : i + batch_size], context, bos_id)
        total += _loss_sum(model, x, y)
        count += y.numel()
    tail = len(data) - n_full * context
    if tail:
        x, y = get_batch(data, torch.tensor([n_full * context]), tail, bos_id)
        total += _loss_sum(model, x, y)
        count += y.numel()
    model.train(was_training)
    return total / count


def unigram_loss(train_data: torch.Tensor, val_data: torch.Tensor, vocab_size: int) -> float:
    """The baseline: held-out cross-entropy (nats/char) of the training split's character frequencies (add-one)."""
    counts = torch.bincount(train_data, minlength=vocab_size).double() + 1.0
    logp = torch.log(counts / counts.sum())
    return float(-logp[val_data].mean())


def train(
    config, train_data: torch.Tensor, s: TrainSettings, bos_id: int, val_data: torch.Tensor | None = None, log=print
):
    """Train a MistralForCausalLM from scratch with a fixed seed. Returns (model, history)."""
    from transformers import MistralForCausalLM

    torch.manual_seed(s.seed)
    model = MistralForCausalLM._from_config(config, attn_implementation=s.attn_implementation, dtype=torch.float32)
    model.train()
    opt = adamw(model, s)
    starts = batch_starts(len(train_data), s)
    hist: dict = {"train_loss": [], "val": []}
    t0 = time.time()
    run = None
    for step in range(s.steps):
        x, y = get_batch(train_data, starts[step], s.context, bos_id)  # (B, T), (B, T)
        logits = model(input_ids=x, use_cache=False).logits  # (B, T, V)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        lv = take_step(model, opt, loss, lr_at(step, s), s.grad_clip)
        run = lv if run is None else 0.95 * run + 0.05 * lv
        hist["train_loss"].append(round(lv, 4))
        if log and s.log_every and (step % s.log_every == 0 or step == s.steps - 1):
            log(
                f"step {step:5d}  loss {lv:.4f}  (smoothed {run:.4f})  lr {lr_at(step, s):.2e}  "
                f"{time.time() - t0:7.1f}s"
            )
        if val_data is not None and s.eval_every and step > 0 and step % s.eval_every == 0:
            v = evaluate(model, val_data, s.context, bos_id, s.eval_batches)
            hist["val"].append((step, round(v, 4)))
            if log:
                log(f"  held-out (partial) {v:.4f}")
    hist["seconds"] = round(time.time() - t0, 1)
    model.eval()
    return model, hist


@torch.no_grad()
def greedy(model, tokenizer, prompt: str, n_chars: int = 200) -> str:
    """The prompt continued by ``n_chars`` characters, each the most likely one (no sampling, no cache)."""
    model.eval()
    ids = tokenizer(prompt, return_tensors="pt")["input_ids"]  # (1, 1 + len(prompt)): <s> first
    for _ in range(n_chars):
        logits = model(input_ids=ids, use_cache=False).logits[:, -1]  # (1, V)
        ids = torch.cat([ids, logits.argmax(-1, keepdim=True)], dim=1)
    return tokenizer.decode(ids[0], skip_special_tokens=True)


# ------------------------------------------------------------------------------------------------ writing
def save_folder(model, tokenizer, out_dir, log_info: dict | None = None) -> Path:
    """The Hugging Face folder: config.json, model.safetensors (transformers 5 writes safetensors only),
    generation_config.json, tokenizer.json, tokenizer_config.json, and train_log.json when given."""
    return save_hf_folder(model, tokenizer, out_dir, log_info)


def settings_dict(s) -> dict:
    return asdict(s)


def smoke_train(out_dir, steps: int = 12, seed: int = 0) -> tuple[Path, list[float]]:
    """A few steps of a tiny Mistral (GQA, window 8) on a synthetic corpus, saved to ``out_dir``: (folder, losses).
    No fortunes needed."""
    text = "the cat sat on the mat.\n猫坐在垫子上。\n" * 60
    tokenizer = build_tokenizer(text, min_count=1)
    data = encode_text(tokenizer, text)
    m = ModelSettings(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=8,
        intermediate_size=64,
        sliding_window=8,
        max_position_embeddings=256,
    )
    s = TrainSettings(steps=steps, batch_size=4, context=32, lr=1e-2, warmup=2, seed=seed, log_every=0, eval_every=0)
    model, hist = train(make_config(tokenizer, m), data, s, tokenizer.bos_token_id, log=None)
    info = {"command": "smoke_train", "seed": seed, "steps": steps, "settings": settings_dict(s)}
    return save_folder(model, tokenizer, os.fspath(out_dir), info), hist["train_loss"]
