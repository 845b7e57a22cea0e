"""The capture layer: one forward pass in, a plain mapping of named NumPy arrays out.

Names follow TransformerLens (``blocks.{layer}.attn.hook_pattern``); shapes are per sentence:

    blocks.{l}.attn.hook_q / hook_k / hook_v   (heads, seq, d_head)
    blocks.{l}.attn.hook_scores                (heads, seq, seq)   q·kᵀ/√d_head, before any mask
    blocks.{l}.attn.hook_mask                  (seq, seq) bool     True = may attend
    blocks.{l}.attn.hook_pattern               (heads, seq, seq)   softmax weights, rows sum to 1
    blocks.{l}.attn.hook_z                     (heads, seq, d_head) pattern @ v
    blocks.{l}.hook_resid_post                 (seq, d_model)      the layer's output
    hook_embed                                 (seq, d_model)      embeddings fed to layer 0
    tokens, token_ids                          (seq,)
"""

from __future__ import annotations

import fnmatch
import functools
import os
import threading
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from .hooks import HookPoint, StopForward, is_pattern, recording, to_numpy
from .masks import MaskSpec
from .models.base import AttentionModel, hook_name
from .models import DEFAULT_MODEL, load_model
from .text import CleanText, InputError, clean_text, document_boundaries, document_starts
from . import tiles


class Capture(dict):
    """name -> np.ndarray for one sentence, plus what a viewer needs to label and outline it.

    The one capture type of every page: the DCMHA views (``analysis`` of compose matrices, stage maps) and the
    decoding views are functions over it.
    """

    def __init__(
        self,
        arrays,
        *,
        model_name,
        n_layers,
        n_heads,
        spec,
        special,
        truncated,
        full_length,
        notices=(),
        layer_windows=None,
        causal=None,
        query_block=None,
        loss=None,
        key_is_real=None,
        kv_heads=None,
        own_windows=None,
    ):
        super().__init__(arrays)
        self.model_name = model_name
        self.n_layers = n_layers
        self.n_heads = n_heads
        self.spec = spec
        self.special = np.asarray(special, dtype=bool)  # [CLS]/[SEP]/[PAD] positions
        self.truncated = truncated
        self.full_length = full_length
        self.notices = list(notices)
        # what the forward applied: each layer's window (None = global; the model's own narrowed by the spec's)
        # and whether attention was causal, so figures outline exactly that
        self.layer_windows = list(layer_windows) if layer_windows is not None else [spec.window] * n_layers
        self.causal = spec.causal if causal is None else causal
        self.query_block = query_block  # DCFormer computes attention in blocks of this many queries (not a mask)
        self.loss = loss  # a language model's mean next-token loss on this text (nats), when asked for
        # False at padding: with the mask rule above (causal, layer_windows, spec.chunk) it is the whole mask
        self.key_is_real = np.ones(len(self.special), bool) if key_is_real is None else np.asarray(key_is_real, bool)
        # the model's own structure, for figures that outline it: each query head's K/V head (grouped-query
        # attention) and each layer's trained window before any user window (None: unknown, nothing drawn)
        self.kv_heads = None if kv_heads is None else [int(h) for h in kv_heads]
        self.own_windows = None if own_windows is None else list(own_windows)
        self.output: np.ndarray | None = None  # the model's output, when asked for (run_capture's keep_output)

    @functools.cached_property
    def tokens(self) -> list[str]:  # once per capture: a long text's pages ask for them many times a run
        return [str(t) for t in self["tokens"]]

    def pattern(self, layer: int) -> np.ndarray:
        return self[hook_name("pattern", layer)]

    def scores(self, layer: int) -> np.ndarray:
        return self[hook_name("scores", layer)]

    def mask(self, layer: int) -> np.ndarray:
        return self[hook_name("mask", layer)]

    # A linear capture (``capture(..., full=False)``, or a long text) holds q, k, v and each row's log-sum-exp, not
    # the (heads, T, T) maps: any map asked for by name is computed exactly from those (attnviz.tiles),
    # block by block, and not kept; unrecorded scores come from q and k in any capture that holds them. Views of a
    # long text ask for tiles and downsampled maps instead. ``in``, ``[]`` and ``get`` agree: a name is in the
    # capture when ``cap[name]`` gives its array, recorded or computed; :meth:`recorded` asks what is stored (as
    # iterating, ``keys()`` and ``len`` do).
    def __missing__(self, name: str) -> np.ndarray:
        if not self._computable(name):
            raise KeyError(name)
        layer, kind = _map_name(name)
        assert layer is not None  # _computable holds only for a map's name
        n = len(self.key_is_real)
        if kind == "pattern":
            return tiles.full_pattern(self, layer)
        if kind == "mask":
            return tiles.allowed_tile(self, layer, slice(0, n), slice(0, n))
        if kind in ("scores_composed", "probs"):  # a DCFormer's middle stages, a block of rows at a time
            stage = "composed" if kind == "scores_composed" else "probs"
            return np.concatenate(
                [tiles.stage_tiles(self, layer, rows, slice(0, n))[stage] for rows in tiles.row_blocks(0, n)], axis=1
            )
        heads = self[hook_name("q", layer)].shape[0]  # scores need only q, k and the scale, whatever else is stored
        return np.stack([tiles.scores_tile(self, layer, head, slice(0, n), slice(0, n)) for head in range(heads)])

    def __contains__(self, name) -> bool:
        """``cap[name]`` gives an array: it is recorded, or a map computed exactly from what is."""
        return dict.__contains__(self, name) or self._computable(name)

    def get(self, name, default=None):
        """``cap[name]``, computed like ``[]`` when it can be (``dict.get`` would silently skip the computation)."""
        try:
            return self[name]
        except KeyError:
            return default

    def recorded(self, name: str) -> bool:
        """The array is stored (a computed map never is)."""
        return dict.__contains__(self, name)

    def _computable(self, name: str) -> bool:
        layer, kind = _map_name(name)
        if layer is None:
            return False
        if kind == "scores":
            return self.holds_scores(layer)
        if kind in ("scores_composed", "probs"):  # a DCFormer's middle stages need its compose weights too
            return self.is_linear(layer) and dict.__contains__(self, hook_name("pre_qw1", layer))
        return self.is_linear(layer)

    def holds_scores(self, layer: int) -> bool:
        """``layer``'s raw scores are recorded, or exactly computable here from its q and k."""
        return dict.__contains__(self, hook_name("scores", layer)) or all(
            dict.__contains__(self, hook_name(part, layer)) for part in ("q", "k", "score_scale")
        )

    def is_linear(self, layer: int = 0) -> bool:
        """True when ``layer``'s maps are not stored but computed from q, k and the row normalisers."""
        return not dict.__contains__(self, hook_name("pattern", layer)) and all(
            dict.__contains__(self, hook_name(part, layer)) for part in ("q", "k", "lse", "score_scale")
        )

    def full_bytes(self) -> int:
        """What every layer's pattern, scores and mask would cost stored whole (float32, bool): T² per head."""
        n = len(self.key_is_real)
        return self.n_layers * (2 * self.n_heads * n * n * 4 + n * n)

    def with_arrays(self, arrays, positions: slice | None = None) -> Capture:
        """The same sentence, mask and labels over other arrays (one stage in place of another, another capture's
        q and k beside these maps); ``positions``: only those tokens' labels and padding (a region of a long text)."""
        keep = slice(None) if positions is None else positions
        return Capture(
            arrays,
            model_name=self.model_name,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            spec=self.spec,
            special=self.special[keep],
            truncated=self.truncated,
            full_length=self.full_length,
            notices=self.notices,
            layer_windows=self.layer_windows,
            causal=self.causal,
            query_block=self.query_block,
            loss=self.loss,
            key_is_real=self.key_is_real[keep],
            kv_heads=self.kv_heads,
            own_windows=self.own_windows,
        )

    def save_npz(self, path) -> None:
        np.savez(path, **self)


def _map_name(name: str) -> tuple[int | None, str]:
    """(layer, kind) of a (T × T) map's hook name (pattern, scores, mask; a DCFormer's scores_composed and probs), else
    (None, "")."""
    parts = name.split(".")
    if len(parts) == 4 and parts[0] == "blocks" and parts[2] == "attn" and parts[1].isdigit():
        kind = parts[3].removeprefix("hook_")
        if kind in ("pattern", "scores", "mask", "scores_composed", "probs"):
            return int(parts[1]), kind
    return None, ""


# The one rule for whole or linear: a capture stores its (heads, T, T) maps whole while those it records (patterns,
# scores) take at most this many MB, else what is linear in the text (q, k, v, z, the row normalisers), from which any
# map is computed exactly on request. MiniLM's 512 tokens: 75 MB of patterns, whole; the shipped Mistral-architecture
# model's 8,192 characters would need 4.3 GB, and take 69 MB linear. ``capture`` and the pages (ui.session) both ask
# :func:`stores_whole`; ATTNVIZ_LINEAR_ABOVE_MB sets it for a server.
WHOLE_MAPS_UP_TO_MB = int(os.environ.get("ATTNVIZ_LINEAR_ABOVE_MB", "128"))


def maps_bytes(model: AttentionModel, batch: int, seq: int, hooks: Iterable[str] | None = None) -> int:
    """Bytes of the float (heads, seq, seq) maps (patterns, scores) a capture recording ``hooks`` (names or patterns;
    None: every hook point) of ``batch`` texts of ``seq`` tokens would hold, known before running it."""
    names = [hook_name(kind, layer) for layer in range(model.n_layers) for kind in ("pattern", "scores")]
    wanted = names if hooks is None else [n for n in names if any(fnmatch.fnmatchcase(n, h) for h in hooks)]
    return batch * len(wanted) * model.n_heads * seq**2 * 4


def stores_whole(model: AttentionModel, batch: int, seq: int, hooks: Iterable[str] | None = None) -> bool:
    """Whether a capture recording ``hooks`` stores its maps whole (else linear): the rule above."""
    return maps_bytes(model, batch, seq, hooks) <= WHOLE_MAPS_UP_TO_MB * 2**20


def linear_hooks(model: AttentionModel) -> list[str]:
    """What a linear capture records: per layer q, k, v, z, each row's log-sum-exp and the score scale (and a
    DCFormer's per-token compose weights), the residual stream, the embeddings: O(T·d), never (T × T)."""
    names = tiles.linear_hooks(range(model.n_layers), dcmha=model.use_dcmha)
    return names + [hook_name(part, "*") for part in ("v", "z", "resid_post")] + [hook_name("embed")]


def exact_names(model: AttentionModel, hooks: Iterable[str] | None) -> tuple[str, ...] | None:
    """``hooks`` (names or patterns such as ``blocks.*.attn.hook_pattern``) as the exact names of ``model``'s hook
    points they match: the forward then stops once the last of them is recorded (every layer's maps: the last
    layer's feed-forward is never computed). Patterns stay as they are for a model whose points cannot be listed."""
    if hooks is None:
        return None
    hooks = tuple(hooks)
    if not any(map(is_pattern, hooks)) or not isinstance(model, torch.nn.Module):
        return hooks
    points = [m.name for m in model.modules() if isinstance(m, HookPoint)]
    return tuple(name for name in dict.fromkeys(points) if any(fnmatch.fnmatchcase(name, h) for h in hooks))


def all_but_maps(model: AttentionModel) -> list[str]:
    """Every hook point of ``model`` except the (T × T) maps (scores, pattern, mask, a DCFormer's middle stages): what
    is linear in the text, from which tiles compute any map exactly (its q, k, lse and score scale are among them)."""
    return [name for name in exact_names(model, ("*",)) or () if _map_name(name)[0] is None]


def documents_spec(model: AttentionModel, clean: CleanText, spec: MaskSpec, separator: str | None = None) -> MaskSpec:
    """``spec`` with the text split into documents for ``model``'s tokens (packed training sequences): at the blank
    lines it was typed with, or at each ``separator`` (attnviz.text.document_boundaries). A text of one document
    leaves ``spec`` without documents."""
    encoding = model.encode([clean.text])
    if encoding.offsets is None:
        raise InputError("mask.no_offsets", model=model.name)
    return replace(spec, documents=document_starts(encoding.offsets[0], document_boundaries(clean, separator)))


def run_capture(
    model: AttentionModel,
    texts: list[str],
    spec: MaskSpec = MaskSpec(),
    hooks: Iterable[str] | None = None,
    *,
    with_loss: bool = False,
    keep_output: bool = False,
    **options,
) -> list[Capture]:
    """Run ``model`` on one padded batch with the hook points matching ``hooks`` recorded (all by default);
    one Capture per text (padding kept, and masked).

    ``options`` go to the model's forward (the character models' ``local_window`` and ``causal``);
    ``with_loss``: also each text's mean next-token loss (language models; the whole forward then runs).
    ``keep_output``: also the model's output per input as ``Capture.output`` (an image classifier's logits).
    """
    if model.patch_grid is not None and spec.grid is None:  # an image: the capture states its patch grid
        spec = replace(spec, grid=model.patch_grid)
    encoding = model.encode(texts)
    output = None
    whole = with_loss or keep_output
    with torch.inference_mode(), recording(exact_names(model, hooks), stop_when_done=not whole) as recorder:
        try:
            output = model(encoding, spec, **options)
        except StopForward:  # exact hook names, all recorded (one layer's scores): the later layers are not needed
            pass
    local = {"local_window": options["local_window"]} if "local_window" in options else {}
    windows = model.layer_windows(spec.window, **local)
    causal = options.get("causal", True) or spec.causal if model.kind == "decoder" else spec.causal
    captures = []
    for b, tokens in enumerate(encoding.tokens):
        arrays = {name: to_numpy(tensor[b]) for name, tensor in recorder.tensors.items()}
        arrays["tokens"] = np.array(tokens, dtype=str)
        arrays["token_ids"] = encoding.input_ids[b].numpy().astype(np.int64)
        if encoding.pieces is not None:  # the vocabulary's own strings, beside the readable tokens
            arrays["token_pieces"] = np.array(encoding.pieces[b], dtype=str)
        loss = None
        if with_loss and output is not None:
            loss = next_token_loss(output[b], encoding.input_ids[b], encoding.key_is_real[b])
        captures.append(
            Capture(
                arrays,
                model_name=model.name,
                n_layers=model.n_layers,
                n_heads=model.n_heads,
                spec=spec,
                special=encoding.special[b],
                key_is_real=encoding.key_is_real[b].numpy(),
                truncated=encoding.truncated[b],
                full_length=encoding.full_lengths[b],
                layer_windows=windows,
                causal=causal,
                query_block=model.query_block,
                loss=loss,
                kv_heads=[model.kv_head_of(h) for h in range(model.n_heads)],
                own_windows=model.layer_windows(None, **local),  # as applied: a lesson may resize them
            )
        )
        if keep_output and output is not None:
            captures[-1].output = to_numpy(output[b])
    return captures


def next_token_losses(logits: torch.Tensor, ids: torch.Tensor, real: torch.Tensor) -> np.ndarray:
    """Cross-entropy (nats) of predicting each real token from the ones before it: (n - 1,) for n real tokens,
    entry t for the token at position t + 1. logits: (seq, vocab); ids, real: (seq,)."""
    n = int(real.sum())
    if n < 2:
        return np.zeros(0, dtype=np.float32)
    losses = torch.nn.functional.cross_entropy(logits[: n - 1].float().cpu(), ids[1:n].cpu(), reduction="none")
    return losses.numpy().astype(np.float32)


def next_token_loss(logits: torch.Tensor, ids: torch.Tensor, real: torch.Tensor) -> float:
    """Mean cross-entropy (nats) of predicting each real token from the ones before it; NaN for one token.

    logits: (seq, vocab); ids, real: (seq,).
    """
    losses = next_token_losses(logits, ids, real)
    return float(losses.astype(np.float64).mean()) if len(losses) else float("nan")


def position_losses(model: AttentionModel, text: str, spec: MaskSpec) -> np.ndarray:
    """A language model's loss at every position of ``text`` under ``spec`` (:func:`next_token_losses` of one
    forward, nothing recorded)."""
    encoding = model.encode([text])
    with torch.inference_mode():
        logits = model(encoding, spec)[0]
    return next_token_losses(logits, encoding.input_ids[0], encoding.key_is_real[0])


_models: dict[str, object] = {}
_models_lock = threading.Lock()


def get_model(name: str = DEFAULT_MODEL):
    """Load a model once per process (for scripts; the app uses Streamlit's cache)."""
    with _models_lock:
        if name not in _models:
            _models[name] = load_model(name)
        return _models[name]


def capture(
    text: str | None = None,
    model: str | object = DEFAULT_MODEL,
    *,
    image: Any = None,
    window_2d: int | None = None,
    blocks_2d: int | None = None,
    causal: bool = False,
    window: int | None = None,
    chunk: int | None = None,
    prefix: int | None = None,
    sinks: int | None = None,
    dilation: int | None = None,
    alibi: bool = False,
    softcap: float | None = None,
    documents: bool | str = False,
    hooks: Iterable[str] | None = None,
    full: bool | None = None,
) -> Capture:
    """Capture every head of every layer for one sentence.

    >>> cap = attnviz.capture("The cat sat on the mat.", causal=True)
    >>> cap["blocks.0.attn.hook_pattern"].shape   # (heads, seq, seq)

    ``full``: record every (heads, T, T) map (True), or only what is linear in the text (False: q, k, v, z, the
    softmax's row normalisers; any map is then computed exactly when asked for, by name or as a tile with
    :mod:`attnviz.tiles`). Default: whole while its maps stay within ``WHOLE_MAPS_UP_TO_MB`` (:func:`stores_whole`).
    ``cap.full_bytes()`` says what the whole maps would cost. ``hooks`` (names or patterns) overrides both.

    The mask rules (:class:`attnviz.masks.MaskSpec`, applied inside the forward, narrowing the model's own mask):
    ``causal``, ``window``, ``chunk``, ``prefix`` (prefix-LM over the first P tokens), ``sinks`` (the first S keys
    seen through the window, dilation and chunks), ``dilation`` (keys at distances that are multiples of D),
    ``documents`` (True: the text split into documents at blank lines; a string: at each occurrence of it; a query
    sees only its own document's keys); and the score modifications ``alibi`` (ALiBi's per-head distance penalty) and ``softcap`` (C · tanh(score / C)).

    ``image`` (a path, the file's bytes or a PIL image; :func:`attnviz.images.read_image`) with a vision model
    (``model``: a ViT, DeiT or DINOv2 folder): [CLS] and a token per patch, the same hook names. Its 2-D rules:
    ``window_2d`` (a patch sees the patches within r rows and columns) and ``blocks_2d`` (k × k tiles); ``causal``
    is raster order.
    """
    model_obj: Any = get_model(model) if isinstance(model, str) else model
    if image is not None or model_obj.kind == "vision":
        return _capture_image(model_obj, image, hooks, full, causal=causal, window_2d=window_2d, blocks_2d=blocks_2d)
    if text is None:
        raise InputError("msg.no_text")
    cleaned = clean_text(text)
    if hooks is None and full is not True:
        tokens = model_obj.encode([cleaned.text]).input_ids.shape[1]
        if full is False or not stores_whole(model_obj, 1, tokens, hooks):
            hooks = linear_hooks(model_obj)
    spec = MaskSpec(causal, window, chunk, prefix=prefix, sinks=sinks, dilation=dilation, alibi=alibi, softcap=softcap)
    if documents:
        spec = documents_spec(model_obj, cleaned, spec, None if documents is True else documents)
    (result,) = run_capture(model_obj, [cleaned.text], spec, hooks)
    result.notices = cleaned.notices + result.notices
    return result


def _capture_image(model: Any, image: Any, hooks, full, *, causal: bool, window_2d, blocks_2d) -> Capture:
    """One image through a vision model (:func:`capture`'s image path)."""
    from .images import read_image

    if model.kind != "vision":
        raise InputError("model.reads_text", name=model.name)
    if image is None:
        raise InputError("model.needs_image", name=model.name)
    picture = read_image(image)
    spec = MaskSpec(causal, grid=model.patch_grid, window_2d=window_2d, blocks_2d=blocks_2d)
    if hooks is None and full is not True and (full is False or not stores_whole(model, 1, model.max_tokens)):
        hooks = linear_hooks(model)
    (result,) = run_capture(model, [picture], spec, hooks)
    result.notices = list(model.notices("", spec))
    return result
