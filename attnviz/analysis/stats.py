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


class _Tokens:
    """What the statistics need of a text's tokens, once: integer codes (equal strings, equal codes), whether each
    position repeats an earlier token, and where [CLS] / [SEP] are."""

    def __init__(self, tokens: list[str]):
        names = np.asarray(tokens, dtype=str)
        _, first, self.codes = np.unique(names, return_index=True, return_inverse=True)
        self.has_copy = np.arange(len(names)) != first[self.codes]  # an earlier copy of the same token exists
        self.is_cls, self.is_sep = names == "[CLS]", names == "[SEP]"


class _Sums:
    """Each statistic's sum over the query rows seen so far, and how many rows it is averaged over."""

    def __init__(self):
        self.total = dict.fromkeys(STAT_COLUMNS, 0.0)
        self.count = dict.fromkeys(STAT_COLUMNS, 0)

    def add(self, p: np.ndarray, query_pos: np.ndarray, key_pos: np.ndarray, text: _Tokens) -> None:
        """Rows of one head's weights: p (rows, keys) float64 for queries ``query_pos`` over keys ``key_pos``, every
        other key of these rows weighing 0 (a tile over the keys the mask allows is enough)."""
        offset = key_pos[None, :] - query_pos[:, None]  # (rows, keys) j - i
        safe = np.where(p > 0, p, 1.0)  # 0·log 0 = 0
        # induction: key j ≤ i whose previous token j-1 (< i) is an earlier copy of the query's token
        follows_copy = (
            (key_pos >= 1)[None, :]
            & (offset <= 0)
            & (text.codes[np.maximum(key_pos - 1, 0)][None, :] == text.codes[query_pos][:, None])
        )
        per_row = {
            "entropy": -(p * np.log(safe)).sum(axis=1),
            "mean_distance": (p * np.abs(offset)).sum(axis=1),
            "self": (p * (offset == 0)).sum(axis=1),
            "previous": (p * (offset == -1)).sum(axis=1),
            "next": (p * (offset == 1)).sum(axis=1),
            "first": p[:, key_pos == 0].sum(axis=1),
            "induction": (p * follows_copy).sum(axis=1),
            "cls": p[:, text.is_cls[key_pos]].sum(axis=1),
            "sep": p[:, text.is_sep[key_pos]].sum(axis=1),
        }
        with_copy = text.has_copy[query_pos]  # induction is averaged over the queries that have an earlier copy
        for name, values in per_row.items():
            rows = with_copy if name == "induction" else slice(None)
            self.total[name] += float(values[rows].sum())
            self.count[name] += int(with_copy.sum()) if name == "induction" else len(values)

    def means(self) -> dict[str, float]:
        return {
            name: self.total[name] / self.count[name] if self.count[name] else float("nan") for name in STAT_COLUMNS
        }


def stat_columns(tokens: list[str]) -> list[str]:
    """The statistics that mean something for these tokens: [CLS] / [SEP] only where they occur."""
    present = set(tokens)
    return [name for name in STAT_COLUMNS if name not in ("cls", "sep") or f"[{name.upper()}]" in present]


def stats_table(capture, query_rows: np.ndarray | None = None) -> pd.DataFrame:
    """One row per (layer, head) of a capture, ready to sort (the columns of :func:`stat_columns`).

    Streamed ROWS_PER_BLOCK query rows at a time, every head together, over the keys the mask rule allows
    (attnviz.tiles): regions of the stored maps, or computed from a long text's q, k and row normalisers;
    never a (T × T) map."""
    from .. import tiles

    if query_rows is None:
        query_rows = np.asarray(capture.key_is_real, bool)  # padding rows never count
    text, n = _Tokens(capture.tokens), len(capture.tokens)
    records = []
    for layer in range(capture.n_layers):
        sums = [_Sums() for _ in range(capture.n_heads)]
        for rows in tiles.row_blocks(0, n):
            keys = tiles.allowed_span(capture, layer, rows)
            real = query_rows[rows]
            maps = tiles.heads_tile(capture, layer, rows, keys)[:, real].astype(np.float64)  # (heads, real rows, keys)
            for head_sums, p in zip(sums, maps):
                head_sums.add(p, np.arange(rows.start, rows.stop)[real], np.arange(keys.start, keys.stop), text)
        records += [{"layer": layer, "head": head, **head_sums.means()} for head, head_sums in enumerate(sums)]
    return pd.DataFrame.from_records(records, columns=["layer", "head", *stat_columns(capture.tokens)])
