"""DCFormer: a Transformer with Dynamically Composable Multi-Head Attention (DCMHA).

One readable file, nanoGPT style. Reference semantics: ``docs/dcmha.md``
(DCFormer paper, ICML 2024). Shapes in comments use
B batch, T queries, S keys, H heads, d head size, D model width, R compose rank (2),
K dynamic hidden size (4*H), V vocabulary.

What is here
------------
* :class:`DCFormerConfig` -- published JSON field names (``dim``, ``n_head``, ...).
* :class:`DCFormer` -- the model. State-dict names follow the published PyTorch
  release exactly (``tok_embeddings.weight``, ``layers.{i}.attention.wqkv.weight``,
  ``layers.{i}.attention.dyn_w_proj.dw1`` ...). ``use_dcmha=False`` gives the
  plain MHA twin through the very same code path (compose is simply skipped).
* Compose is applied in FACTORED form: the (T, S, H, H) tensor is never built.
  :func:`attnviz.analysis.dcmha.compose_matrix` builds the H x H matrix C_ts for one (query, key) cell
  from a capture, with its parts.
* Hooks: every intermediate passes through a named ``HookPoint`` (``attnviz.hooks``), its name from
  ``models.base.hook_name``: ``blocks.{l}.attn.hook_q/k/v`` (B, H, T, d) after qk-norm and RoPE,
  ``hook_scores``, ``hook_scores_composed``, ``hook_probs``, ``hook_pattern`` (B, H, T, S),
  ``hook_mask`` (B, T, S) bool (True = may attend), ``hook_z`` (B, H, T, d),
  ``hook_{pre,post}_{qw1,qw2,kw1,kw2}`` (B, T, R, H), ``hook_{pre,post}_{qdd,kdd}`` (B, T, H),
  ``hook_{pre,post}_static`` (B, H, H, only with a static part, in C orientation),
  plus ``blocks.{l}.hook_resid_pre``, ``hook_attn_out``, ``hook_resid_mid``,
  ``hook_mlp_out``, ``hook_resid_post`` (B, T, D), ``hook_embed`` and ``hook_logits``.
  Recording is per call (``attnviz.hooks.recording``), never state on the module, so concurrent forwards
  are safe. A recorded map is full (H, T, S): every query row against all S keys (masked cells included),
  computed in query blocks of ``q_chunk_size``; the blocking gives the same numbers (tests).
  :meth:`DCFormer.run_with_cache` returns ``(logits, {name: array})`` as TransformerLens does.
Beside it: :mod:`attnviz.models.dcformer_checkpoint` (``load_dcformer``, ``save_dcformer``: safetensors +
``config.json``, no pickle, no remote code), :class:`attnviz.models.vocab.CharTokenizer` (the character vocabulary
shipped with the weights) and :func:`attnviz.models.char_lm.generate` (greedy / sampled generation with a KV cache).

Window convention (attnviz): a window of ``w`` lets query i see keys i-w+1 .. i
(``w`` keys, itself included). The published training code admits one more key
(i-w .. i); a checkpoint trained there sees one key less here in local layers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Iterable, Sequence, cast

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..compose import compose  # the cross-head compose kernel (tiles rebuilds maps with it too)
from ..hooks import HookPoint, recording, to_numpy as _numpy
from ..masks import MaskSpec, key_span, position_mask, query_block_spans, score_function
from .base import hook_name

__all__ = [
    "DCFormerConfig",
    "DCFormer",
    "RMSNorm",
    "KVCache",
    "compose",
]

RANK = 2  # R: rank of the query-wise / key-wise dynamic compose (published value)
BRANCHES = ("pre_q", "pre_k", "post_q", "post_k")  # fixed order of the 4 dynamic branches


# ----------------------------------------------------------------------------- config
@dataclass
class DCFormerConfig:
    """Model configuration. Field names are those of the published JSON configs."""

    vocab_size: int = 256
    dim: int = 128  # D
    n_layer: int = 4
    n_head: int = 4  # H
    head_dim: int | None = None  # d (default dim // n_head)
    intermediate_size: int | None = None  # SwiGLU hidden size (default ~ 8/3 * dim)
    window_size: int | None = 256  # w of the local layers (None: all global)
    window_type: Any = "LG"  # "LG" (also null, as in the published code), "LGLL", "G", "L" or a per-layer list
    use_qk_norm: bool = False
    rope_base: float = 10000.0
    norm_eps: float = 1e-5
    q_chunk_size: int | None = 128  # queries per chunk (None / 0: no chunking)
    use_dcmha: bool = True
    mgate: bool = False
    mgate_dim: int = 44
    block_size: int = 2048  # max positions (RoPE table size; grows on demand)
    use_static_compose: bool = False  # optional learned H x H static part (off in published configs)

    def __post_init__(self) -> None:
        if self.head_dim is None:
            self.head_dim = self.dim // self.n_head
        if self.intermediate_size is None:
            hidden = int(2 * (4 * self.dim) / 3)
            self.intermediate_size = 32 * ((hidden + 31) // 32)
        if isinstance(self.window_type, tuple):
            self.window_type = list(self.window_type)

    # -- windows -----------------------------------------------------------------
    def layer_windows(self, window_size: int | None | str = "config") -> list[int | None]:
        """Per-layer window (None = global causal). ``window_size`` overrides the local size."""
        w = self.window_size if window_size == "config" else cast(int | None, window_size)  # "config" is the only str
        wt = self.window_type
        if isinstance(wt, (list, tuple)):
            if len(wt) != self.n_layer:
                raise ValueError(f"window_type list has {len(wt)} entries, expected n_layer={self.n_layer}")
            out = []
            for x in wt:  # explicit list; a window_size override rescales nothing here
                out.append(None if x in (None, 0, "G", "g") else (w if x in ("L", "l") else int(x)))
            return out
        pattern = {"LG": "LG", "LGLL": "LGLL", "G": "G", "L": "L", None: "LG"}.get(wt)  # null: published default
        if pattern is None:
            raise ValueError(f"unknown window_type {wt!r} (use 'LG', 'LGLL' or a list)")
        return [(w if pattern[i % len(pattern)] == "L" else None) for i in range(self.n_layer)]

    # -- JSON ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "DCFormerConfig":
        """A config.json read as the published code reads it: a key it leaves out takes the published default
        (:data:`PUBLISHED_DEFAULTS`), not this class's tiny ones; ``window_type: null`` is the LG layout."""
        known = {f.name for f in fields(cls)}
        d = dict(d)
        # a few aliases seen in published / HF-style configs
        aliases = {
            "num_hidden_layers": "n_layer",
            "num_attention_heads": "n_head",
            "hidden_size": "dim",
            "rms_norm_eps": "norm_eps",
            "rope_theta": "rope_base",
            "max_position_embeddings": "block_size",
        }
        for a, b in aliases.items():
            if a in d and b not in d:
                d[b] = d.pop(a)
        d = {**PUBLISHED_DEFAULTS, **{k: v for k, v in d.items() if k in known}}
        if d.get("intermediate_size") is None:  # the published rounding: a multiple of 256
            d["intermediate_size"] = 256 * -(-int(2 * 4 * d["dim"] / 3) // 256)
        return cls(**d)


# What the published configuration (configuration_dcformer.py of the PyTorch release) assumes for a key a config.json
# leaves out. The dataclass defaults above are the shipped tiny model's shape; a published checkpoint reads these.
PUBLISHED_DEFAULTS = {
    "block_size": 2048,
    "vocab_size": 32000,
    "n_layer": 32,
    "n_head": 32,
    "dim": 2560,
    "rope_base": 500000.0,
    "norm_eps": 1e-5,
    "q_chunk_size": 128,
    "use_dcmha": True,
    "use_qk_norm": False,
    "window_size": 256,
    "window_type": None,
    "mgate": False,
    "mgate_dim": 44,
}


# ----------------------------------------------------------------------------- pieces
class RMSNorm(nn.Module):
    """x * rsqrt(mean(x^2) + eps) * weight (computed in float32)."""

    def __init__(self, dim: int, eps: float = 1e-5, param_name: str = "weight"):
        super().__init__()
        self.eps = eps
        self.param_name = param_name
        self.register_parameter(param_name, nn.Parameter(torch.ones(dim)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        out = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        return out.type_as(x) * getattr(self, self.param_name)


def rms_norm_noscale(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Scale-free RMS norm over the last axis (used on w1, over the head axis)."""
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).type_as(x)


def rope_tables(n_pos: int, head_dim: int, base: float, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """cos, sin of shape (n_pos, d/2): angle pos * base^(-2j/d) for j < d/2."""
    half = head_dim // 2
    inv = base ** (-torch.arange(0, half, dtype=torch.float64, device=device) * 2.0 / head_dim)
    ang = torch.arange(n_pos, dtype=torch.float64, device=device)[:, None] * inv[None, :]  # (P, d/2)
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """RoPE 'half' mode. x: (B, H, T, d); cos/sin: (T, d/2). Pair (x_j, x_{j+d/2}) is rotated."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]  # real parts, imaginary parts
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).type_as(x)


# ----------------------------------------------------------------------------- DCMHA
class DynamicWeightProjection(nn.Module):
    """Per-token compose weights from the normalised layer input x (published layout, G = 1)."""

    def __init__(self, dim: int, n_head: int, use_static: bool = False):
        super().__init__()
        H, D, K, G = n_head, dim, 4 * n_head, 1
        self.n_head, self.K = H, K
        self.dw1 = nn.Parameter(torch.zeros(D, G, 4, K))  # (D, 1, 4, K)
        self.qkw = nn.Parameter(torch.zeros(G, 4, K, 2 * RANK, H))  # (1, 4, K, 2R, H)
        self.dd = nn.Parameter(torch.zeros(D, G, 4 * H))  # (D, 1, 4H)
        # optional static part, published orientation: out_n += sum_m in_m * sw[0, c, m, n], c = 0 pre / 1 post
        self.sw = nn.Parameter(torch.zeros(G, 2, H, H)) if use_static else None
        self.act = nn.GELU()  # exact erf GELU
        self.reset_parameters()

    def reset_parameters(self) -> None:
        D, H, K, R = self.dw1.shape[0], self.n_head, self.K, RANK
        nn.init.normal_(self.dw1, 0.0, math.sqrt(2.0 / (D + K)))
        nn.init.normal_(self.qkw, 0.0, 0.02 / (math.sqrt(2 * H * R) * (H + R)))
        nn.init.normal_(self.dd, 0.0, 0.05 * math.sqrt(2.0 / (H + D)))
        if self.sw is not None:
            nn.init.zeros_(self.sw)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """x: (B, T, D) -> dict of the 12 dynamic tensors, e.g. 'pre_qw1' (B, T, R, H), 'pre_qdd' (B, T, H)."""
        H = self.n_head
        hidden = self.act(torch.einsum("btd,dgck->btgck", x, self.dw1))  # (B, T, 1, 4, K)
        w = torch.einsum("btgck,gckim->btgcim", hidden, self.qkw)  # (B, T, 1, 4, 2R, H)
        w = w[:, :, 0]  # (B, T, 4, 2R, H)
        w1 = rms_norm_noscale(w[..., :RANK, :], eps=1e-6)  # (B, T, 4, R, H) normed over H
        w2 = w[..., RANK:, :]  # (B, T, 4, R, H)
        dd = torch.tanh(torch.einsum("btd,dgm->btgm", x, self.dd))[:, :, 0]  # (B, T, 4H)
        out: dict[str, torch.Tensor] = {}
        for c, name in enumerate(BRANCHES):  # pre_q, pre_k, post_q, post_k
            stage, side = name.split("_")
            out[f"{stage}_{side}w1"] = w1[:, :, c]  # (B, T, R, H)
            out[f"{stage}_{side}w2"] = w2[:, :, c]  # (B, T, R, H)
            out[f"{stage}_{side}dd"] = dd[:, :, c * H : (c + 1) * H]  # (B, T, H)
        return out

    def static_matrix(self, stage: str) -> torch.Tensor | None:
        """Static part in C orientation (H, H): C[n, m] = sw[m, n]."""
        if self.sw is None:
            return None
        return self.sw[0, 0 if stage == "pre" else 1].transpose(0, 1)


DYN_KEYS = [f"{st}_{x}" for st in ("pre", "post") for x in ("qw1", "qw2", "kw1", "kw2", "qdd", "kdd")]


class KVCache:
    """Per-layer cache for incremental decoding: keys/values after RoPE plus key-wise compose weights."""

    def __init__(self, n_layer: int):
        self.layers: list[dict[str, torch.Tensor]] = [dict() for _ in range(n_layer)]

    @property
    def length(self) -> int:
        l0 = self.layers[0]
        return 0 if "k" not in l0 else l0["k"].shape[2]

    def extend(self, layer: int, **tensors: torch.Tensor) -> dict[str, torch.Tensor]:
        """Append along the token axis (dim 2 for k/v (B,H,S,d), dim 1 for (B,S,...) weights)."""
        store = self.layers[layer]
        for name, t in tensors.items():
            dim = 2 if name in ("k", "v") else 1
            store[name] = t if name not in store else torch.cat([store[name], t], dim=dim)
        return store


class Attention(nn.Module):
    # Hook points, one per intermediate (batch first; H heads, T queries, S keys):
    #   hook_q, hook_k, hook_v                      (B, H, T|S, d) after qk-norm and RoPE
    #   hook_scores                                 (B, H, T, S)   q·kᵀ/√d, before compose and mask
    #   hook_scores_composed                        (B, H, T, S)   after pre-compose (DCMHA)
    #   hook_mask                                   (B, T, S)      True = may attend
    #   hook_probs                                  (B, H, T, S)   softmax, before post-compose (DCMHA)
    #   hook_pattern                                (B, H, T, S)   the weights that mix v
    #   hook_z                                      (B, H, T, d)   pattern @ v
    #   hook_result                                 (B, T, D)      concat(z) @ W_O
    #   hook_lse                                    (B, H, T)      each row's log-sum-exp of its composed scores
    #   hook_score_scale                            (B, 2)         1/√d and no softcap (0)
    #   hook_{pre,post}_{qw1,qw2,kw1,kw2}           (B, T, R, H)   dynamic compose weights (DCMHA)
    #   hook_{pre,post}_{qdd,kdd}                   (B, T, H)      query / key gates (DCMHA)
    #   hook_{pre,post}_static                      (B, H, H)      static part in C orientation (if any)
    MAP_HOOKS = ("scores", "scores_composed", "mask", "probs", "pattern")
    # the hook points __init__ sets with setattr that the forward calls by attribute (the others through getattr)
    hook_q: HookPoint
    hook_k: HookPoint
    hook_v: HookPoint
    hook_z: HookPoint
    hook_result: HookPoint
    hook_lse: HookPoint
    hook_score_scale: HookPoint
    q_norm: RMSNorm  # with use_qk_norm only
    k_norm: RMSNorm

    def __init__(self, cfg: DCFormerConfig, layer: int = 0):
        super().__init__()
        self.cfg = cfg
        assert cfg.head_dim is not None  # DCFormerConfig.__post_init__ fills it in
        H, d, D = cfg.n_head, cfg.head_dim, cfg.dim
        self.n_head, self.head_dim = H, d
        self.wqkv = nn.Linear(D, 3 * H * d, bias=False)  # q, k, v stacked on dim 0
        self.wo = nn.Linear(H * d, D, bias=False)
        if cfg.use_qk_norm:
            self.q_norm = RMSNorm(d, eps=1e-6, param_name="scale")
            self.k_norm = RMSNorm(d, eps=1e-6, param_name="scale")
        # the MHA twin has the four stages too (composed = scores, pattern = probs), so the two compare stage by stage
        names = [
            "q",
            "k",
            "v",
            "scores",
            "scores_composed",
            "mask",
            "probs",
            "pattern",
            "z",
            "result",
            "lse",
            "score_scale",
        ]
        if cfg.use_dcmha:
            self.dyn_w_proj = DynamicWeightProjection(D, H, use_static=cfg.use_static_compose)
            names += DYN_KEYS
            if cfg.use_static_compose:
                names += ["pre_static", "post_static"]
        for name in names:  # hook names from the one helper; the module attribute is the name's last part
            setattr(self, f"hook_{name}", HookPoint(hook_name(name, layer)))

    # One block of queries [a, b) against keys [k0, k1). Everything (B, H, ...) per head.
    def _attend(
        self, q, k, v, dw, mask, a, b, k0, k1, maps: dict | None = None, lse: list | None = None, score_mod=None
    ):
        scale = 1.0 / math.sqrt(self.head_dim)
        qc = q[:, :, a:b]  # (B, H, Tc, d)
        kc, vc = k[:, :, k0:k1], v[:, :, k0:k1]  # (B, H, Sc, d)
        scores = torch.matmul(qc, kc.transpose(-2, -1)) * scale  # (B, H, Tc, Sc)
        if score_mod is not None:  # the user's ALiBi / soft-capping, before compose (what hook_scores records)
            modify, q_pos, k_pos = score_mod
            scores = modify(scores, q_pos[a:b], k_pos[k0:k1])
        m = mask[..., a:b, k0:k1]  # (B or 1, 1, Tc, Sc)
        if dw is not None:
            sl_q, sl_k = slice(a, b), slice(k0, k1)
            pre = (  # a tuple: mypy then sees it fill compose's six positional arguments exactly
                dw["pre_qw1"][:, sl_q],
                dw["pre_qw2"][:, sl_q],
                dw["pre_kw1"][:, sl_k],
                dw["pre_kw2"][:, sl_k],
                dw["pre_qdd"][:, sl_q],
                dw["pre_kdd"][:, sl_k],
            )
            composed = compose(scores, *pre, static=self.dyn_w_proj.static_matrix("pre"))  # (B, H, Tc, Sc)
        else:
            composed = scores
        masked = composed.float().masked_fill(~m, float("-inf"))
        if lse is not None:  # the softmax's normaliser of each row (B, H, Tc): with q, k and the compose weights it
            lse.append(torch.logsumexp(masked, dim=-1))  # rebuilds any cell later (attnviz.tiles)
        probs = torch.softmax(masked, dim=-1)  # (B, H, Tc, Sc), float32
        probs = torch.nan_to_num(probs, nan=0.0)  # rows with no visible key (custom masks)
        if dw is not None:
            post = (
                dw["post_qw1"][:, sl_q],
                dw["post_qw2"][:, sl_q],
                dw["post_kw1"][:, sl_k],
                dw["post_kw2"][:, sl_k],
                dw["post_qdd"][:, sl_q],
                dw["post_kdd"][:, sl_k],
            )
            pattern = compose(probs, *post, static=self.dyn_w_proj.static_matrix("post"))  # (B, H, Tc, Sc)
        else:
            pattern = probs
        out = torch.matmul(pattern.type_as(vc), vc)  # (B, H, Tc, d)
        if maps is not None:  # this block's rows of the recorded maps
            block = {
                "scores": scores,
                "scores_composed": composed,
                "probs": probs,
                "pattern": pattern,
                "mask": m[:, 0].expand(q.shape[0], b - a, k1 - k0),
            }
            for name, rows in maps.items():
                rows.append(block[name])
        return out

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        *,
        window: int | None = None,
        causal: bool = True,
        attn_mask: torch.Tensor | None = None,
        rules: MaskSpec | None = None,
        cache: KVCache | None = None,
        layer: int = 0,
    ) -> torch.Tensor:
        """x: (B, T, D) normalised input. cos/sin: (T, d/2) for the T new positions. The layer's own mask (``causal``,
        ``window``) AND ``rules`` (the user's mask rules; its sinks see through its own window, never this layer's)
        AND ``attn_mask``; ``rules``' score modifications change the scores before compose."""
        B, T, _ = x.shape
        H, d = self.n_head, self.head_dim
        q, k, v = self.wqkv(x).split(H * d, dim=-1)  # 3 x (B, T, H*d)
        q = q.view(B, T, H, d).transpose(1, 2)  # (B, H, T, d)
        k = k.view(B, T, H, d).transpose(1, 2)  # (B, H, T, d)
        v = v.view(B, T, H, d).transpose(1, 2)  # (B, H, T, d)
        if self.cfg.use_qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k = self.hook_q(apply_rope(q, cos, sin)), self.hook_k(apply_rope(k, cos, sin))
        v = self.hook_v(v)
        dw = None
        if self.cfg.use_dcmha:
            dw = {key: getattr(self, f"hook_{key}")(value) for key, value in self.dyn_w_proj(x).items()}
            for stage in ("pre", "post"):
                hook = getattr(self, f"hook_{stage}_static", None)
                if hook is not None and hook.wanted():
                    static = self.dyn_w_proj.static_matrix(stage)
                    assert static is not None  # hook_{stage}_static exists only with a static part
                    hook(static[None].expand(B, H, H))

        past = 0
        if cache is not None:  # incremental decoding: keys/values + key-wise weights of earlier tokens
            prev = cache.layers[layer]
            past = prev["k"].shape[2] if "k" in prev else 0
            kv = {"k": k, "v": v}
            if dw is not None:
                kv.update({key: dw[key] for key in DYN_KEYS if "_k" in key})
            store = cache.extend(layer, **kv)
            k, v = store["k"], store["v"]
            if dw is not None:
                dw = dict(dw)
                dw.update({key: store[key] for key in DYN_KEYS if "_k" in key})
        S = k.shape[2]
        q_pos = torch.arange(past, past + T, device=x.device)
        k_pos = torch.arange(S, device=x.device)
        mask = position_mask(q_pos, k_pos, MaskSpec(causal=causal, window=window))[None, None]  # (1, 1, T, S)
        narrowing = rules if rules is not None and rules.takes_keys else None  # the user's rules that take keys
        if narrowing is not None:
            mask = mask & position_mask(q_pos, k_pos, narrowing)[None, None]
        scoring = None if rules is None else score_function(rules, H)  # None unless it modifies scores
        score_mod = None if scoring is None else (scoring, q_pos, k_pos)
        if attn_mask is not None:  # extra boolean mask, True = may attend; (T,S), (B,T,S) or (B,1,T,S)
            am = attn_mask.to(torch.bool)
            am = am[None, None] if am.dim() == 2 else (am[:, None] if am.dim() == 3 else am)
            mask = mask & am

        # Maps someone records: every query row against ALL S keys (masked cells too), still in query blocks so
        # that no temporary is larger than one block. Only those maps are kept, and only while recorded.
        maps: dict[str, list[torch.Tensor]] = {
            name: [] for name in self.MAP_HOOKS if getattr(self, f"hook_{name}").wanted()
        }
        if maps:
            spans = [(a, b, 0, S) for a, b, _, _ in query_block_spans(T, self.cfg.q_chunk_size, None, past=past, S=S)]
        else:  # each query block reads only the keys its window lets it see (all of them under a custom mask)
            spans = query_block_spans(T, self.cfg.q_chunk_size, window, causal, past=past, S=S)
            if narrowing is not None:  # and within the keys the user's rules leave them (a superset, as key_span says)
                spans = [_narrow(span, key_span(past + span[0], past + span[1], S, narrowing)) for span in spans]
            if attn_mask is not None:
                spans = [(a, b, 0, S) for a, b, _, _ in spans]
        lse: list[torch.Tensor] | None = [] if self.hook_lse.wanted() else None
        out = torch.cat(
            [self._attend(q, k, v, dw, mask, a, b, k0, k1, maps or None, lse, score_mod) for a, b, k0, k1 in spans],
            dim=2,
        )  # (B, H, T, d)
        if lse is not None:
            self.hook_lse(torch.cat(lse, dim=2))  # (B, H, T)
        if self.hook_score_scale.wanted():
            self.hook_score_scale(torch.tensor([[1.0 / math.sqrt(self.head_dim), 0.0]]).expand(B, 2))
        for name, rows in maps.items():
            getattr(self, f"hook_{name}")(torch.cat(rows, dim=-2))  # (B, H, T, S) / (B, T, S)
        out = self.hook_z(out)  # (B, H, T, d)
        return self.hook_result(self.wo(out.transpose(1, 2).reshape(B, T, H * d)))  # (B, T, D)


class FeedForward(nn.Module):
    """SwiGLU: w2(silu(w1 x) * w3 x); with mgate the activations are cut into mgate_dim
    groups, each scaled by softmax(mg x) (float32)."""

    def __init__(self, cfg: DCFormerConfig):
        super().__init__()
        assert cfg.intermediate_size is not None  # DCFormerConfig.__post_init__ fills it in
        D, I = cfg.dim, cfg.intermediate_size
        self.w1 = nn.Linear(D, I, bias=False)
        self.w3 = nn.Linear(D, I, bias=False)
        self.w2 = nn.Linear(I, D, bias=False)
        self.mgate = cfg.mgate
        if cfg.mgate:
            if I % cfg.mgate_dim:
                raise ValueError("intermediate_size must be divisible by mgate_dim")
            self.mgate_dim = cfg.mgate_dim
            self.mg = nn.Linear(D, cfg.mgate_dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.silu(self.w1(x)) * self.w3(x)  # (B, T, I)
        if self.mgate:
            B, T, I = h.shape
            g = torch.softmax(self.mg(x).float(), dim=-1).type_as(h)  # (B, T, M)
            h = (h.view(B, T, self.mgate_dim, I // self.mgate_dim) * g[..., None]).view(B, T, I)
        return self.w2(h)


def _narrow(span: tuple[int, int, int, int], keys: tuple[int, int]) -> tuple[int, int, int, int]:
    """A query block's span of keys (a, b, k0, k1) cut to the keys [lo, hi) another rule leaves it."""
    a, b, k0, k1 = span
    lo = max(k0, keys[0])
    return a, b, lo, max(lo, min(k1, keys[1]))


class TransformerBlock(nn.Module):
    def __init__(self, cfg: DCFormerConfig, layer: int = 0):
        super().__init__()
        self.layer = layer
        self.attention_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attention = Attention(cfg, layer)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.feed_forward = FeedForward(cfg)
        for name in ("resid_pre", "attn_in", "attn_out", "resid_mid", "mlp_out", "resid_post"):  # each (B, T, D)
            setattr(self, f"hook_{name}", HookPoint(hook_name(name, layer)))

    def forward(self, h, cos, sin, *, window, causal, attn_mask, rules, cache):
        h = self.hook_resid_pre(h)
        x = self.hook_attn_in(self.attention_norm(h))  # pre-norm: what the attention's projections read
        a = self.hook_attn_out(
            self.attention(
                x,
                cos,
                sin,
                window=window,
                causal=causal,
                attn_mask=attn_mask,
                rules=rules,
                cache=cache,
                layer=self.layer,
            )
        )
        h = self.hook_resid_mid(h + a)
        m = self.hook_mlp_out(self.feed_forward(self.ffn_norm(h)))
        return self.hook_resid_post(h + m)


_CONFIG_DEFAULT = object()


class DCFormer(nn.Module):
    def __init__(self, cfg: DCFormerConfig):
        super().__init__()
        self.config = cfg
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(TransformerBlock(cfg, i) for i in range(cfg.n_layer))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.output = nn.Linear(cfg.dim, cfg.vocab_size, bias=False)
        self.hook_embed = HookPoint(hook_name("embed"))  # (B, T, D)
        self.hook_logits = HookPoint(hook_name("logits"))  # (B, T, V)
        self._rope_cache: dict = {}
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)

    def layer_windows(self, window_size: Any = "config") -> list[int | None]:
        return self.config.layer_windows(window_size)

    def _rope(self, start: int, T: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        n = max(self.config.block_size, start + T)
        key = (n, str(device))
        if key not in self._rope_cache:  # plain cache of constants, no capture state
            assert self.config.head_dim is not None  # DCFormerConfig.__post_init__ fills it in
            with torch.inference_mode(False):  # built under a capture, the tables must still serve training
                self._rope_cache = {key: rope_tables(n, self.config.head_dim, self.config.rope_base, device)}
        cos, sin = self._rope_cache[key]
        return cos[start : start + T], sin[start : start + T]

    def forward(
        self,
        tokens: torch.Tensor,
        *,
        cache: KVCache | None = None,
        causal: bool = True,
        window_size: Any = _CONFIG_DEFAULT,
        layer_windows: Sequence[int | None] | None = None,
        attn_mask: torch.Tensor | None = None,
        rules: MaskSpec | None = None,
    ) -> torch.Tensor:
        """tokens: (B, T) int64 -> logits (B, T, V). Intermediates pass through the hook points
        (``attnviz.hooks.recording`` records them by name).

        cache: a KVCache for incremental decoding (tokens are the NEW tokens).
        causal: False drops the causal constraint (windows become |i-j| < w).
        window_size: override the local layers' window (None: every layer global).
        layer_windows: explicit per-layer windows (wins over window_size).
        attn_mask: extra boolean mask ANDed in every layer, True = may attend; (T, S), (B, T, S) or (B, 1, T, S).
        rules: the user's mask rules and score modifications (attnviz.masks.MaskSpec), applied in every layer beside
        its own causal window (never widening it: the rules' sinks see through the rules' window only).
        """
        B, T = tokens.shape
        if layer_windows is None:
            layer_windows = self.config.layer_windows("config" if window_size is _CONFIG_DEFAULT else window_size)
        if len(layer_windows) != self.config.n_layer:
            raise ValueError("layer_windows must have one entry per layer")
        start = cache.length if cache is not None else 0
        cos, sin = self._rope(start, T, tokens.device)
        h = self.hook_embed(self.tok_embeddings(tokens))  # (B, T, D)
        for i, layer in enumerate(self.layers):
            h = layer(
                h, cos, sin, window=layer_windows[i], causal=causal, attn_mask=attn_mask, rules=rules, cache=cache
            )
        return self.hook_logits(self.output(self.norm(h)))  # (B, T, V)

    def run_with_cache(
        self, tokens: torch.Tensor, names: Iterable[str] | None = None, **kw
    ) -> tuple[torch.Tensor, dict]:
        """(logits, {hook name: NumPy array of batch item 0}) for the hook points matching ``names`` (all by
        default), TransformerLens's ``run_with_cache``."""
        with torch.inference_mode(), recording(names) as recorder:
            logits = self.forward(tokens, **kw)
        return logits, {name: _numpy(value[0]) for name, value in recorder.tensors.items()}

    def hook_names(self) -> list[str]:
        """Every hook point's name, in the order of the module tree."""
        return [module.name for module in self.modules() if isinstance(module, HookPoint)]

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
