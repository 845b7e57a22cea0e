#!/usr/bin/env python
"""Generate text with a shipped char-level DCFormer (or its MHA twin).

    python scripts/generate.py --model dcformer-tiny --prompt "The meaning of life" -n 200
    python scripts/generate.py --model mha-tiny --prompt "床前明月光" --temperature 0.8 --top-k 20 --seed 1

Greedy when --temperature is 0 (the default); sampled otherwise (seeded, optional top-k).
--model is a name under assets/ or a directory holding model.safetensors, config.json, vocab.json.
"""
from __future__ import annotations

import argparse
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

import torch  # noqa: E402

from attnviz.models.dcformer import CharTokenizer, generate_text, load_dcformer  # noqa: E402


def resolve_model_dir(name: str) -> str:
    if os.path.isdir(name):
        return name
    d = os.path.join(ROOT, "assets", name)
    if os.path.isdir(d):
        return d
    raise SystemExit(f"model {name!r} not found (neither a directory nor assets/{name})")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="dcformer-tiny")
    ap.add_argument("--prompt", default="")
    ap.add_argument("-n", "--max-new-tokens", type=int, default=200)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--top-k", type=int, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--window", type=int, default=None, help="override the local layers' window")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    d = resolve_model_dir(args.model)
    model = load_dcformer(d)
    tok = CharTokenizer.load(os.path.join(d, "vocab.json"))
    kw = {} if args.window is None else {"window_size": args.window}
    text = generate_text(model, tok, args.prompt or "\n", args.max_new_tokens, temperature=args.temperature,
                         top_k=args.top_k, seed=args.seed, **kw)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
