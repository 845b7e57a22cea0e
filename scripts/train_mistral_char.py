#!/usr/bin/env python
"""Train the Mistral-architecture character LM (GQA, native sliding window) on the Debian fortunes corpus.

    apt-get install -y fortunes fortunes-zh
    python scripts/train_mistral_char.py            # writes assets/mistral-char (about 27 min on 1 CPU thread)

transformers' own MistralForCausalLM: 4 layers, hidden 128, 4 query heads sharing 2 K/V heads (head_dim 32),
a 64-character sliding window on every layer, RoPE (theta 10000), untied LM head; one token per character.
The folder is a plain Hugging Face checkpoint (config.json, model.safetensors, tokenizer.json,
tokenizer_config.json) plus train_log.json (command, seed, settings, time, held-out loss, unigram baseline).
Runs on 1 CPU thread (torch.set_num_threads(1)); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from attnviz.training.dcformer import FORTUNE_DIR, load_fortunes, split_corpus  # noqa: E402
from attnviz.training.mistral_char import (  # noqa: E402
    ModelSettings,
    TrainSettings,
    build_tokenizer,
    encode_text,
    evaluate_full,
    greedy,
    make_config,
    num_params,
    save_folder,
    settings_dict,
    train,
    unigram_loss,
)

PROMPTS = ["Q: What is the meaning of life?\nA:", "A fool and his money", "人生"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default="assets/mistral-char")
    ap.add_argument("--corpus-dir", default=FORTUNE_DIR)
    ap.add_argument("--seed", type=int, default=1234, help="initialisation, data order and train/held-out split")
    ap.add_argument("--steps", type=int, default=750)
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--context", type=int, default=1024, help="characters per training window")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument(
        "--min-count", type=int, default=5, help="characters rarer than this in the training split map to <unk>"
    )
    ap.add_argument("--heldout-frac", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    docs = load_fortunes(args.corpus_dir)
    train_text, val_text = split_corpus(docs, args.seed, args.heldout_frac)
    tokenizer = build_tokenizer(train_text, min_count=args.min_count)
    train_ids, val_ids = encode_text(tokenizer, train_text), encode_text(tokenizer, val_text)
    unk_rate = float((val_ids == tokenizer.unk_token_id).float().mean())
    baseline = unigram_loss(train_ids, val_ids, len(tokenizer))
    print(
        f"corpus: {len(docs)} fortunes, train {len(train_ids)} chars, held-out {len(val_ids)} chars, "
        f"vocab {len(tokenizer)} (held-out <unk> rate {unk_rate:.4%}), unigram baseline {baseline:.4f} nats/char",
        flush=True,
    )

    m = ModelSettings()
    s = TrainSettings(
        steps=args.steps,
        batch_size=args.batch_size,
        context=args.context,
        lr=args.lr,
        warmup=args.warmup,
        seed=args.seed,
    )
    config = make_config(tokenizer, m)
    command = " ".join(
        [
            "python scripts/train_mistral_char.py",
            *(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
        ]
    )
    t0 = time.time()
    model, hist = train(
        config, train_ids, s, tokenizer.bos_token_id, val_data=val_ids, log=lambda line: print(line, flush=True)
    )
    train_seconds = time.time() - t0
    t1 = time.time()
    heldout = evaluate_full(model, val_ids, args.context, tokenizer.bos_token_id)
    eval_seconds = time.time() - t1
    samples = {p: greedy(model, tokenizer, p, 160)[len(p) :] for p in PROMPTS}
    print(
        f"held-out loss {heldout:.4f} nats/char vs unigram {baseline:.4f}  (train {train_seconds / 60:.1f} min, "
        f"eval {eval_seconds:.0f} s, {num_params(model)} params)",
        flush=True,
    )
    for p, continuation in samples.items():
        print(f"--- greedy: {p!r} -> {continuation!r}", flush=True)

    last = hist["train_loss"][-50:]
    info = {
        "model": "mistral-char",
        "architecture": "transformers MistralForCausalLM (GQA: 4 query heads / 2 K/V heads; sliding window "
        f"{m.sliding_window} on every layer; RoPE theta {m.rope_theta:g})",
        "command": command,
        "seed": args.seed,
        "steps": args.steps,
        "heldout_loss": round(heldout, 4),
        "heldout_loss_units": "nats per character (mean cross-entropy over the whole held-out split)",
        "unigram_baseline_loss": round(baseline, 4),
        "final_train_loss_mean_last50": round(sum(last) / len(last), 4),
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        "threads": args.threads,
        "params": num_params(model),
        "settings": settings_dict(s),
        "model_settings": settings_dict(m),
        "corpus": {
            "source": "Debian packages fortunes, fortunes-zh (" + args.corpus_dir + ")",
            "fortunes": len(docs),
            "train_chars": len(train_ids),
            "heldout_chars": len(val_ids),
            "heldout_frac": args.heldout_frac,
            "vocab_size": len(tokenizer),
            "min_count": args.min_count,
            "heldout_unk_rate": round(unk_rate, 6),
        },
        "partial_heldout_during_training": hist["val"],
        "greedy_samples": samples,
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "machine": platform.machine(),
    }
    out = save_folder(model, tokenizer, args.out_dir, info)
    print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
