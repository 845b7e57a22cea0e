"""Head ranking by ablation: every head of MiniLM ablated alone, one forward per head vs several copies per forward.

Same process, same sentence, median of repeats, the two ways interleaved so load hits both alike. Prints per input
length and ablation: forwards run, seconds, the ratio batched / one-by-one, and the largest difference between the
two rankings' effects (batching must not change a number). Asserts nothing.
Run: .venv/bin/python benchmarks/head_importance.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

import attnviz
from attnviz.analysis.importance import n_forwards_estimate, rank_heads, ranking_is_slow
from attnviz.capture import get_model
from attnviz.masks import MaskSpec

SENTENCE_20 = "The quick brown fox jumps over the lazy dog while the cat watches from the warm window sill."
SENTENCE_128 = " ".join(["word"] * 126)  # 126 words + [CLS] + [SEP]


def interleaved(fns, repeats: int) -> tuple[list[float], list]:
    """Median seconds of each function, run in turn within every repeat, and each function's last result."""
    results = [fn() for fn in fns]  # warm-up
    times = [[] for _ in fns]
    for _ in range(repeats):
        for index, fn in enumerate(fns):
            start = time.perf_counter()
            results[index] = fn()
            times[index].append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in times], results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    model = get_model(attnviz.DEFAULT_MODEL)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {model.device}")
    print(
        f"{model.name}: {model.n_layers} layers x {model.n_heads} heads, {n_forwards_estimate(model)} sentence "
        f"forwards per ranking (slow: {ranking_is_slow(model)})"
    )
    print(
        f"{'input':>10} {'tokens':>6} {'how':>4} {'fwd 1x1':>7} {'s 1x1':>7} {'fwd batched':>11} {'rows':>4} "
        f"{'s batched':>9} {'batched/1x1':>11} {'max |Δeffect|':>13}"
    )
    for label, text in (("20 tokens", SENTENCE_20), ("128 tokens", SENTENCE_128)):
        n_tokens = len(model.encode([text]).tokens[0])
        for how in ("zero", "mean"):
            (single, batched), (one_by_one, packed) = interleaved(
                [
                    lambda: rank_heads(model, text, MaskSpec(), how, batch_size=1),
                    lambda: rank_heads(model, text, MaskSpec(), how),
                ],
                args.repeats,
            )
            by_head = [t.sort_values(["layer", "head"]).effect.to_numpy() for t in (one_by_one, packed)]
            print(
                f"{label:>10} {n_tokens:>6} {how:>4} {one_by_one.attrs['forwards']:>7} {single:>7.3f} "
                f"{packed.attrs['forwards']:>11} {packed.attrs['batch_size']:>4} {batched:>9.3f} "
                f"{batched / single:>11.2f} {np.abs(by_head[0] - by_head[1]).max():>13.1e}"
            )
    print(
        "fwd = model calls (the clean one included); rows = copies of the sentence per batched call, each ablating "
        "its own head."
    )


if __name__ == "__main__":
    main()
