#!/usr/bin/env python
"""Train the small encoder-decoder Transformer of the encoder-decoder page on generated dates.

    .venv/bin/python scripts/train_seq2seq.py        # writes assets/seq2seq-dates/

"25 November 2026" / "Nov 25, 2026" / "2026年11月25日" / ... -> "2026-11-25". Training pairs are
generated on the fly from the seed; a fixed tenth of all calendar days is held out and never trained
on (attnviz.tasks.is_heldout). At the end the exact-match accuracy of greedy decoding on a held-out
set is printed and written to train_log.json. Runs on 1 CPU thread (torch.set_num_threads(1)).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from attnviz import tasks  # noqa: E402
from attnviz.models.seq2seq import Seq2SeqConfig, save_seq2seq  # noqa: E402
from attnviz.training.seq2seq import HELDOUT_SEED, TrainSettings, exact_match, settings_dict, train  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default="assets/seq2seq-dates")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--d-model", type=int, default=64)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--encoder-layers", type=int, default=2)
    ap.add_argument("--decoder-layers", type=int, default=2)
    ap.add_argument("--d-ff", type=int, default=256)
    ap.add_argument("--heldout-size", type=int, default=2000, help="held-out dates for the final exact-match accuracy")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    vocab = tasks.date_vocab()
    heldout = tasks.dataset(args.heldout_size, seed=HELDOUT_SEED, heldout=True)
    cfg = Seq2SeqConfig(
        vocab_size=len(vocab),
        d_model=args.d_model,
        n_heads=args.n_heads,
        n_encoder_layers=args.encoder_layers,
        n_decoder_layers=args.decoder_layers,
        d_ff=args.d_ff,
        max_source_len=tasks.MAX_SOURCE_CHARS,
        max_target_len=tasks.TARGET_CHARS + 2,
    )
    s = TrainSettings(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    print(
        f"vocab {len(vocab)} characters, {len(tasks.FORMATS)} formats, held-out {len(heldout)} dates "
        f"(seed {HELDOUT_SEED}), {args.steps} steps × {args.batch_size}, seed {args.seed}",
        flush=True,
    )
    t0 = time.time()
    model, hist = train(cfg, vocab, s, heldout=heldout, log=lambda m: print(m, flush=True))
    train_seconds = time.time() - t0
    t1 = time.time()
    accuracy = exact_match(model, vocab, heldout)
    print(
        f"held-out exact match: {accuracy:.2%} of {len(heldout)} dates  "
        f"(train {train_seconds / 60:.1f} min, eval {time.time() - t1:.0f} s, {model.num_params():,} params)",
        flush=True,
    )
    save_seq2seq(model, vocab, args.out_dir)
    command = "python scripts/train_seq2seq.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    info = {
        "model": "seq2seq-dates",
        "command": command.strip(),
        "seed": args.seed,
        "heldout_exact_match": round(accuracy, 4),
        "heldout_size": len(heldout),
        "heldout_seed": HELDOUT_SEED,
        "heldout_rule": "days with crc32(ISO date) % 10 == 0, never trained on (attnviz.tasks.is_heldout)",
        "train_seconds": round(train_seconds, 1),
        "threads": args.threads,
        "params": model.num_params(),
        "settings": settings_dict(s),
        "config": cfg.to_dict(),
        "formats": list(tasks.FORMATS),
        "history": hist,
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    with open(os.path.join(args.out_dir, "train_log.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1, ensure_ascii=False)
    print(
        json.dumps({"heldout_exact_match": info["heldout_exact_match"], "train_seconds": info["train_seconds"]}),
        flush=True,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
