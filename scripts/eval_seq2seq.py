#!/usr/bin/env python
"""Held-out exact-match accuracy of the shipped date encoder-decoder (assets/seq2seq-dates).

    .venv/bin/python scripts/eval_seq2seq.py             # 2000 held-out dates, the same set as training's final check
    .venv/bin/python scripts/eval_seq2seq.py --n 5000 --seed 7

Held-out dates are days the training never used in any format (attnviz.tasks.is_heldout).
Prints the overall accuracy, the accuracy per input format, and the first mistakes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import torch  # noqa: E402

from attnviz import tasks  # noqa: E402
from attnviz.models.seq2seq import DEFAULT_DIR, greedy_batch, load_seq2seq  # noqa: E402
from attnviz.training.seq2seq import HELDOUT_SEED  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-dir", default=str(DEFAULT_DIR))
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=HELDOUT_SEED)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    model, vocab = load_seq2seq(args.model_dir)
    pairs = tasks.dataset(args.n, seed=args.seed, heldout=True)
    outputs = []
    for i in range(0, len(pairs), 256):
        outputs += greedy_batch(model, vocab, [s for s, _ in pairs[i : i + 256]])
    right = [o == t for o, (_, t) in zip(outputs, pairs)]
    print(f"held-out exact match: {sum(right) / len(pairs):.2%} ({sum(right)}/{len(pairs)} dates, seed {args.seed})")
    by_format: dict[str, list[bool]] = {}
    for ok, (src, tgt) in zip(right, pairs):
        date = dt.date.fromisoformat(tgt)
        name = next(name for name, fmt in tasks.FORMATS.items() if fmt(date) == src)
        by_format.setdefault(name, []).append(ok)
    for name in tasks.FORMATS:
        oks = by_format.get(name, [])
        print(f"  {name:<22} {sum(oks) / max(1, len(oks)):7.2%}  ({len(oks)})")
    mistakes = [(s, t, o) for ok, (s, t), o in zip(right, pairs, outputs) if not ok]
    for s, t, o in mistakes[:10]:
        print(f"  mistake: {s!r} -> {o!r} (expected {t})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
