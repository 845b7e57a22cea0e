"""Head statistics: numbers that rank heads by what they attend to.

All statistics are averages over the real (non-padding) query rows of one head's
pattern (q_len, k_len):

* entropy: -Σ p log p of a row, in nats (0 = one key takes everything, log k_len = uniform);
* mean distance: Σ p_j |i - j|, how far (in tokens) a query looks on average;
* self / previous / next: weight on key i, i-1, i+1;
* first: weight on the first token (a decoder's usual attention sink; [CLS] in a BERT);
* induction: weight on the tokens that followed an earlier copy of the query's token (``A B … A`` → ``B``),
  averaged over the queries that have such an earlier copy — the pattern of an induction head;
* cls / sep: weight on the [CLS] / [SEP] tokens (only for models that have them).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

STAT_COLUMNS = ("entropy", "mean_distance", "self", "previous", "next", "first", "induction", "cls", "sep")


def head_stats(pattern: np.ndarray, tokens: list[str], query_rows: np.ndarray | None = None) -> dict[str, float]:
    """Statistics of one head. pattern: (q_len, k_len); query_rows: bool (q_len,) rows to average."""
    q_len, k_len = pattern.shape
    rows = np.ones(q_len, dtype=bool) if query_rows is None else np.asarray(query_rows, dtype=bool)
    p = pattern[rows].astype(np.float64)  # (n_rows, k_len)
    if p.shape[0] == 0:
        return {name: float("nan") for name in STAT_COLUMNS}
    query_pos = np.arange(q_len)[rows][:, None]  # (n_rows, 1)
    key_pos = np.arange(k_len)[None, :]  # (1, k_len)
    safe = np.where(p > 0, p, 1.0)  # 0·log 0 = 0
    offset = key_pos - query_pos
    tokens_arr = np.asarray(tokens)
    return {
        "entropy": float(np.mean(-(p * np.log(safe)).sum(axis=1))),
        "mean_distance": float(np.mean((p * np.abs(offset)).sum(axis=1))),
        "self": float(np.mean((p * (offset == 0)).sum(axis=1))),
        "previous": float(np.mean((p * (offset == -1)).sum(axis=1))),
        "next": float(np.mean((p * (offset == 1)).sum(axis=1))),
        "first": float(np.mean(p[:, 0])),
        "induction": _induction(p, query_pos[:, 0], tokens_arr),
        "cls": float(np.mean(p[:, tokens_arr == "[CLS]"].sum(axis=1))),
        "sep": float(np.mean(p[:, tokens_arr == "[SEP]"].sum(axis=1))),
    }


def _induction(p: np.ndarray, query_pos: np.ndarray, tokens: np.ndarray) -> float:
    """Mean weight on keys j ≤ i whose previous token j-1 < i equals token i, over queries with such keys."""
    shares = []
    for row, i in zip(p, query_pos):
        earlier = np.flatnonzero(tokens[:i] == tokens[i])  # earlier copies of the query's token
        targets = earlier + 1  # the tokens that followed them (all ≤ i)
        if targets.size:
            shares.append(row[targets].sum())
    return float(np.mean(shares)) if shares else float("nan")


def stat_columns(tokens: list[str]) -> list[str]:
    """The statistics that mean something for these tokens: [CLS] / [SEP] only where they occur."""
    present = set(tokens)
    return [name for name in STAT_COLUMNS if name not in ("cls", "sep") or f"[{name.upper()}]" in present]


def stats_table(capture, query_rows: np.ndarray | None = None) -> pd.DataFrame:
    """One row per (layer, head) of a capture, ready to sort (the columns of :func:`stat_columns`)."""
    if query_rows is None:
        query_rows = ~_padding(capture)
    records = []
    for layer in range(capture.n_layers):
        pattern = capture.pattern(layer)  # (heads, seq, seq)
        for head in range(pattern.shape[0]):
            records.append({"layer": layer, "head": head, **head_stats(pattern[head], capture.tokens, query_rows)})
    return pd.DataFrame.from_records(records, columns=["layer", "head", *stat_columns(capture.tokens)])


def _padding(capture) -> np.ndarray:
    return np.array([t == "[PAD]" or t == "<pad>" for t in capture.tokens])
