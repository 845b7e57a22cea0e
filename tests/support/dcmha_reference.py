"""C_ts written out from the DCMHA design page's formula, entry by entry: the independent reference of the DCMHA tests."""

from __future__ import annotations

import numpy as np


def independent_c(cap, layer: int, t: int, s: int, stage: str) -> np.ndarray:
    """C_ts written out from the design page's formula, entry by entry, from the captured weights."""
    a = lambda name: cap[f"blocks.{layer}.attn.hook_{stage}_{name}"]  # noqa: E731
    qw1, qw2, kw1, kw2, qdd, kdd = a("qw1")[t], a("qw2")[t], a("kw1")[s], a("kw2")[s], a("qdd")[t], a("kdd")[s]
    H = cap.n_heads
    C = np.zeros((H, H))
    for n in range(H):
        for m in range(H):
            C[n, m] = float(n == m)
            C[n, m] += sum(qw1[i, m] * qw2[i, n] for i in range(qw1.shape[0]))
            C[n, m] += sum(kw1[i, m] * kw2[i, n] for i in range(kw1.shape[0]))
            if n == m:
                C[n, m] += qdd[n] + kdd[n]
    return C
