"""Capture overhead of the Hugging Face adapter: every hook vs transformers' eager forward with output_attentions.

Two random models, built in memory (nothing is downloaded): a GPT-2-small-sized one (12 layers, 12 heads,
d_model 768) at 512 tokens, and a Llama-style grouped-query one (12 layers, 12 query heads sharing 4 K/V heads,
d_model 768, RoPE, SwiGLU) at 1,024 tokens.  Both sides get the same weights and the same token ids, run under
``torch.inference_mode`` with ``use_cache=False`` and compute the logits; the baseline returns its attention
maps as NumPy arrays, the capture returns every hook (q, k, v, scores, mask, pattern, z, result, residuals) as
NumPy through ``attnviz.capture.run_capture``.  Median of interleaved repeats; prints, asserts nothing.

Run: .venv/bin/python benchmarks/hf_capture_overhead.py [--repeats 9] [--threads N] [--only gpt2|llama]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch

from attnviz.capture import run_capture
from attnviz.masks import MaskSpec
from attnviz.models.hf import HFAttentionModel
from attnviz.models.tiny import byte_level_tokenizer  # an offline stand-in tokenizer, as the tests use

VIEW_HOOKS = ("blocks.*.attn.hook_pattern", "blocks.*.attn.hook_scores", "blocks.*.attn.hook_mask")
WORDS = "the cat sat on the mat while a dog ran in the park and time flies like an arrow".split()


def interleaved_medians(fns, repeats: int) -> list[float]:
    """Median seconds of each function, all run within every repeat so load hits all alike. The order rotates
    from one repeat to the next: on this machine a call's time depends on what the previous call left in the
    allocator (freed pages come back as page faults), so no function should always follow the same one."""
    for fn in fns:
        fn()  # warm-up
    times = [[] for _ in fns]
    for repeat in range(repeats):
        for index in range(len(fns)):
            index = (index + repeat) % len(fns)
            start = time.perf_counter()
            fns[index]()
            times[index].append(time.perf_counter() - start)
    return [statistics.median(bucket) for bucket in times]


def tokenizer():
    """A byte-level BPE trained here on a few words (ids fit any vocabulary); stands in for the real one."""
    return byte_level_tokenizer([" ".join(WORDS)] * 3, bos_prefix=False)


def build(kind: str):
    import transformers

    if kind == "gpt2":
        config = transformers.GPT2Config(n_layer=12, n_head=12, n_embd=768, n_positions=1024, vocab_size=50257)
        model_class = transformers.GPT2LMHeadModel
    else:
        config = transformers.LlamaConfig(
            num_hidden_layers=12,
            num_attention_heads=12,
            num_key_value_heads=4,
            hidden_size=768,
            intermediate_size=2048,
            vocab_size=32000,
            max_position_embeddings=2048,
        )
        model_class = transformers.LlamaForCausalLM
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    eager = model_class(config).eval()
    adapter = HFAttentionModel(copy.deepcopy(eager), tokenizer(), f"random-{kind}").eval()
    return eager, adapter


def measure(kind: str, tokens: int, label: str, repeats: int) -> None:
    """One model: HF eager with output_attentions against attnviz's capture and the view capture, same numbers."""
    eager, adapter = build(kind)
    adapter.max_tokens = tokens
    text = " ".join(WORDS * (tokens // len(WORDS) + 2))
    encoding = adapter.encode([text])
    assert encoding.input_ids.shape[1] == tokens, encoding.input_ids.shape
    ids = encoding.input_ids

    def hf_forward():
        with torch.inference_mode():
            out = eager(input_ids=ids, use_cache=False, output_attentions=True)
        return [a.numpy() for a in out.attentions]

    def full_capture():
        return run_capture(adapter, [text], MaskSpec())

    def view_capture():
        return run_capture(adapter, [text], MaskSpec(), hooks=VIEW_HOOKS)

    # same numbers on both sides, or the timing compares different computations
    (cap,) = full_capture()
    reference = hf_forward()
    worst = max(
        float(abs(cap[f"blocks.{layer}.attn.hook_pattern"] - reference[layer][0]).max())
        for layer in range(adapter.n_layers)
    )
    assert worst < 1e-5, worst
    del cap, reference

    base, full, view = interleaved_medians([hf_forward, full_capture, view_capture], repeats)
    print(
        f"{label:>32} {tokens:>6} {base * 1e3:>12.1f} {full * 1e3:>11.1f} {full / base:>6.2f}"
        f" {view * 1e3:>8.1f} {view / base:>6.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    parser.add_argument("--only", choices=("gpt2", "llama"), default=None, help="run one of the two models")
    args = parser.parse_args()
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU float32, median of {args.repeats}")
    print(
        f"{'model':>32} {'tokens':>6} {'HF eager ms':>12} {'capture ms':>11} {'ratio':>6} {'view ms':>8} {'ratio':>6}"
    )
    models = (("gpt2", 512, "GPT-2 small size (12L 12H d768)"), ("llama", 1024, "Llama GQA (12L 12H/4KV d768)"))
    for kind, tokens, label in models:
        if args.only not in (None, kind):
            continue
        measure(kind, tokens, label, args.repeats)  # each model's objects are freed when it returns
    print("capture = every hook as NumPy (q, k, v, scores, mask, pattern, z, result, residuals);")
    print("view = pattern, scores, mask only (what the app draws).")
    print("target: capture / HF eager <= 1.3")


if __name__ == "__main__":
    main()
