#!/usr/bin/env python
"""Forward and capture time of the tiny DCFormer vs its MHA twin, and peak memory at T = 1024.

    python benchmarks/dcformer_bench.py            # uses assets/dcformer-tiny and assets/mha-tiny
    python benchmarks/dcformer_bench.py --random   # same shapes, random weights (no assets needed)

Timings: median of --repeats runs (after one warm-up), batch 1, torch.set_num_threads(--threads),
no autograd. "forward" is model(tokens) (chunked attention, q_chunk_size from the config);
"capture" is model.run_with_cache(tokens): every hook recorded and converted to NumPy
(unchunked, all H x T x T maps). Peak memory: in a fresh subprocess per (model, mode), the
growth of the peak RSS (VmHWM, reset after a T = 64 warm-up) over the resident size, for one
T = 1024 call (the capture dict itself is included: it is alive at the peak).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, ROOT)

import torch  # noqa: E402

from attnviz.models.dcformer import DCFormer, DCFormerConfig  # noqa: E402
from attnviz.models.dcformer_checkpoint import load_dcformer  # noqa: E402

NAMES = ("dcformer-tiny", "mha-tiny")


def get_model(name: str, random_weights: bool) -> DCFormer:
    d = os.path.join(ROOT, "assets", name)
    if not random_weights and os.path.exists(os.path.join(d, "model.safetensors")):
        return load_dcformer(d)
    torch.manual_seed(0)
    cfg = DCFormerConfig(
        vocab_size=3385,
        dim=128,
        n_layer=4,
        n_head=4,
        window_size=64,
        window_type="LG",
        q_chunk_size=64,
        use_dcmha=name.startswith("dcformer"),
    )
    return DCFormer(cfg).eval()


def tokens(T: int, V: int) -> torch.Tensor:
    return torch.randint(1, V, (1, T), generator=torch.Generator().manual_seed(T))


def run_once(model: DCFormer, x: torch.Tensor, mode: str) -> None:
    with torch.no_grad():
        if mode == "forward":
            model(x)
        else:
            model.run_with_cache(x)


def timeit(model: DCFormer, T: int, mode: str, repeats: int) -> float:
    x = tokens(T, model.config.vocab_size)
    run_once(model, x, mode)  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_once(model, x, mode)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_child(name: str, mode: str, T: int, random_weights: bool, threads: int) -> None:
    torch.set_num_threads(threads)
    model = get_model(name, random_weights)
    run_once(model, tokens(64, model.config.vocab_size), mode)
    try:  # reset the peak-RSS high-water mark (Linux); ru_maxrss would carry the parent's peak over exec
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = _status_kb("VmRSS")
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run_once(model, tokens(T, model.config.vocab_size), mode)
    after = _status_kb("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_growth_mb": (after - before) / 1024, "peak_rss_mb": after / 1024}))


def peak_memory(name: str, mode: str, T: int, random_weights: bool, threads: int) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--peak-child", name, mode, str(T), "--threads", str(threads)]
    if random_weights:
        cmd.append("--random")
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return json.loads(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lengths", default="64,256,1024")
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--random", action="store_true", help="random weights with the shipped shapes")
    ap.add_argument("--peak-child", nargs=3, metavar=("NAME", "MODE", "T"), help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help="also print the results as JSON")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.peak_child:
        peak_child(args.peak_child[0], args.peak_child[1], int(args.peak_child[2]), args.random, args.threads)
        return 0

    lengths = [int(t) for t in args.lengths.split(",")]
    models = {n: get_model(n, args.random) for n in NAMES}
    cfg = models["dcformer-tiny"].config
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), batch 1, median of {args.repeats}; "
        f"model: {cfg.n_layer} layers, D {cfg.dim}, H {cfg.n_head}, windows {cfg.layer_windows()}, "
        f"q_chunk {cfg.q_chunk_size}, weights: {'random' if args.random else 'assets/'}"
    )
    res: dict = {}
    for mode in ("forward", "capture"):
        for T in lengths:
            for n, m in models.items():
                res[(mode, T, n)] = timeit(m, T, mode, args.repeats if T < 1024 else max(3, args.repeats // 2))
    print()
    print(
        f"| mode | T | DCFormer ms | MHA ms | ratio DCF/MHA | DCF growth vs T={lengths[0]} | MHA growth vs T={lengths[0]} |"
    )
    print("|---|---|---|---|---|---|---|")
    for mode in ("forward", "capture"):
        for T in lengths:
            d, m = res[(mode, T, "dcformer-tiny")], res[(mode, T, "mha-tiny")]
            d0, m0 = res[(mode, lengths[0], "dcformer-tiny")], res[(mode, lengths[0], "mha-tiny")]
            print(f"| {mode} | {T} | {d * 1e3:.1f} | {m * 1e3:.1f} | {d / m:.2f} | {d / d0:.1f}x | {m / m0:.1f}x |")
    Tm = max(lengths)
    print()
    print(f"Peak memory at T = {Tm} (growth of peak RSS during one call, after a T=64 warm-up, fresh process each):")
    print("| mode | DCFormer MB | MHA MB |")
    print("|---|---|---|")
    mem = {}
    for mode in ("forward", "capture"):
        row = [peak_memory(n, mode, Tm, args.random, args.threads)["peak_rss_growth_mb"] for n in NAMES]
        mem[mode] = dict(zip(NAMES, row))
        print(f"| {mode} | {row[0]:.1f} | {row[1]:.1f} |")
    H, L = cfg.n_head, cfg.n_layer
    print(
        f"\n(one H x T x T float32 map at T={Tm}: {H * Tm * Tm * 4 / 2**20:.0f} MB; a capture keeps 4 such maps "
        f"per layer (scores, scores_composed, probs, pattern) plus the T x T bool mask -> "
        f"{L * (4 * H * Tm * Tm * 4 + Tm * Tm) / 2**20:.0f} MB for {L} layers)"
    )
    if args.json:
        print(json.dumps({"times_s": {f"{k[0]}/{k[1]}/{k[2]}": v for k, v in res.items()}, "peak_mb": mem}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
