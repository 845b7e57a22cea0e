"""What the DCMHA page computes, without Streamlit and without plotting.

* The models are the registry's character models (``models.char_lm.CharLanguageModel``: the shipped tiny
  DCFormer and its MHA twin), from the one model cache like every page's.
* :func:`prepare_text` -- user text cleaned and cut to the training context, naming the characters its
  vocabulary reads as ``<unk>``.
* :func:`run_dcmha` -- one real forward with the local window resized or causality lifted, recording every hook
  into the one :class:`~attnviz.capture.Capture` type; the four stage maps, the compose matrices C_ts of any
  cell and DCFormer's query blocks are functions over it (:func:`stage_maps`, :func:`compose`,
  :func:`query_blocks`).
* Summaries: how much each output head draws from every other head (mean |C_ts - I| over the allowed
  cells), per-head compose strength, a ranking of every head of every layer, per-token gates.
* :func:`sandbox_capture` -- the MiniLM sandbox: a user-given static H x H compose matrix applied to the
  scores (pre-compose, before the mask) or the probabilities (post-compose, after softmax) of ONE layer
  of a BERT-family model, through a forward hook that lives only for one call.
* :data:`TEXT` / :func:`tr` -- the page's English and Chinese strings (terms of course note 004).

Orientation everywhere: ``C[n, m]`` = how much OUTPUT head n (row) draws from INPUT head m (column),
``out_n = sum_m C[n, m] * in_m``.
"""

from __future__ import annotations

import contextvars
import math
import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from .capture import Capture, run_capture
from .masks import MaskSpec, query_block_spans
from .models.base import hook_name
from .models.char_lm import TWIN, CharLanguageModel
from .models.dcformer import compose_matrix, generate_text
from .text import InputError, clean_text

TINY_MODELS = tuple(TWIN)  # the shipped DCFormer and its MHA twin
STAGES = ("raw", "composed", "probs", "pattern")
STAGE_HOOKS = {"raw": "scores", "composed": "scores_composed", "probs": "probs", "pattern": "pattern"}
PARTS = ("identity", "query", "key", "query_gate", "key_gate", "static")
GATES = ("pre_qdd", "pre_kdd", "post_qdd", "post_kdd")


# ----------------------------------------------------------------------------- text
def display_char(c: str) -> str:
    """A character as a readable label: spaces and line breaks made visible."""
    return {" ": "␣", "\n": "↵", "\t": "⇥", "\u3000": "□"}.get(c, c)


def labels(cap: Capture) -> list[str]:
    """One readable label per character of a character model's capture."""
    return [display_char(c) for c in cap.tokens]


@dataclass
class PreparedText:
    text: str  # what the model reads
    unknown: list[str]  # distinct characters mapped to <unk>, in order of appearance
    truncated: bool
    full_length: int
    notices: list[tuple[str, dict]] = field(default_factory=list)  # (attnviz.i18n key, values) from cleaning


def prepare_text(raw: str | None, model: CharLanguageModel) -> PreparedText:
    """Clean (raises :class:`InputError` on empty text), cut to the model's training context, find the characters
    its vocabulary reads as <unk>."""
    cleaned = clean_text(raw)
    text = cleaned.text[: model.context]
    return PreparedText(text, model.unknown_characters(text), len(cleaned.text) > model.context, len(cleaned.text),
                        list(cleaned.notice_keys))


# ----------------------------------------------------------------------------- capture
def run_dcmha(model: CharLanguageModel, text: str, window: Any = "config", causal: bool = True) -> Capture:
    """One forward of ``model`` on ``text`` with every hook recorded and the text's next-character loss.

    window: the local layers' own size -- "config" (as trained), an int, or None (every layer global).
    causal: False lifts the causal constraint (a lesson: local windows become two-sided).
    """
    (cap,) = run_capture(model, [text], MaskSpec(), with_loss=True, local_window=window, causal=causal)
    return cap


def uses_dcmha(cap: Capture) -> bool:
    return hook_name("pre_qw1", 0) in cap


def stage_maps(cap: Capture, layer: int) -> dict[str, np.ndarray]:
    """raw scores, after pre-compose, probabilities (before post-compose), after post-compose: (H, T, T)."""
    return {stage: cap[hook_name(hook, layer)] for stage, hook in STAGE_HOOKS.items()}


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
    """Per head, mean over allowed cells of |after pre-compose - raw| and |after post-compose - probs|."""
    m = cap.mask(layer)
    n = max(int(m.sum()), 1)
    st = stage_maps(cap, layer)
    pre = (np.abs(st["composed"] - st["raw"]) * m).sum(axis=(1, 2)) / n
    post = (np.abs(st["pattern"] - st["probs"]) * m).sum(axis=(1, 2)) / n
    return {"pre": pre.astype(np.float32), "post": post.astype(np.float32)}


def ranking(cap: Capture):
    """Every head of every layer, sorted by how much it composes (cross-head draw, pre + post)."""
    import pandas as pd

    rows = []
    for layer in range(cap.n_layers):
        pre = head_strength(draw_matrix(cap, layer, "pre"))
        post = head_strength(draw_matrix(cap, layer, "post"))
        change = map_change(cap, layer)
        for h in range(cap.n_heads):
            rows.append({
                "layer": layer, "head": h,
                "pre_cross": float(pre["cross"][h]), "post_cross": float(post["cross"][h]),
                "pre_self": float(pre["self"][h]), "post_self": float(post["self"][h]),
                "pre_map_change": float(change["pre"][h]), "post_map_change": float(change["post"][h]),
            })
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
            out[f"{stage}_{side}"] = np.sqrt((mat ** 2).sum(axis=2)).astype(np.float32)
    return out


def continue_text(model: CharLanguageModel, prompt: str, n_chars: int, temperature: float = 0.0, seed: int = 0) -> str:
    """The model's continuation of ``prompt`` (greedy at temperature 0, else sampled with ``seed``)."""
    prompt = prompt[-model.context:]
    out = generate_text(model.lm, model.tokenizer, prompt, n_chars, temperature=temperature,
                        top_k=None, seed=seed if temperature > 0 else None)
    return out[len(prompt):]


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
    """Inverse of :func:`matrix_to_text`; malformed or out-of-range entries raise ValueError."""
    matrix = np.eye(n_heads, dtype=np.float32)
    for item in filter(None, (text or "").split(";")):
        where, value = item.split("=")
        n, m = (int(x) for x in where.split("."))
        if not (0 <= n < n_heads and 0 <= m < n_heads):
            raise ValueError(f"entry {item!r} outside a {n_heads}x{n_heads} matrix")
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"entry {item!r} is not a finite number")
        matrix[n, m] = v
    return matrix


@dataclass
class _SandboxState:
    hook_name: str
    matrix: torch.Tensor
    seen: dict = field(default_factory=dict)


_sandbox: contextvars.ContextVar[_SandboxState | None] = contextvars.ContextVar("attnviz_dcmha_sandbox", default=None)
_sandbox_lock = threading.Lock()


def _sandbox_hook(module, inputs, output):
    """Forward hook on a HookPoint: replace its output by the static compose -- only inside our own call."""
    state = _sandbox.get()
    if state is None or getattr(module, "name", None) != state.hook_name:
        return None  # another session's forward through the same model: untouched
    mixed = torch.einsum("nm,bmts->bnts", state.matrix.to(output.dtype), output)
    state.seen[state.hook_name] = mixed.detach()
    return mixed


@dataclass
class SandboxResult:
    base: dict  # the unmodified capture (name -> array), tokens included
    edited: dict  # the capture with the compose applied, same names; plus hook_scores_composed / hook_probs
    layer: int
    stage: str
    truncated: bool = False  # the text had more tokens than the model reads (it was cut to max_tokens)
    full_length: int = 0  # its token count before the cut


def sandbox_capture(model, text: str, layer: int, matrix: np.ndarray, stage: str, base: dict | None = None,
                    spec: MaskSpec = MaskSpec()) -> SandboxResult:
    """Run ``model`` (a BERT-family attnviz model) twice on ``text``: unmodified and with the static compose
    ``matrix`` (H x H, C orientation) applied at ``stage`` of ``layer``.

    pre:  scores' = C . scores  before the mask and softmax (hook ``blocks.{layer}.attn.hook_scores``)
    post: pattern' = C . softmax(...) after the softmax (hook ``blocks.{layer}.attn.hook_pattern``)
    The forward hook exists only during the call and acts only in this thread's context; a lock keeps
    two sandboxes from installing hooks on the same model at once.
    """
    from .capture import run_capture

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
    state = _SandboxState(name, torch.from_numpy(matrix).to(model.device))
    with _sandbox_lock:
        handle = model.hook(name).register_forward_hook(_sandbox_hook)
        token = _sandbox.set(state)
        try:
            (edited_cap,) = run_capture(model, [text], spec)
        finally:
            _sandbox.reset(token)
            handle.remove()
    edited = dict(edited_cap)
    mixed = state.seen[name][0].float().cpu().numpy()
    if stage == "pre":
        edited[hook_name("scores_composed", layer)] = mixed  # the recorder saw the scores before the hook
    else:
        edited[hook_name("probs", layer)] = edited[hook_name("pattern", layer)]  # softmax, before post-compose
        edited[hook_name("pattern", layer)] = mixed
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
    return float(np.linalg.norm(result.edited[key] - base) / max(np.linalg.norm(base), 1e-12))


# ----------------------------------------------------------------------------- bilingual strings
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "DCMHA — heads that compose",
        "intro": (
            "**Dynamically Composable Multi-Head Attention (DCMHA)** lets the heads of a layer mix their attention maps. "
            "For every query t and key s, an H×H **compose** matrix C_ts, computed from the two tokens "
            "(*input-dependent*), maps the H heads' values at that cell to new ones: **pre-compose** acts on the scores "
            "**before softmax**, **post-compose** on the probabilities **after softmax**. "
            "C_ts = I + query-wise low rank + diag(qdd) + key-wise low rank + diag(kdd). With all dynamic parts zero, "
            "DCMHA is plain MHA; a model that uses DCMHA is a **DCFormer**."
        ),
        "lang": "Language / 语言",
        "model": "Model",
        "model_help": "The tiny character-level DCFormer, or its MHA twin (same data, seed and steps; DCMHA off).",
        "text": "Text (characters; English and Chinese work)",
        "layer": "Layer",
        "query": "Query token t (row)",
        "key": "Key token s (column)",
        "head": "Head",
        "window_box": "Window and mask",
        "global": "No window (every layer global)",
        "window": "Window w of the local layers",
        "window_help": "Query i sees keys i−w+1 … i (w keys, itself included) in the local layers. Changing it re-runs the real forward.",
        "causal": "Causal mask",
        "causal_help": "The tiny models are causal language models. Unticking runs the same forward without the causal constraint.",
        "causal_off": "**Intervention:** the model was trained causal. Without the causal mask every query also sees later characters (and their key-wise compose weights): the maps show how it copes with something it never saw in training.",
        "window_trained": "Trained with w = {w}; local layers: {local}; global layers: {glob}.",
        "window_other": "**Intervention:** the model was trained with w = {w}; the maps below use {now}.",
        "trained_from": "Weights: `{src}` · held-out loss {loss} nats/char · loss on this text {here:.3f} nats/char.",
        "unknown": "Characters not in the vocabulary, mapped to <unk>: {chars}",
        "truncated": "The text has {n:,} characters; the model was trained on {ctx} — only the first {ctx} are used.",
        "empty": "Type a text to see its heads compose: the text is empty.",
        "mha_note": "The MHA twin has no compose: C_ts = I for every cell, so the scores after pre-compose equal the raw scores and the pattern equals the probabilities. Pick the DCFormer to see heads compose.",
        "tab_compose": "Compose matrix C_ts",
        "tab_stages": "Four stages",
        "tab_gates": "Gates and ranking",
        "tab_compare": "DCFormer vs MHA",
        "tab_sandbox": "MiniLM sandbox",
        "compose_caption": "Rows = **output head n**, columns = **input head m**: out_n = Σ_m C[n, m]·in_m. Diverging colours centred on 0 (one scale for I and C_ts, one for the smaller dynamic parts). The parts add up to C_ts (left to right).",
        "masked_cell": "This cell (t = {t}, s = {s}) is masked: C_ts exists but acts on −∞ (pre) / 0 (post).",
        "pre_title": "Pre-compose C_ts (scores, before softmax) · layer {layer} · t={t} ‘{q}’, s={s} ‘{k}’",
        "post_title": "Post-compose C_ts (probabilities, after softmax) · layer {layer} · t={t} ‘{q}’, s={s} ‘{k}’",
        "part_identity": "I (residual)",
        "part_query": "query-wise low rank",
        "part_key": "key-wise low rank",
        "part_query_gate": "diag(qdd[t]) query gate",
        "part_key_gate": "diag(kdd[s]) key gate",
        "part_static": "static W",
        "part_C": "= C_ts",
        "out_head": "output head n (row)",
        "in_head": "input head m (column)",
        "cell_table": "At this cell: each head's value before and after compose (C_ts · in = out).",
        "col_head": "head",
        "col_raw": "raw score",
        "col_composed": "after pre-compose",
        "col_probs": "probability",
        "col_pattern": "after post-compose",
        "draw_title": "How much each head draws from every other head · layer {layer}<br><sup>mean |C_ts − I| over the {n} allowed (t, s) cells</sup>",
        "draw_pre": "pre-compose",
        "draw_post": "post-compose",
        "strength_title": "Per output head · layer {layer}<br><sup>cross-head draw (off-diagonal) and self gate (diagonal)</sup>",
        "cross": "cross-head",
        "self": "self (diagonal)",
        "stages_caption": "Queries on rows, keys on columns; grey = masked. Scores use a diverging scale centred on 0; post-composed maps may hold negative values (then diverging too). Outline = window band; dashed boxes = the keys each block of queries reads (DCFormer computes attention in query blocks to bound memory: a computation order, not a mask).",
        "stage_title": "Layer {layer} · head {head}: the four stages and what compose changed",
        "stage_raw": "1 raw scores q·k/√d",
        "stage_composed": "2 after pre-compose",
        "stage_dpre": "2 − 1 (pre-compose change)",
        "stage_probs": "3 probabilities (softmax)",
        "stage_pattern": "4 after post-compose",
        "stage_dpost": "4 − 3 (post-compose change)",
        "grid_title": "Layer {layer}: every head at the four stages",
        "key_axis": "key s",
        "query_axis": "query t",
        "gates_title": "Per-token gate strengths tanh(x·dd) · layer {layer} (rows = heads, columns = tokens)",
        "gate_pre_qdd": "pre-compose query gate qdd",
        "gate_pre_kdd": "pre-compose key gate kdd",
        "gate_post_qdd": "post-compose query gate qdd",
        "gate_post_kdd": "post-compose key gate kdd",
        "lowrank_title": "Per-token low-rank strength ‖row n of Σ w2 w1ᵀ‖ · layer {layer}",
        "ranking": "Which heads compose most (all layers; sorted by cross-head draw, pre + post)",
        "ranking_help": "pre/post_cross: mean over allowed cells of Σ_{m≠n} |C_ts[n, m]|; *_self: mean |C_ts[n, n] − 1|; *_map_change: mean |after − before| of the head's map.",
        "compare_title": "Same text, layer {layer}, head {head}: DCFormer (post-compose pattern) vs MHA twin (softmax)",
        "compare_loss": "Next-character loss on this text: DCFormer {dc:.3f}, MHA twin {mha:.3f} nats/char.",
        "generate": "Continue the text with both models",
        "gen_chars": "Characters to generate",
        "gen_temp": "Temperature (0 = greedy)",
        "gen_button": "Generate",
        "sandbox_intro": "Apply a **static** H×H compose matrix to ONE layer of all-MiniLM-L6-v2 (12 heads) — no training, just the compose operation of DCMHA without the dynamic part. **pre** mixes the heads' scores before the mask and softmax; **post** mixes the probabilities after softmax. Rows = output head, columns = input head. The identity leaves every output unchanged.",
        "sb_text": "Sentence for MiniLM",
        "sb_layer": "MiniLM layer",
        "sb_stage": "Compose stage",
        "sb_preset": "Preset",
        "sb_a": "Head a",
        "sb_b": "Head b",
        "sb_apply": "Load preset into the editor",
        "sb_editor": "Compose matrix C (rows = output head n, columns = input head m); edit any cell",
        "sb_before": "MiniLM layer {layer}: heads before",
        "sb_after": "MiniLM layer {layer}: heads after {stage}-compose",
        "sb_diff": "after − before",
        "sb_spread": "Mean |Δ pattern| per layer (the edit at layer {layer} spreads to later layers)",
        "sb_hidden": "Final hidden states changed by {rel:.2%} (relative norm).",
        "sb_identity": "The matrix is the identity: every output equals the unmodified model.",
        "sb_bad": "The matrix could not be used: {error}",
        "preset_identity": "identity",
        "preset_swap": "swap heads a and b",
        "preset_average": "average all heads",
        "preset_zero": "zero head a",
        "stage_pre": "pre (scores, before softmax)",
        "stage_post": "post (probabilities, after softmax)",
        "masked_tag": "masked",
        "rank_label": "rank",
        "token_axis": "token (character)",
        "head_n": "head {h}",
        "dc_grid": "DCFormer · layer {layer}: every head after post-compose",
        "mha_grid": "MHA twin · layer {layer}: every head (softmax)",
        "dc_map": "DCFormer · after post-compose",
        "mha_map": "MHA twin · softmax",
        "lr_pre_q": "pre-compose · query-wise",
        "lr_pre_k": "pre-compose · key-wise",
        "lr_post_q": "post-compose · query-wise",
        "lr_post_k": "post-compose · key-wise",
        "sb_diff_title": "after − before · MiniLM layer {layer}",
        "layer_global": "global",
        "layer_local": "local w={w}",
        "mean_dpattern": "mean |Δ pattern|",
        "mha_loaded": "MHA twin weights: {src}",
    },
    "zh": {
        "title": "DCMHA —— 注意力头的动态组合",
        "intro": (
            "**动态组合多头注意力（DCMHA）** 让同一层的各个注意力头相互组合它们的注意力图。"
            "对每个查询 t 和键 s，模型根据这两个 token **依赖输入**地算出一个 H×H 的 **Compose（组合）矩阵** C_ts，"
            "把该单元上 H 个头的值变换成新的值：**pre-compose 在 softmax 之前**，作用于注意力得分（logits）；"
            "**post-compose 在 softmax 之后**，作用于注意力权重（概率）。"
            "C_ts = I + 查询侧低秩 + diag(qdd) + 键侧低秩 + diag(kdd)（对角加权）。动态部分全为 0 时 DCMHA 就是普通的多头注意力（MHA）；"
            "用 DCMHA 替换 MHA 得到的模型就是 **DCFormer**。"
        ),
        "lang": "Language / 语言",
        "model": "模型",
        "model_help": "字符级的小 DCFormer，或与它对应的 MHA 孪生模型（相同数据、随机种子和步数，只是关闭 DCMHA）。",
        "text": "文本（按字符切分；中英文均可）",
        "layer": "层",
        "query": "查询 token t（行）",
        "key": "键 token s（列）",
        "head": "注意力头",
        "window_box": "滑动窗口与掩码",
        "global": "不用窗口（所有层都是全局注意力）",
        "window": "局部层的滑动窗口大小 w",
        "window_help": "局部层中查询 i 只看键 i−w+1 … i（共 w 个，含自身）。改变窗口会重新运行真实的前向计算。",
        "causal": "因果掩码",
        "causal_help": "这两个小模型是因果语言模型。取消勾选则在没有因果约束的情况下运行同一个前向计算。",
        "causal_off": "**干预：** 模型是按因果方式训练的。去掉因果掩码后，每个查询也能看到后面的字符（以及它们的键侧组合权重）：下面的图显示的是模型如何应对训练中从未见过的情况。",
        "window_trained": "训练时 w = {w}；局部层：{local}；全局层：{glob}。",
        "window_other": "**干预：** 模型训练时 w = {w}；下面的图使用 {now}。",
        "trained_from": "权重：`{src}` · 留出集损失 {loss} nats/字符 · 本文本上的损失 {here:.3f} nats/字符。",
        "unknown": "以下字符不在词表中，已映射为 <unk>：{chars}",
        "truncated": "文本共有 {n:,} 个字符；模型的训练上下文为 {ctx}，只使用前 {ctx} 个字符。",
        "empty": "请输入文本以查看注意力头的组合：当前文本为空。",
        "mha_note": "MHA 孪生模型没有组合：每个单元的 C_ts = I，因此 pre-compose 之后的得分等于原始得分，最终注意力图等于概率。选择 DCFormer 才能看到头之间的组合。",
        "tab_compose": "组合矩阵 C_ts",
        "tab_stages": "四个阶段",
        "tab_gates": "门控与排名",
        "tab_compare": "DCFormer 对比 MHA",
        "tab_sandbox": "MiniLM 沙盒",
        "compose_caption": "行 = **输出头 n**，列 = **输入头 m**：out_n = Σ_m C[n, m]·in_m。发散色标以 0 为中心（I 与 C_ts 一个色标，较小的动态部分另一个色标）。各部分（从左到右）相加得到 C_ts。",
        "masked_cell": "该单元（t = {t}, s = {s}）被掩码：C_ts 依然存在，但作用于 −∞（pre）/ 0（post）。",
        "pre_title": "Pre-compose C_ts（得分，softmax 之前）· 第 {layer} 层 · t={t} ‘{q}’，s={s} ‘{k}’",
        "post_title": "Post-compose C_ts（概率，softmax 之后）· 第 {layer} 层 · t={t} ‘{q}’，s={s} ‘{k}’",
        "part_identity": "I（残差）",
        "part_query": "查询侧低秩",
        "part_key": "键侧低秩",
        "part_query_gate": "diag(qdd[t]) 查询门控",
        "part_key_gate": "diag(kdd[s]) 键门控",
        "part_static": "静态 W",
        "part_C": "= C_ts",
        "out_head": "输出头 n（行）",
        "in_head": "输入头 m（列）",
        "cell_table": "在该单元上：每个头组合前后的值（C_ts · 输入 = 输出）。",
        "col_head": "头",
        "col_raw": "原始得分",
        "col_composed": "pre-compose 之后",
        "col_probs": "概率",
        "col_pattern": "post-compose 之后",
        "draw_title": "每个头从其他各头“取”多少 · 第 {layer} 层<br><sup>{n} 个允许的 (t, s) 单元上的平均 |C_ts − I|</sup>",
        "draw_pre": "pre-compose",
        "draw_post": "post-compose",
        "strength_title": "每个输出头 · 第 {layer} 层<br><sup>跨头组合（非对角）与自身门控（对角）</sup>",
        "cross": "跨头",
        "self": "自身（对角）",
        "stages_caption": "行 = 查询，列 = 键；灰色 = 被掩码。得分使用以 0 为中心的发散色标；post-compose 之后的图可能含负值（此时也用发散色标）。实线 = 滑动窗口带；虚线框 = 每个查询块读取的键范围（DCFormer 分块计算注意力以限制内存：这是计算顺序，不是掩码）。",
        "stage_title": "第 {layer} 层 · 头 {head}：四个阶段以及组合带来的变化",
        "stage_raw": "1 原始得分 q·k/√d",
        "stage_composed": "2 pre-compose 之后",
        "stage_dpre": "2 − 1（pre-compose 的变化）",
        "stage_probs": "3 概率（softmax）",
        "stage_pattern": "4 post-compose 之后",
        "stage_dpost": "4 − 3（post-compose 的变化）",
        "grid_title": "第 {layer} 层：每个头的四个阶段",
        "key_axis": "键 s",
        "query_axis": "查询 t",
        "gates_title": "逐 token 的门控强度 tanh(x·dd) · 第 {layer} 层（行 = 头，列 = token）",
        "gate_pre_qdd": "pre-compose 查询门控 qdd",
        "gate_pre_kdd": "pre-compose 键门控 kdd",
        "gate_post_qdd": "post-compose 查询门控 qdd",
        "gate_post_kdd": "post-compose 键门控 kdd",
        "lowrank_title": "逐 token 的低秩强度 ‖Σ w2 w1ᵀ 的第 n 行‖ · 第 {layer} 层",
        "ranking": "哪些头组合得最多（所有层；按跨头组合 pre + post 排序）",
        "ranking_help": "pre/post_cross：允许单元上 Σ_{m≠n} |C_ts[n, m]| 的平均；*_self：|C_ts[n, n] − 1| 的平均；*_map_change：该头注意力图前后差的平均绝对值。",
        "compare_title": "同一文本，第 {layer} 层，头 {head}：DCFormer（post-compose 之后）对比 MHA 孪生模型（softmax）",
        "compare_loss": "本文本上的下一字符损失：DCFormer {dc:.3f}，MHA 孪生模型 {mha:.3f} nats/字符。",
        "generate": "用两个模型续写文本",
        "gen_chars": "生成的字符数",
        "gen_temp": "温度（0 = 贪心）",
        "gen_button": "生成",
        "sandbox_intro": "对 all-MiniLM-L6-v2（12 个头）的某一层施加一个 **静态** 的 H×H 组合矩阵 —— 不需训练，只是 DCMHA 中去掉动态部分的组合运算。**pre** 在掩码和 softmax 之前组合各头的得分；**post** 在 softmax 之后组合概率。行 = 输出头，列 = 输入头。单位矩阵不改变任何输出。",
        "sb_text": "MiniLM 的句子",
        "sb_layer": "MiniLM 层",
        "sb_stage": "组合阶段",
        "sb_preset": "预设",
        "sb_a": "头 a",
        "sb_b": "头 b",
        "sb_apply": "把预设载入编辑器",
        "sb_editor": "组合矩阵 C（行 = 输出头 n，列 = 输入头 m）；可编辑任意单元格",
        "sb_before": "MiniLM 第 {layer} 层：组合之前的各头",
        "sb_after": "MiniLM 第 {layer} 层：{stage}-compose 之后的各头",
        "sb_diff": "之后 − 之前",
        "sb_spread": "每层的平均 |Δ 注意力图|（第 {layer} 层的修改会传播到后面的层）",
        "sb_hidden": "最终隐藏状态的相对变化：{rel:.2%}。",
        "sb_identity": "该矩阵是单位矩阵：所有输出与未修改的模型完全相同。",
        "sb_bad": "无法使用该矩阵：{error}",
        "preset_identity": "单位矩阵",
        "preset_swap": "交换头 a 和头 b",
        "preset_average": "所有头取平均",
        "preset_zero": "把头 a 置零",
        "stage_pre": "pre（得分，softmax 之前）",
        "stage_post": "post（概率，softmax 之后）",
        "masked_tag": "已掩码",
        "rank_label": "排名",
        "token_axis": "token（字符）",
        "head_n": "头 {h}",
        "dc_grid": "DCFormer · 第 {layer} 层：post-compose 之后的各头",
        "mha_grid": "MHA 孪生模型 · 第 {layer} 层：各头（softmax）",
        "dc_map": "DCFormer · post-compose 之后",
        "mha_map": "MHA 孪生模型 · softmax",
        "lr_pre_q": "pre-compose · 查询侧",
        "lr_pre_k": "pre-compose · 键侧",
        "lr_post_q": "post-compose · 查询侧",
        "lr_post_k": "post-compose · 键侧",
        "sb_diff_title": "之后 − 之前 · MiniLM 第 {layer} 层",
        "layer_global": "全局",
        "layer_local": "局部 w={w}",
        "mean_dpattern": "平均 |Δ 注意力图|",
        "mha_loaded": "MHA 孪生模型权重：{src}",
    },
}
LANGUAGES = {"en": "EN", "zh": "中文"}


def tr(lang: str, key: str, **kw) -> str:
    """The page string ``key`` in ``lang`` ('en' or 'zh'), formatted with ``kw``."""
    table = TEXT.get(lang, TEXT["en"])
    text = table.get(key, TEXT["en"][key])
    return text.format(**kw) if kw else text


__all__ = [
    "TINY_MODELS", "TWIN", "STAGES", "PARTS", "GATES", "PreparedText", "SandboxResult", "InputError",
    "prepare_text", "run_dcmha", "uses_dcmha", "stage_maps", "compose", "query_blocks", "labels",
    "compose_offsets", "draw_matrix", "head_strength", "map_change", "ranking", "gates", "lowrank_strength",
    "continue_text", "preset_matrix", "matrix_to_text", "matrix_from_text", "sandbox_capture",
    "pattern_change_by_layer", "max_difference", "hidden_change", "display_char", "TEXT", "LANGUAGES", "tr",
]
