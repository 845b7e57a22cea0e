"""Capture overhead: a full attnviz capture vs a plain Hugging Face forward with output_attentions.

Same process, same sentence, same weights, median of repeats. Prints a table; asserts nothing.
Run: .venv/bin/python benchmarks/capture_overhead.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import attnviz
from attnviz.capture import get_model, run_capture
from attnviz.masks import MaskSpec

SENTENCE_20 = "The quick brown fox jumps over the lazy dog while the cat watches from the warm window sill."
VIEW_HOOKS = ("blocks.*.attn.hook_pattern", "blocks.*.attn.hook_scores", "blocks.*.attn.hook_mask")


def interleaved_medians(fns, repeats: int) -> list[float]:
    """Median seconds of each function, run in turn within every repeat so load hits all alike."""
    for fn in fns:
        fn()  # warm-up
    times = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    model = get_model(attnviz.DEFAULT_MODEL)
    hf, tokenizer = model.hf, model.tokenizer
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {model.device}")
    print(f"{'input':>12} {'tokens':>6} {'HF ms':>8} {'capture ms':>11} {'ratio':>6} {'view ms':>8} {'ratio':>6}")
    for label, text in (
        ("20 tokens", SENTENCE_20),
        ("128 tokens", " ".join(["word"] * 126)),
        ("512 tokens", " ".join(["word"] * 600)),
    ):
        batch = tokenizer([text], return_tensors="pt", truncation=True, max_length=512)

        def hf_forward():
            with torch.inference_mode():
                out = hf(**batch, output_attentions=True)
            return [a.numpy() for a in out.attentions]

        def full_capture():
            return run_capture(model, [text], MaskSpec())

        def view_capture():
            return run_capture(model, [text], MaskSpec(), hooks=VIEW_HOOKS)

        repeats = args.repeats if "512" not in label else max(5, args.repeats // 3)
        base, full, view = interleaved_medians([hf_forward, full_capture, view_capture], repeats)
        n = batch["input_ids"].shape[1]
        print(
            f"{label:>12} {n:>6} {base * 1e3:>8.1f} {full * 1e3:>11.1f} {full / base:>6.2f} {view * 1e3:>8.1f} {view / base:>6.2f}"
        )
    print("capture = every hook (q, k, v, scores, mask, pattern, z, residuals) as NumPy; view = what the app draws.")
    print("target: capture / HF <= 1.5")


if __name__ == "__main__":
    main()
