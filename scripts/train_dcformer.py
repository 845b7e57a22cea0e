#!/usr/bin/env python
"""Train the tiny char-level DCFormer and its MHA twin on the Debian fortunes corpus.

    apt-get install -y fortunes fortunes-zh
    python scripts/train_dcformer.py            # writes assets/dcformer-tiny and assets/mha-tiny

Both models share everything (config except use_dcmha, seed, initialisation of the shared
weights, data order, steps, optimiser); only DCMHA is switched off in the twin.
Runs on 1 CPU thread (torch.set_num_threads(1)).
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

from attnviz.models.dcformer import DCFormerConfig  # noqa: E402
from attnviz.models.vocab import CharTokenizer  # noqa: E402
from attnviz.training.dcformer import (  # noqa: E402
    FORTUNE_DIR,
    TrainSettings,
    evaluate_full,
    load_fortunes,
    settings_dict,
    split_corpus,
    train,
    write_assets,
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out-dir", default="assets")
    ap.add_argument("--corpus-dir", default=FORTUNE_DIR)
    ap.add_argument("--which", choices=["both", "dcformer", "mha"], default="both")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument(
        "--split-seed",
        type=int,
        default=None,
        help="seed of the train/held-out split (default: --seed), to vary the init and data order alone",
    )
    ap.add_argument("--steps", type=int, default=700)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--context", type=int, default=256)
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--q-chunk-size", type=int, default=64)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument(
        "--min-count", type=int, default=5, help="characters rarer than this in the training split map to <unk>"
    )
    ap.add_argument("--heldout-frac", type=float, default=0.05)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    docs = load_fortunes(args.corpus_dir)
    split_seed = args.seed if args.split_seed is None else args.split_seed
    train_text, val_text = split_corpus(docs, split_seed, args.heldout_frac)
    tok = CharTokenizer.from_text(train_text, min_count=args.min_count)
    train_ids = torch.tensor(tok.encode(train_text), dtype=torch.long)
    val_ids = torch.tensor(tok.encode(val_text), dtype=torch.long)
    unk_rate = float((val_ids == 0).float().mean())
    print(
        f"corpus: {len(docs)} fortunes, train {len(train_ids)} chars, held-out {len(val_ids)} chars, "
        f"vocab {len(tok)} (held-out <unk> rate {unk_rate:.4%})",
        flush=True,
    )

    s = TrainSettings(steps=args.steps, batch_size=args.batch_size, context=args.context, lr=args.lr, seed=args.seed)
    command = "python scripts/train_dcformer.py " + " ".join(
        shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    results = {}
    for name, use_dcmha in (("dcformer-tiny", True), ("mha-tiny", False)):
        if args.which != "both" and not name.startswith(args.which):
            continue
        cfg = DCFormerConfig(
            vocab_size=len(tok),
            dim=args.dim,
            n_layer=args.n_layer,
            n_head=args.n_head,
            window_size=args.window,
            window_type="LG",
            q_chunk_size=args.q_chunk_size,
            use_qk_norm=False,
            rope_base=10000.0,
            norm_eps=1e-5,
            use_dcmha=use_dcmha,
            block_size=max(2048, args.context),
        )
        print(f"== {name}: use_dcmha={use_dcmha}", flush=True)
        t0 = time.time()
        model, hist = train(cfg, train_ids, s, val_data=val_ids, log=lambda m: print(m, flush=True))
        train_seconds = time.time() - t0
        t1 = time.time()
        heldout = evaluate_full(model, val_ids, args.context)
        print(
            f"{name}: held-out loss {heldout:.4f} nats/char  (train {train_seconds / 60:.1f} min, "
            f"eval {time.time() - t1:.0f} s, {model.num_params()} params)",
            flush=True,
        )
        last = hist["train_loss"][-50:]
        info = {
            "model": name,
            "command": command,
            "seed": args.seed,
            "split_seed": split_seed,
            "steps": args.steps,
            "heldout_loss": round(heldout, 4),
            "heldout_loss_units": "nats per character (mean cross-entropy)",
            "final_train_loss_mean_last50": round(sum(last) / len(last), 4),
            "train_seconds": round(train_seconds, 1),
            "threads": args.threads,
            "params": model.num_params(),
            "settings": settings_dict(s),
            "config": cfg.to_dict(),
            "corpus": {
                "source": "Debian packages fortunes, fortunes-zh (" + args.corpus_dir + ")",
                "fortunes": len(docs),
                "train_chars": len(train_ids),
                "heldout_chars": len(val_ids),
                "heldout_frac": args.heldout_frac,
                "vocab_size": len(tok),
                "min_count": args.min_count,
                "heldout_unk_rate": round(unk_rate, 6),
            },
            "partial_heldout_during_training": hist["val"],
            "torch": torch.__version__,
            "machine": platform.machine(),
        }
        write_assets(model, tok, os.path.join(args.out_dir, name), info)
        results[name] = heldout
    print(json.dumps(results), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
