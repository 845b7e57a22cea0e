"""A small encoder-decoder Transformer ("Attention Is All You Need"), one readable file, nanoGPT style.

Shapes in comments: B batch, S source length, T target length, H heads, d head size,
D model width, V vocabulary.

    source ids (B, S) --embed + sinusoidal positions--> encoder blocks --> memory (B, S, D)
        encoder block:  x = x + SelfAttn(LN(x))      every source char sees every source char
                        x = x + MLP(LN(x))
    target ids (B, T), starting with <sos> --embed + positions--> decoder blocks --> logits (B, T, V)
        decoder block:  x = x + MaskedSelfAttn(LN(x))        query t sees target keys 0..t (causal)
                        x = x + CrossAttn(LN(x), memory)     queries from the decoder, keys and values
                                                             from the encoder's memory
                        x = x + MLP(LN(x))

Pre-LayerNorm (as in GPT-2/nanoGPT; the 2017 paper normalises after the residual add), no dropout.
Every attention runs through :class:`Attention`, whose named hook points are (per sentence,
batch axis included while recording), named by ``models.base.hook_name(name, layer, part)``:

    hook_q                 (B, H, Tq, d)
    hook_k, hook_v         (B, H, Tk, d)
    hook_scores            (B, H, Tq, Tk)   q·kᵀ/√d, before the mask
    hook_mask              (B, Tq, Tk) bool True = may attend
    hook_pattern           (B, H, Tq, Tk)   softmax weights, rows sum to 1
    hook_z                 (B, H, Tq, d)    pattern @ v
    hook_result            (B, Tq, D)       concat(z) @ W_O + b_O

with part "encoder" (``encoder.blocks.{l}.attn.hook_pattern``), "decoder_self"
(``decoder.blocks.{l}.self_attn.…``) or "decoder_cross" (``decoder.blocks.{l}.cross_attn.…``). Also
``encoder.hook_embed`` / ``decoder.hook_embed`` (token + position), ``{side}.blocks.{l}.hook_resid_pre`` /
``hook_resid_post`` (B, len, D), ``encoder.hook_memory`` (B, S, D, after the final LayerNorm) and
``decoder.hook_logits`` (B, T, V). Recording uses :func:`attnviz.hooks.recording` (per call, thread-safe).

:class:`DateTranslator` is the shipped date model behind the model contract (the registry's
``date-seq2seq``); :func:`attnviz.decoding.greedy_decode` runs the autoregressive loop (no KV cache: each step re-reads the
whole prefix, so each step's capture holds the full matrices) and returns the encoder's capture and every
step's, each an :class:`attnviz.capture.Capture`.
:func:`save_seq2seq` / :func:`load_seq2seq` use safetensors + JSON (no pickle).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..hooks import HookPoint
from ..masks import MaskSpec, masked_softmax
from ..paths import DATE_MODEL_DIR
from .vocab import EOS, PAD, SOS, SPECIALS, CharVocab
from .base import (
    ATTENTION_HOOKS,
    AttentionWeights,
    CheckpointError,
    EncoderDecoderModel,
    Encoding,
    FolderFormat,
    Notice,
    Source,
    hook_name,
)


# ----------------------------------------------------------------------------- config
@dataclass
class Seq2SeqConfig:
    vocab_size: int = 64  # V, shared by source and target
    d_model: int = 64  # D
    n_heads: int = 4  # H
    n_encoder_layers: int = 2
    n_decoder_layers: int = 2
    d_ff: int = 256  # hidden width of the MLP
    max_source_len: int = 24
    max_target_len: int = 12  # <sos> + 10 characters + <eos>
    norm_eps: float = 1e-5

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not a multiple of n_heads={self.n_heads}")

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Seq2SeqConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known - {"model_type"})
        if unknown:
            raise CheckpointError("model.unknown_fields", fields=unknown)
        return cls(**{k: v for k, v in data.items() if k in known})


def sinusoidal_positions(n_pos: int, d_model: int) -> torch.Tensor:
    """PE[pos, 2i] = sin(pos / 10000^(2i/D)), PE[pos, 2i+1] = cos(...): (n_pos, D), fixed, not learned."""
    pos = torch.arange(n_pos, dtype=torch.float64)[:, None]  # (P, 1)
    rates = torch.pow(10000.0, -torch.arange(0, d_model, 2, dtype=torch.float64) / d_model)  # (D/2,)
    pe = torch.zeros(n_pos, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(pos * rates)
    pe[:, 1::2] = torch.cos(pos * rates)
    return pe.float()


# ----------------------------------------------------------------------------- pieces
class Attention(nn.Module):
    """Multi-head attention: queries from ``x``, keys and values from ``source`` (``x`` itself for self-attention).

    One W_Q, W_K, W_V of size D x D each; "multi-head" = cutting their output into H slices of d = D / H.
    """

    # the hook points __init__ sets with setattr, one per ATTENTION_HOOKS name
    hook_q: HookPoint
    hook_k: HookPoint
    hook_v: HookPoint
    hook_scores: HookPoint
    hook_mask: HookPoint
    hook_pattern: HookPoint
    hook_z: HookPoint
    hook_result: HookPoint

    def __init__(self, cfg: Seq2SeqConfig, layer: int, part: str):
        super().__init__()
        self.n_heads, self.d_head = cfg.n_heads, cfg.d_head
        self.q_proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.k_proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.v_proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.o_proj = nn.Linear(cfg.d_model, cfg.d_model)
        for name in ATTENTION_HOOKS:  # "encoder" / "decoder_self" / "decoder_cross": the part of the model
            setattr(self, f"hook_{name}", HookPoint(hook_name(name, layer, part)))

    def forward(self, x: torch.Tensor, source: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        """x: (B, Tq, D); source: (B, Tk, D); allowed: (B, Tq, Tk) bool -> (B, Tq, D)."""
        B, Tq, D = x.shape
        Tk = source.shape[1]

        def split_heads(y: torch.Tensor, n: int) -> torch.Tensor:  # (B, n, D) -> (B, H, n, d)
            return y.view(B, n, self.n_heads, self.d_head).transpose(1, 2)

        q = self.hook_q(split_heads(self.q_proj(x), Tq))  # (B, H, Tq, d)
        k = self.hook_k(split_heads(self.k_proj(source), Tk))  # (B, H, Tk, d)
        v = self.hook_v(split_heads(self.v_proj(source), Tk))  # (B, H, Tk, d)
        scores = self.hook_scores(q @ k.transpose(-1, -2) / math.sqrt(self.d_head))  # (B, H, Tq, Tk)
        allowed = self.hook_mask(allowed)  # (B, Tq, Tk), the same for every head
        pattern = self.hook_pattern(masked_softmax(scores, allowed[:, None]))  # (B, H, Tq, Tk)
        z = self.hook_z(pattern @ v)  # (B, H, Tq, d)
        concat = z.transpose(1, 2).reshape(B, Tq, D)  # heads side by side again
        return self.hook_result(self.o_proj(concat))  # (B, Tq, D)


class MLP(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.fc = nn.Linear(cfg.d_model, cfg.d_ff)
        self.proj = nn.Linear(cfg.d_ff, cfg.d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.gelu(self.fc(x)))


class EncoderBlock(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig, layer: int):
        super().__init__()
        self.ln_attn = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.attn = Attention(cfg, layer, "encoder")
        self.ln_mlp = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.mlp = MLP(cfg)
        self.hook_resid_pre = HookPoint(hook_name("resid_pre", layer, "encoder"))
        self.hook_resid_post = HookPoint(hook_name("resid_post", layer, "encoder"))

    def forward(self, x: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
        x = self.hook_resid_pre(x)  # (B, S, D)
        h = self.ln_attn(x)
        x = x + self.attn(h, h, allowed)
        x = x + self.mlp(self.ln_mlp(x))
        return self.hook_resid_post(x)


class DecoderBlock(nn.Module):
    def __init__(self, cfg: Seq2SeqConfig, layer: int):
        super().__init__()
        self.ln_self = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.self_attn = Attention(cfg, layer, "decoder_self")
        self.ln_cross = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.cross_attn = Attention(cfg, layer, "decoder_cross")
        self.ln_mlp = nn.LayerNorm(cfg.d_model, eps=cfg.norm_eps)
        self.mlp = MLP(cfg)
        self.hook_resid_pre = HookPoint(hook_name("resid_pre", layer, "decoder"))
        self.hook_resid_mid = HookPoint(hook_name("resid_mid", layer, "decoder"))  # after self-, before cross-attention
        self.hook_resid_post = HookPoint(hook_name("resid_post", layer, "decoder"))

    def forward(
        self, x: torch.Tensor, memory: torch.Tensor, self_allowed: torch.Tensor, cross_allowed: torch.Tensor
    ) -> torch.Tensor:
        x = self.hook_resid_pre(x)  # (B, T, D)
        h = self.ln_self(x)
        x = x + self.self_attn(h, h, self_allowed)  # masked: position t reads target positions <= t
        x = self.hook_resid_mid(x)
        x = x + self.cross_attn(self.ln_cross(x), memory, cross_allowed)  # Q from here, K and V from the encoder
        x = x + self.mlp(self.ln_mlp(x))
        return self.hook_resid_post(x)


# ----------------------------------------------------------------------------- the model
class Seq2Seq(nn.Module):
    kind = "encoder-decoder"
    positions: torch.Tensor  # (P, D), the buffer __init__ registers

    def __init__(self, cfg: Seq2SeqConfig):
        super().__init__()
        self.cfg = cfg
        D = cfg.d_model
        self.src_embed = nn.Embedding(cfg.vocab_size, D)
        self.tgt_embed = nn.Embedding(cfg.vocab_size, D)
        n_pos = max(cfg.max_source_len, cfg.max_target_len)
        self.register_buffer("positions", sinusoidal_positions(n_pos, D), persistent=False)  # (P, D)
        self.encoder_blocks = nn.ModuleList(EncoderBlock(cfg, l) for l in range(cfg.n_encoder_layers))
        self.encoder_ln = nn.LayerNorm(D, eps=cfg.norm_eps)
        self.decoder_blocks = nn.ModuleList(DecoderBlock(cfg, l) for l in range(cfg.n_decoder_layers))
        self.decoder_ln = nn.LayerNorm(D, eps=cfg.norm_eps)
        self.lm_head = nn.Linear(D, cfg.vocab_size)
        self.hook_encoder_embed = HookPoint(hook_name("embed", part="encoder"))
        self.hook_memory = HookPoint(hook_name("memory", part="encoder"))
        self.hook_decoder_embed = HookPoint(hook_name("embed", part="decoder"))
        self.hook_logits = HookPoint(hook_name("logits", part="decoder"))
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, 0.0, 0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    @property
    def n_heads(self) -> int:
        return self.cfg.n_heads

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def _embed(self, table: nn.Embedding, ids: torch.Tensor) -> torch.Tensor:
        # The token vectors are scaled by sqrt(D), as in the paper, so the fixed positions do not drown them.
        return table(ids) * math.sqrt(self.cfg.d_model) + self.positions[: ids.shape[1]]

    def encode(self, src: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """src: (B, S) ids, <pad> at the end of shorter rows -> (memory (B, S, D), src_is_real (B, S))."""
        if src.shape[1] > self.cfg.max_source_len:
            raise ValueError(f"source has {src.shape[1]} positions; the model reads at most {self.cfg.max_source_len}")
        src_is_real = src != PAD  # (B, S)
        allowed = src_is_real[:, None, :].expand(-1, src.shape[1], -1)  # (B, S, S): padding mask only
        x = self.hook_encoder_embed(self._embed(self.src_embed, src))  # (B, S, D)
        for block in self.encoder_blocks:
            x = block(x, allowed)
        return self.hook_memory(self.encoder_ln(x)), src_is_real

    def decode(self, tgt: torch.Tensor, memory: torch.Tensor, src_is_real: torch.Tensor) -> torch.Tensor:
        """tgt: (B, T) ids starting with <sos>; memory: (B, S, D) -> logits (B, T, V) for the NEXT token."""
        T = tgt.shape[1]
        if T > self.cfg.max_target_len:
            raise ValueError(f"target has {T} positions; the model reads at most {self.cfg.max_target_len}")
        causal = torch.ones(T, T, dtype=torch.bool, device=tgt.device).tril()  # (T, T): key j <= query i
        self_allowed = causal[None] & (tgt != PAD)[:, None, :]  # (B, T, T)
        cross_allowed = src_is_real[:, None, :].expand(-1, T, -1)  # (B, T, S): every real source char
        x = self.hook_decoder_embed(self._embed(self.tgt_embed, tgt))  # (B, T, D)
        for block in self.decoder_blocks:
            x = block(x, memory, self_allowed, cross_allowed)
        return self.hook_logits(self.lm_head(self.decoder_ln(x)))  # (B, T, V)

    def forward(self, src: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits (B, T, V) where position t predicts tgt[:, t + 1]."""
        memory, src_is_real = self.encode(src)
        return self.decode(tgt, memory, src_is_real)


# ----------------------------------------------------------------------------- batching and decoding
def pad_batch(rows: list[list[int]], length: int | None = None) -> torch.Tensor:
    """Right-pad id lists with <pad> into a (B, max_len) long tensor."""
    length = length or max(len(r) for r in rows)
    out = torch.full((len(rows), length), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return out


@torch.inference_mode()
def greedy_batch(model: Seq2Seq, vocab: CharVocab, texts: list[str], max_new: int | None = None) -> list[str]:
    """Greedy decoding of many sources at once (no captures): the fast path for evaluation."""
    model.eval()
    max_new = max_new or model.cfg.max_target_len - 1
    device = next(model.parameters()).device
    src = pad_batch([vocab.encode(t) for t in texts]).to(device)
    memory, src_is_real = model.encode(src)
    out = torch.full((len(texts), 1), SOS, dtype=torch.long, device=device)
    done = torch.zeros(len(texts), dtype=torch.bool, device=device)
    for _ in range(max_new):
        next_id = model.decode(out, memory, src_is_real)[:, -1].argmax(-1)  # (B,)
        next_id = torch.where(done, torch.full_like(next_id, PAD), next_id)
        out = torch.cat([out, next_id[:, None]], dim=1)
        done |= next_id == EOS
        if bool(done.all()):
            break
    return [vocab.decode(row[1:].tolist()) for row in out.cpu()]


class DateTranslator(nn.Module, EncoderDecoderModel):
    """The shipped date model (or any directory :func:`save_seq2seq` wrote) behind the model contract.

    ``forward(encoding, spec)`` runs the encoder (its hook points record as any model's do);
    its steps (``read_source``, ``decoder_logits`` ...) feed :func:`attnviz.decoding.greedy_decode`, which returns a
    :class:`~attnviz.decoding.Decoding`.
    """

    kind = "encoder-decoder"
    max_batch = 1
    task = "dates"  # reads dates only: the Encoder-decoder page offers its formats and checks its answer

    def __init__(self, seq2seq: Seq2Seq, vocab: CharVocab, name: str = "seq2seq", train_log: dict | None = None):
        super().__init__()
        self.seq2seq, self.vocab = seq2seq.eval(), vocab
        cfg = seq2seq.cfg
        self.name = name
        self.cfg = cfg
        self.n_layers, self.n_decoder_layers = cfg.n_encoder_layers, cfg.n_decoder_layers
        self.max_new_tokens = cfg.max_target_len - 1  # the decoder's positions, less its start token
        self.n_heads = self.n_kv_heads = cfg.n_heads
        self.d_model, self.d_head = cfg.d_model, cfg.d_head
        self.max_tokens = cfg.max_source_len
        self.special_tokens = frozenset(SPECIALS)
        self.rope_base = None  # fixed sinusoidal positions, added to the embeddings
        self.train_log = train_log or {}  # how it was trained (command, seed, held-out accuracy), for the page
        self.hook_points = {m.name: m for m in seq2seq.modules() if isinstance(m, HookPoint)}

    @classmethod
    def load(
        cls, directory: str | os.PathLike = DATE_MODEL_DIR, name: str | None = None, device=None
    ) -> DateTranslator:
        """A directory :func:`save_seq2seq` wrote (the shipped one by default), with its train_log.json if any."""
        directory = Path(directory)
        seq2seq, vocab = load_seq2seq(directory, device=str(device or "cpu"))
        try:
            train_log = json.loads((directory / "train_log.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            train_log = {}
        return cls(seq2seq, vocab, name or directory.name, train_log)

    @property
    def device(self) -> torch.device:
        return next(self.seq2seq.parameters()).device

    @property
    def itos(self) -> list[str]:
        """Every token id's label (the next-token chart)."""
        return self.vocab.itos

    def hook(self, name: str) -> HookPoint:
        return self.hook_points[name]

    def kv_head_of(self, head: int) -> int:
        return head

    def notices(self, text: str, spec: MaskSpec) -> list[Notice]:
        return []  # the Encoder-decoder page checks a date itself (tasks.check_input)

    def attention_weights(self, layer: int, part: str = "encoder") -> AttentionWeights:
        """``part``: "encoder" (its self-attention), "decoder_self" or "decoder_cross"."""
        blocks = self.seq2seq.encoder_blocks if part == "encoder" else self.seq2seq.decoder_blocks
        attention = getattr(
            blocks[layer], {"encoder": "attn", "decoder_self": "self_attn", "decoder_cross": "cross_attn"}[part]
        )
        projections = (attention.q_proj, attention.k_proj, attention.v_proj, attention.o_proj)
        return AttentionWeights.from_linear(
            *(p.weight for p in projections),
            biases=[p.bias for p in projections],
            n_heads=self.n_heads,
            n_kv_heads=self.n_heads,
        )

    def embedding_parts(self, token_ids: np.ndarray) -> dict[str, np.ndarray]:
        """The source characters' rows, scaled by √D as the encoder scales them, and the fixed sinusoidal positions."""
        word = self.seq2seq.src_embed.weight.detach().float().cpu().numpy()[token_ids] * math.sqrt(self.d_model)
        return {"word": word, "position": self.seq2seq.positions[: len(token_ids)].cpu().numpy()}

    def encode(self, texts: list[str]) -> Encoding:
        if len(texts) != 1:
            raise ValueError("the date model reads one text at a time")
        full = len(texts[0])
        text = texts[0][: self.max_tokens]
        ids = torch.tensor([self.vocab.encode(text)], dtype=torch.long)
        return Encoding(
            input_ids=ids,
            key_is_real=ids != PAD,
            token_type_ids=torch.zeros_like(ids),
            tokens=[list(text)],
            special=[[False] * len(text)],
            truncated=[full > self.max_tokens],
            full_lengths=[full],
        )

    def forward(self, encoding: Encoding, spec: MaskSpec = MaskSpec()) -> torch.Tensor:
        """The encoder's memory (1, S, D). Its self-attention sees every source character: no mask to add."""
        if spec.is_intervention:
            raise ValueError("the date model's encoder takes no mask rules (causal, window, chunk, …)")
        memory, _ = self.seq2seq.encode(encoding.input_ids.to(self.device))
        return memory

    # ----------------------------------------------------------------- its steps, for attnviz.decoding's loop
    start_id, eos_id = SOS, EOS

    def decoding(self):
        return contextlib.nullcontext()

    def read_source(self, text: str) -> Source:
        """The encoder over the source characters: its memory (1, S, D) and which positions are real."""
        ids = self.vocab.encode(text)
        memory, src_is_real = self.seq2seq.encode(torch.tensor([ids], dtype=torch.long, device=self.device))
        tokens = list(text)
        return Source(tokens, ids, [t in SPECIALS for t in tokens], (memory, src_is_real))

    def decoder_logits(self, source: Source, ids: list[int]) -> torch.Tensor:
        return self.seq2seq.decode(
            torch.tensor([ids], dtype=torch.long, device=self.device), *source.state
        )  # (1, k, V)

    def step_labels(self, ids: list[int]) -> tuple[list[str], list[bool]]:
        labels = [self.vocab.itos[i] for i in ids]
        return labels, [t in SPECIALS for t in labels]

    def answer(self, ids: list[int]) -> str:
        return self.vocab.decode(ids)


# ----------------------------------------------------------------------------- save / load
def save_seq2seq(model: Seq2Seq, vocab: CharVocab, out_dir: str | os.PathLike) -> None:
    """Write ``model.safetensors``, ``config.json`` and ``vocab.json`` into ``out_dir``."""
    from safetensors.torch import save_file

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    with open(out / "config.json", "w", encoding="utf-8") as f:
        json.dump({"model_type": "attnviz-seq2seq", **model.cfg.to_dict()}, f, indent=2)
    vocab.save(out / "vocab.json")


def load_seq2seq(path: str | os.PathLike, device: str = "cpu") -> tuple[Seq2Seq, CharVocab]:
    """Load a directory written by :func:`save_seq2seq` (safetensors + JSON only, no pickle)."""
    from safetensors.torch import load_file

    path = Path(path)
    for name in ("model.safetensors", "config.json", "vocab.json"):
        if not (path / name).is_file():
            raise CheckpointError("model.missing_file", name=path, file=name, script="scripts/train_seq2seq.py")
    with open(path / "config.json", encoding="utf-8") as f:
        cfg = Seq2SeqConfig.from_dict(json.load(f))
    vocab = CharVocab.load(path / "vocab.json")
    if len(vocab) != cfg.vocab_size:
        raise CheckpointError("model.vocab_size", name=path, found=len(vocab), expected=cfg.vocab_size)
    model = Seq2Seq(cfg)
    state = load_file(str(path / "model.safetensors"))
    expected = model.state_dict()
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError("model.weights_mismatch", name=path, missing=missing[:5], unexpected=unexpected[:5])
    for name, tensor in state.items():
        if tensor.shape != expected[name].shape:
            raise CheckpointError(
                "model.weight_shape",
                name=path,
                tensor=name,
                found=tuple(tensor.shape),
                expected=tuple(expected[name].shape),
            )
    model.load_state_dict(state)
    return model.to(device).eval(), vocab


DEFAULT_DIR = DATE_MODEL_DIR


FOLDER_FORMAT = FolderFormat(  # a folder save_seq2seq wrote (scripts/train_seq2seq.py)
    "attnviz-seq2seq",
    lambda path, config: config.get("model_type") == "attnviz-seq2seq",
    lambda config: "encoder-decoder",
    lambda path, config, name, device: DateTranslator.load(path, name=name, device=device),
)
