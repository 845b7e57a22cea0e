"""What the DCMHA page computes, without Streamlit and without plotting.

* The models are the registry's character models (``models.char_lm.CharLanguageModel``: the shipped tiny
  DCFormer and its MHA twin), from the one model cache like every page's.
* :func:`prepare_text` -- user text cleaned and cut to what the model reads (beyond its training context: flagged),
  naming the characters its vocabulary reads as ``<unk>``.
* :func:`run_dcmha` -- one real forward with the local window resized or causality lifted, recording every hook
  into the one :class:`~attnviz.capture.Capture` type; the four stage maps, the compose matrices C_ts of any
  cell and DCFormer's query blocks are functions over it (:func:`stage_maps`, :func:`compose`,
  :func:`query_blocks`). A text over REGION characters is captured linearly and its maps are looked at through
  :func:`region_capture` (exact tiles around the chosen query).
* Summaries: how much each output head draws from every other head (mean |C_ts - I| over the allowed
  cells), per-head compose strength, a ranking of every head of every layer, per-token gates.
* :func:`sandbox_capture` -- the MiniLM sandbox: a user-given static H x H compose matrix applied to the
  scores (pre-compose, before the mask) or the probabilities (post-compose, after softmax) of ONE layer
  of a BERT-family model, through a forward hook that lives only for one call.

Orientation everywhere: ``C[n, m]`` = how much OUTPUT head n (row) draws from INPUT head m (column),
``out_n = sum_m C[n, m] * in_m``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ..capture import Capture, all_but_maps, run_capture
from ..decoding import decode
from ..hooks import editing
from ..masks import MaskSpec, query_block_spans
from ..models.base import hook_name
from ..models.char_lm import TWIN, CharLanguageModel
from ..text import InputError, clean_text, visible_token
from . import redundancy
from ..tiles import STAGE_HOOKS  # stage -> the hook that records its (heads, T, T) map

TINY_MODELS = tuple(TWIN)  # the shipped DCFormer and its MHA twin
STAGES = ("raw", "composed", "probs", "pattern")
PARTS = ("identity", "query", "key", "query_gate", "key_gate", "static")
GATES = ("pre_qdd", "pre_kdd", "post_qdd", "post_kdd")


# ----------------------------------------------------------------------------- text


def compose_matrix(capture: dict, layer: int, t: int, s: int, stage: str = "pre") -> dict:
    """Full H x H compose matrix C_ts of one layer for query t and key s, and its parts.

    Orientation: ``C[n, m]`` is how much output head n draws from input head m
    (out_n = sum_m C[n, m] * in_m). Returns NumPy arrays:
    ``C`` (total), ``identity``, ``query`` (sum_i qw2 qw1^T), ``key`` (sum_i kw2 kw1^T),
    ``query_gate`` (diag qdd[t]), ``key_gate`` (diag kdd[s]), ``static`` (zeros if absent).
    """
    if stage not in ("pre", "post"):
        raise ValueError("stage must be 'pre' or 'post'")

    def p(name: str) -> str:  # this stage's compose weights in ``layer``
        return hook_name(f"{stage}_{name}", layer)

    if p("qw1") not in capture:
        raise KeyError(f"no {stage}-compose weights for layer {layer} in this capture (MHA model?)")
    qw1, qw2 = capture[p("qw1")][t], capture[p("qw2")][t]  # (R, H)
    kw1, kw2 = capture[p("kw1")][s], capture[p("kw2")][s]  # (R, H)
    qdd, kdd = capture[p("qdd")][t], capture[p("kdd")][s]  # (H,)
    H = qdd.shape[0]
    parts = {
        "identity": np.eye(H, dtype=np.float32),
        "query": np.einsum("in,im->nm", qw2, qw1).astype(np.float32),
        "key": np.einsum("in,im->nm", kw2, kw1).astype(np.float32),
        "query_gate": np.diag(qdd).astype(np.float32),
        "key_gate": np.diag(kdd).astype(np.float32),
        "static": np.asarray(capture.get(p("static"), np.zeros((H, H))), dtype=np.float32),
    }
    parts["C"] = sum(parts[k] for k in ("identity", "query", "key", "query_gate", "key_gate", "static"))
    return parts


def labels(cap: Capture) -> list[str]:
    """One readable label per character of a character model's capture (white space drawn: text.visible_token)."""
    return [visible_token(c) for c in cap.tokens]


@dataclass
class PreparedText:
    text: str  # what the model reads
    unknown: list[str]  # distinct characters mapped to <unk>, in order of appearance
    truncated: bool
    full_length: int
    notices: list[tuple[str, dict]] = field(default_factory=list)  # (attnviz.i18n key, values) from cleaning


def prepare_text(raw: str | None, model: CharLanguageModel) -> PreparedText:
    """Clean (raises :class:`InputError` on empty text), cut to the most the model reads (its local windows let it run
    beyond the context it was trained on, which the page flags), find the characters its vocabulary reads as <unk>."""
    cleaned = clean_text(raw)
    text = cleaned.text[: model.max_tokens]
    return PreparedText(
        text,
        model.unknown_characters(text),
        len(cleaned.text) > model.max_tokens,
        len(cleaned.text),
        list(cleaned.notice_keys),
    )


# ----------------------------------------------------------------------------- capture
# A text of more characters is captured linearly (no (T × T) map stored) and its maps are looked at through a
# region of this many characters around the chosen query (region_capture), exact, cell by cell.
REGION = 256


def run_dcmha(model: CharLanguageModel, text: str, window: Any = "config", causal: bool = True) -> Capture:
    """One forward of ``model`` on ``text`` with every hook recorded and the text's next-character loss; beyond
    REGION characters every hook but the (T × T) maps (q, k, the row normalisers and the per-token compose weights
    hold them all: attnviz.tiles).

    window: the local layers' own size -- "config" (as trained), an int, or None (every layer global).
    causal: False lifts the causal constraint (a lesson: local windows become two-sided).
    """
    hooks = all_but_maps(model) if len(model.encode([text]).tokens[0]) > REGION else None
    (cap,) = run_capture(model, [text], MaskSpec(), hooks, with_loss=True, local_window=window, causal=causal)
    return cap


def region_start(n: int, t: int, query_block: int | None, size: int = REGION) -> int:
    """First position of the ``size``-character region around query ``t`` of an ``n``-character text, on a query block's
    boundary (so the region's blocks are the model's)."""
    step = query_block or 1
    start = max(0, min(t - size // 2, n - size))
    return max(0, start // step * step)


def region_capture(cap: Capture, start: int, stop: int) -> Capture:
    """Positions [start, stop) of a long text's capture as a capture of their own: every layer's four stage maps and
    its mask over that square, exact (regions of the whole text's maps: a row's weights on keys outside the region
    are not in it), with q and k there. The page's map views read it like a short text's capture."""
    from .. import tiles

    rows = slice(start, stop)
    arrays = {"tokens": cap["tokens"][rows], "token_ids": cap["token_ids"][rows]}
    for layer in range(cap.n_layers):
        for stage, value in tiles.stage_tiles(cap, layer, rows, rows).items():
            arrays[hook_name(STAGE_HOOKS[stage], layer)] = value
        arrays[hook_name("mask", layer)] = tiles.allowed_tile(cap, layer, rows, rows)
        for name in ("q", "k"):
            arrays[hook_name(name, layer)] = cap[hook_name(name, layer)][:, rows]
        arrays[hook_name("score_scale", layer)] = cap[hook_name("score_scale", layer)]
    return cap.with_arrays(arrays, positions=rows)


def uses_dcmha(cap: Capture) -> bool:
    return hook_name("pre_qw1", 0) in cap


def stage_maps(cap: Capture, layer: int) -> dict[str, np.ndarray]:
    """raw scores, after pre-compose, probabilities (before post-compose), after post-compose: (H, T, T)."""
    return {stage: cap[hook_name(hook, layer)] for stage, hook in STAGE_HOOKS.items()}


def cell_values(cap: Capture, layer: int, t: int, s: int) -> dict[str, list | np.ndarray]:
    """Every head's value at query t, key s at each stage (raw score, composed score, softmax, post-composed)."""
    from .. import tiles

    stages = tiles.stage_tiles(cap, layer, slice(t, t + 1), slice(s, s + 1))
    return {"head": [f"h{h}" for h in range(cap.n_heads)], **{stage: stages[stage][:, 0, 0] for stage in STAGES}}


def compose(cap: Capture, layer: int, t: int, s: int, stage: str) -> dict[str, np.ndarray]:
    """C_ts and its parts; the MHA twin has no compose, so C_ts = I."""
    if not uses_dcmha(cap):
        eye = np.eye(cap.n_heads, dtype=np.float32)
        zero = np.zeros_like(eye)
        parts = {p: (eye if p == "identity" else zero) for p in PARTS}
        parts["C"] = eye.copy()
        return parts
    return compose_matrix(cap, layer, t, s, stage)


def query_blocks(cap: Capture, layer: int) -> list[tuple[int, int, int, int]]:
    """(a, b, k0, k1): DCFormer's blocks of queries [a, b) and the keys [k0, k1) each reads in ``layer``."""
    return query_block_spans(len(cap.tokens), cap.query_block, cap.layer_windows[layer], cap.causal)


# ----------------------------------------------------------------------------- summaries
def compose_offsets(cap: Capture, layer: int, stage: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C_ts - I = Qoff[t] + Koff[s] + static, with Qoff (T, H, H) = query low rank + diag(qdd), Koff likewise."""
    H, T = cap.n_heads, len(cap.tokens)
    if not uses_dcmha(cap):
        z = np.zeros((T, H, H), dtype=np.float32)
        return z, z.copy(), np.zeros((H, H), dtype=np.float32)

    def part(name: str) -> np.ndarray:
        return cap[hook_name(f"{stage}_{name}", layer)]

    q = np.einsum("tin,tim->tnm", part("qw2"), part("qw1"))
    k = np.einsum("tin,tim->tnm", part("kw2"), part("kw1"))
    idx = np.arange(H)
    q[:, idx, idx] += part("qdd")
    k[:, idx, idx] += part("kdd")
    static = np.asarray(cap.get(hook_name(f"{stage}_static", layer), np.zeros((H, H))), dtype=np.float32)
    return q.astype(np.float32), k.astype(np.float32), static


def draw_matrix(cap: Capture, layer: int, stage: str, block: int = 32) -> np.ndarray:
    """(H, H): mean over the allowed (t, s) cells of |C_ts - I| -- how much head n draws from head m.

    Works in blocks of ``block`` queries so the (T, S, H, H) tensor never exists at once.
    """
    q, k, static = compose_offsets(cap, layer, stage)
    allowed = cap.mask(layer)
    H, T = cap.n_heads, len(cap.tokens)
    total = np.zeros((H, H), dtype=np.float64)
    count = int(allowed.sum())
    if count == 0:
        return total.astype(np.float32)
    for a in range(0, T, block):
        rows = slice(a, min(T, a + block))
        cells = np.abs(q[rows, None] + k[None, :] + static)  # (b, S, H, H)
        total += (cells * allowed[rows, :, None, None]).sum(axis=(0, 1))
    return (total / count).astype(np.float32)


def head_strength(draw: np.ndarray) -> dict[str, np.ndarray]:
    """From a draw matrix: per OUTPUT head, the cross-head part (off-diagonal row sum) and the self part."""
    diag = np.diag(draw).copy()
    return {"cross": draw.sum(axis=1) - diag, "self": diag}


def map_change(cap: Capture, layer: int) -> dict[str, np.ndarray]:
    """Per head, mean over allowed cells of |after pre-compose - raw| and |after post-compose - probs|: a block of
    query rows at a time over the keys the mask allows (a long text's maps are never whole)."""
    from .. import tiles

    n = len(cap.tokens)
    pre, post, cells = np.zeros(cap.n_heads), np.zeros(cap.n_heads), 0
    for rows in tiles.row_blocks(0, n):
        keys = tiles.allowed_span(cap, layer, rows)
        m = tiles.allowed_tile(cap, layer, rows, keys)
        st = tiles.stage_tiles(cap, layer, rows, keys)
        pre += (np.abs(st["composed"] - st["raw"]) * m).sum(axis=(1, 2), dtype=np.float64)
        post += (np.abs(st["pattern"] - st["probs"]) * m).sum(axis=(1, 2), dtype=np.float64)
        cells += int(m.sum())
    cells = max(cells, 1)
    return {"pre": (pre / cells).astype(np.float32), "post": (post / cells).astype(np.float32)}


def ranking(cap: Capture):
    """Every head of every layer, sorted by how much it composes (cross-head draw, pre + post)."""
    import pandas as pd

    rows = []
    for layer in range(cap.n_layers):
        pre = head_strength(draw_matrix(cap, layer, "pre"))
        post = head_strength(draw_matrix(cap, layer, "post"))
        change = map_change(cap, layer)
        for h in range(cap.n_heads):
            rows.append(
                {
                    "layer": layer,
                    "head": h,
                    "pre_cross": float(pre["cross"][h]),
                    "post_cross": float(post["cross"][h]),
                    "pre_self": float(pre["self"][h]),
                    "post_self": float(post["self"][h]),
                    "pre_map_change": float(change["pre"][h]),
                    "post_map_change": float(change["post"][h]),
                }
            )
    table = pd.DataFrame(rows)
    table["cross_total"] = table["pre_cross"] + table["post_cross"]
    return table.sort_values("cross_total", ascending=False, kind="stable").reset_index(drop=True)


def gates(cap: Capture, layer: int) -> dict[str, np.ndarray]:
    """Per-token gates tanh(x @ dd): 'pre_qdd', 'pre_kdd', 'post_qdd', 'post_kdd', each (T, H)."""
    if not uses_dcmha(cap):
        return {}
    return {g: cap[hook_name(g, layer)] for g in GATES}


def lowrank_strength(cap: Capture, layer: int) -> dict[str, np.ndarray]:
    """Per token and head: Frobenius row norm of the query-/key-wise low-rank parts, (T, H) each."""
    if not uses_dcmha(cap):
        return {}
    out = {}
    for stage in ("pre", "post"):
        for side in ("q", "k"):
            w1 = cap[hook_name(f"{stage}_{side}w1", layer)]
            w2 = cap[hook_name(f"{stage}_{side}w2", layer)]
            mat = np.einsum("tin,tim->tnm", w2, w1)
            out[f"{stage}_{side}"] = np.sqrt((mat**2).sum(axis=2)).astype(np.float32)
    return out


def continue_text(model: CharLanguageModel, prompt: str, n_chars: int, temperature: float = 0.0, seed: int = 0) -> str:
    """The model's continuation of ``prompt`` (greedy at temperature 0, else sampled with ``seed``)."""
    prompt = prompt[-model.context :]
    _, steps = decode(
        model, model.tokenizer.encode(prompt), n_chars, temperature=temperature, seed=seed if temperature > 0 else None
    )
    return model.tokenizer.decode(step.token_id for step in steps)


# ----------------------------------------------------------------------------- MiniLM sandbox
SANDBOX_PRESETS = ("identity", "swap", "average", "zero")


def preset_matrix(name: str, n_heads: int, a: int = 0, b: int = 1) -> np.ndarray:
    """identity; swap heads a and b (permutation); average of all heads; zero out head a (others kept)."""
    eye = np.eye(n_heads, dtype=np.float32)
    if name == "identity":
        return eye
    if name == "swap":
        perm = np.arange(n_heads)
        perm[[a, b]] = perm[[b, a]]
        return eye[perm]
    if name == "average":
        return np.full((n_heads, n_heads), 1.0 / n_heads, dtype=np.float32)
    if name == "zero":
        eye[a, a] = 0.0
        return eye
    raise ValueError(f"unknown preset {name!r}")


def matrix_to_text(matrix: np.ndarray) -> str:
    """Compact URL form: the entries that differ from the identity, 'row.col=value;...' ('' = identity)."""
    eye = np.eye(matrix.shape[0], dtype=np.float32)
    out = []
    for n, m in zip(*np.nonzero(~np.isclose(matrix, eye, atol=0, rtol=0))):
        out.append(f"{n}.{m}={float(matrix[n, m]):.6g}")
    return ";".join(out)


def matrix_from_text(text: str, n_heads: int) -> np.ndarray:
    """Inverse of :func:`matrix_to_text`; malformed or out-of-range entries raise ValueError, whose short message
    names the entry by its number and at most 20 of its characters (the text may come from a link: a 60,000-
    character value was echoed whole, with Python's own unpacking error)."""
    matrix = np.eye(n_heads, dtype=np.float32)
    items = [item for item in (text or "").split(";") if item]
    if len(items) > n_heads * n_heads:
        raise ValueError(f"{len(items)} entries for a {n_heads}x{n_heads} matrix")
    for number, item in enumerate(items, 1):
        shown = repr(item if len(item) <= 20 else item[:20] + "…")
        try:
            where, value = item.split("=")
            n, m = (int(x) for x in where.split("."))
            v = float(value)
        except ValueError:
            raise ValueError(f"entry {number} ({shown}) is not row.column=number") from None
        if not (0 <= n < n_heads and 0 <= m < n_heads):
            raise ValueError(f"entry {number} ({shown}) is outside a {n_heads}x{n_heads} matrix")
        if not math.isfinite(v):
            raise ValueError(f"entry {number} ({shown}) is not a finite number")
        matrix[n, m] = v
    return matrix


@dataclass
class SandboxResult:
    base: dict  # the unmodified capture (name -> array), tokens included
    edited: dict  # the capture with the compose applied, same names; plus hook_scores_composed / hook_probs
    layer: int
    stage: str
    truncated: bool = False  # the text had more tokens than the model reads (it was cut to max_tokens)
    full_length: int = 0  # its token count before the cut


def sandbox_capture(
    model, text: str, layer: int, matrix: np.ndarray, stage: str, base: dict | None = None, spec: MaskSpec = MaskSpec()
) -> SandboxResult:
    """Run ``model`` (a BERT-family attnviz model) twice on ``text``: unmodified and with the static compose
    ``matrix`` (H x H, C orientation) applied at ``stage`` of ``layer``.

    pre:  scores' = C . scores  before the mask and softmax (hook ``blocks.{layer}.attn.hook_scores``)
    post: pattern' = C . softmax(...) after the softmax (hook ``blocks.{layer}.attn.hook_pattern``)
    The compose is an edit of that hook point (``hooks.editing``, as a head ablation is): it acts only inside this
    call, in this thread, so another session's forward through the same model is untouched.
    """

    if stage not in ("pre", "post"):
        raise ValueError("stage must be 'pre' or 'post'")
    H = model.n_heads
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.shape != (H, H):
        raise ValueError(f"the compose matrix must be {H}x{H}, got {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("the compose matrix holds a non-finite number")
    if not 0 <= layer < model.n_layers:
        raise ValueError(f"layer must be in 0..{model.n_layers - 1}")
    if base is None:
        (base_cap,) = run_capture(model, [text], spec)
        base = dict(base_cap)
    name = hook_name("scores" if stage == "pre" else "pattern", layer)
    compose = torch.from_numpy(matrix).to(model.device)
    before: list[torch.Tensor] = []

    def composed(x: torch.Tensor) -> torch.Tensor:  # (batch, heads, T, T) -> the heads mixed by C
        before.append(x.detach())
        return torch.einsum("nm,bmts->bnts", compose.to(x.dtype), x)

    with editing({name: composed}):
        (edited_cap,) = run_capture(model, [text], spec)
    edited = dict(edited_cap)  # the recorder saw the composed map at ``name`` (it records after the edits)
    uncomposed = before[0][0].float().cpu().numpy()
    if stage == "pre":
        edited[hook_name("scores_composed", layer)] = edited[name]
        edited[name] = uncomposed  # the raw scores, as a DCFormer records them beside the composed ones
    else:
        edited[hook_name("probs", layer)] = uncomposed  # the softmax, before post-compose
    return SandboxResult(base, edited, layer, stage, bool(edited_cap.truncated), int(edited_cap.full_length))


def pattern_change_by_layer(result: SandboxResult, n_layers: int) -> np.ndarray:
    """Mean |edited pattern - base pattern| per layer: zero before the edited layer, then it spreads."""
    out = np.zeros(n_layers, dtype=np.float32)
    for l in range(n_layers):
        key = hook_name("pattern", l)
        out[l] = float(np.abs(result.edited[key] - result.base[key]).mean())
    return out


def max_difference(result: SandboxResult) -> float:
    """Largest |edited - base| over every captured float array (0.0 means the edit changed nothing)."""
    worst = 0.0
    for name, base in result.base.items():
        if isinstance(base, np.ndarray) and np.issubdtype(base.dtype, np.floating):
            worst = max(worst, float(np.abs(result.edited[name] - base).max()))
    return worst


def hidden_change(result: SandboxResult, n_layers: int) -> float:
    """Relative change of the final hidden states: ||edited - base|| / ||base||."""
    key = hook_name("resid_post", n_layers - 1)
    base = result.base[key]
    return float(np.linalg.norm(result.edited[key] - base) / max(float(np.linalg.norm(base)), 1e-12))


__all__ = [
    "TINY_MODELS",
    "TWIN",
    "STAGES",
    "PARTS",
    "GATES",
    "PreparedText",
    "SandboxResult",
    "InputError",
    "prepare_text",
    "run_dcmha",
    "uses_dcmha",
    "stage_maps",
    "compose",
    "query_blocks",
    "labels",
    "compose_offsets",
    "draw_matrix",
    "head_strength",
    "map_change",
    "ranking",
    "gates",
    "lowrank_strength",
    "continue_text",
    "preset_matrix",
    "matrix_to_text",
    "matrix_from_text",
    "sandbox_capture",
    "pattern_change_by_layer",
    "max_difference",
    "hidden_change",
]


# ----------------------------------------------------------------------------- does composition change redundancy?
SAME_WITHIN = 0.05  # per layer, relative differences below 5 % count as "about the same"


@dataclass
class RedundancyComparison:
    """The DCFormer and its MHA twin on one text, per layer (L,): how alike a layer's heads are (mean cosine of the
    maps over the distinct pairs of heads: the DCFormer's post-composed maps may hold negative weights, so no JS
    distance) and how many directions the maps use (mean effective rank), with ``d_head`` the scores' bound."""

    similarity: dict[str, np.ndarray]  # "dcmha" (post-composed maps, what mixes v), "dcmha_softmax" (before), "mha"
    rank: dict[str, np.ndarray]  # "dcmha", "mha": mean effective rank of the layer's maps
    d_head: int

    def verdict(self, measure: str) -> tuple[str, dict]:
        """A text key and its values saying, honestly, what the numbers show: the DCFormer lower / higher in
        every layer, or no consistent difference (some layers each way, or within ``SAME_WITHIN``)."""
        values = self.similarity if measure == "similarity" else self.rank
        dc, mha = values["dcmha"], values["mha"]
        relative = (dc - mha) / np.maximum(np.abs(mha), 1e-6)
        lower, higher = int((relative < -SAME_WITHIN).sum()), int((relative > SAME_WITHIN).sum())
        layers = len(dc)
        outcome = "lower" if lower == layers else "higher" if higher == layers else "mixed"
        return f"dcmha.verdict_{measure}_{outcome}", {
            "lower": lower,
            "higher": higher,
            "layers": layers,
            "dc": float(dc.mean()),
            "mha": float(mha.mean()),
        }


def _mean_off_diagonal(matrix: np.ndarray) -> float:
    return float(matrix[~np.eye(len(matrix), dtype=bool)].mean())


def redundancy_comparison(dc_cap: Capture, mha_cap: Capture) -> RedundancyComparison:
    """How alike each layer's heads attend, and how high-rank their maps are, for the two models on the same text."""

    def per_layer(cap: Capture, maps: str = "pattern") -> np.ndarray:
        view = cap if maps == "pattern" else _with_pattern(cap, maps)
        return np.array(
            [_mean_off_diagonal(redundancy.layer_similarity(view, layer, "cosine")) for layer in range(cap.n_layers)]
        )

    def ranks(cap: Capture) -> np.ndarray:
        return redundancy.rank_table(cap).groupby("layer")["pattern_erank"].mean().to_numpy()

    similarity = {"dcmha": per_layer(dc_cap), "mha": per_layer(mha_cap)}
    if dc_cap.recorded(hook_name("probs", 0)):
        similarity["dcmha_softmax"] = per_layer(dc_cap, "probs")
    d_head = int(dc_cap[hook_name("q", 0)].shape[-1])
    return RedundancyComparison(similarity, {"dcmha": ranks(dc_cap), "mha": ranks(mha_cap)}, d_head)


def _with_pattern(cap: Capture, name: str) -> Capture:
    """The capture with another stage (``probs``: the softmax before post-compose) in the place of its pattern."""
    arrays = dict(cap)
    for layer in range(cap.n_layers):
        arrays[hook_name("pattern", layer)] = cap[hook_name(name, layer)]
    return cap.with_arrays(arrays)
