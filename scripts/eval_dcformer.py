#!/usr/bin/env python
"""Held-out loss of the shipped char-level models, overall and broken down.

    python scripts/eval_dcformer.py                       # assets/dcformer-tiny vs assets/mha-tiny
    python scripts/eval_dcformer.py --models DIR1 DIR2 ...

Rebuilds the held-out split from each model's train_log.json (corpus, split seed, held-out
fraction) and reports the mean next-character loss (nats/char) on the whole split in
non-overlapping windows of the training context, then by target script (CJK vs other) and by
position in the window (< local window vs >= local window). Needs fortunes + fortunes-zh.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from attnviz.models.dcformer_checkpoint import load_dcformer  # noqa: E402
from attnviz.models.vocab import CharTokenizer  # noqa: E402
from attnviz.training.dcformer import FORTUNE_DIR, load_fortunes, split_corpus  # noqa: E402


def is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x3000 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF


@torch.no_grad()
def breakdown(model_dir: str, corpus_dir: str) -> dict:
    log = json.load(open(os.path.join(model_dir, "train_log.json"), encoding="utf-8"))
    model = load_dcformer(model_dir)
    tok = CharTokenizer.load(os.path.join(model_dir, "vocab.json"))
    ctx = log["settings"]["context"]
    _, val_text = split_corpus(
        load_fortunes(corpus_dir), log.get("split_seed", log["seed"]), log["corpus"]["heldout_frac"]
    )
    ids = torch.tensor(tok.encode(val_text), dtype=torch.long)
    cjk = torch.tensor([is_cjk(c) for c in val_text], dtype=torch.bool)
    w = model.config.window_size or ctx
    sums = {"all": [0.0, 0], "cjk": [0.0, 0], "other": [0.0, 0], "pos<window": [0.0, 0], "pos>=window": [0.0, 0]}
    starts = torch.arange(0, len(ids) - ctx, ctx)
    pos = torch.arange(ctx)
    for i in range(0, len(starts), 8):
        idx = starts[i : i + 8, None] + torch.arange(ctx + 1)[None]
        x, y = ids[idx[:, :-1]], ids[idx[:, 1:]]
        loss = F.cross_entropy(model(x).transpose(1, 2), y, reduction="none")  # (B, T)
        c = cjk[idx[:, 1:]]
        near = (pos < w)[None].expand_as(loss)
        for key, sel in (
            ("all", torch.ones_like(c)),
            ("cjk", c),
            ("other", ~c),
            ("pos<window", near),
            ("pos>=window", ~near),
        ):
            sums[key][0] += float(loss[sel].sum())
            sums[key][1] += int(sel.sum())
    return {k: round(s / max(n, 1), 4) for k, (s, n) in sums.items()} | {"tokens": sums["all"][1]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--models", nargs="+", default=[os.path.join(ROOT, "assets", n) for n in ("dcformer-tiny", "mha-tiny")]
    )
    ap.add_argument("--corpus-dir", default=FORTUNE_DIR)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = {os.path.relpath(d, ROOT): breakdown(d, args.corpus_dir) for d in args.models}
    keys = ["all", "cjk", "other", "pos<window", "pos>=window"]
    print("| model | " + " | ".join(keys) + " |")
    print("|---|" + "---|" * len(keys))
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(f"{r[k]:.4f}" for k in keys) + " |")
    print(json.dumps(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
