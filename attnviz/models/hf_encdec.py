"""Hugging Face encoder-decoder models (T5, BART) through the same registered attention function as ``hf.py``.

Every attention of the model records through hook points named by ``hook_name(name, layer, part)``:

    encoder.blocks.{l}.attn.hook_*          the encoder's self-attention (every source token sees every other)
    decoder.blocks.{l}.self_attn.hook_*     the decoder's masked self-attention (causal)
    decoder.blocks.{l}.cross_attn.hook_*    cross-attention: queries from the decoder, keys/values from the encoder

with hook_q, hook_k, hook_v (batch, heads, len, d_head), hook_scores (the model's own scaling and T5's relative
position bias, before the mask), hook_mask, hook_pattern, hook_z and hook_result. Its steps (``read_source``,
``decoder_logits`` ...) feed :func:`attnviz.decoding.greedy_decode`, the model's own greedy loop one token at a time
(no KV cache: each step's capture holds its full maps), as the shipped date model's do.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ..hooks import HookPoint
from ..masks import MaskSpec
from ..text import readable_token, token_style
from .base import (
    ATTENTION_HOOKS,
    AttentionWeights,
    EncoderDecoderModel,
    Encoding,
    FolderFormat,
    Notice,
    Source,
    encode_texts,
    hook_name,
    model_type,
)
from ..recorded_attention import LayerHooks
from .hf_attention import (
    ATTN_NAME,
    load_folder_weights,
    Run,
    active_run,
    get_path,
    output_hook,
    register_attnviz_attention,
)
from .hf_families import ENCODER_DECODER, EncoderDecoderFamily


PARTS = ("encoder", "decoder_self", "decoder_cross")


class HFEncoderDecoder(nn.Module, EncoderDecoderModel):
    """A Hugging Face encoder-decoder whose every attention runs through attnviz's registered function."""

    kind = "encoder-decoder"
    max_batch = 1

    # hf_model: a transformers PreTrainedModel (T5ForConditionalGeneration, BartForConditionalGeneration)
    def __init__(self, hf_model: Any, tokenizer, name: str, family: EncoderDecoderFamily):
        super().__init__()
        register_attnviz_attention()

        if hf_model.config._attn_implementation != ATTN_NAME:
            hf_model.set_attn_implementation(ATTN_NAME)
        self.hf, self.tokenizer, self.name, self.family = hf_model.eval(), tokenizer, name, family
        config = hf_model.config
        encoder_layers = list(cast(nn.ModuleList, get_path(hf_model, family.encoder_layers)))
        decoder_layers = list(cast(nn.ModuleList, get_path(hf_model, family.decoder_layers)))
        self.n_layers, self.n_decoder_layers = len(encoder_layers), len(decoder_layers)
        first = get_path(encoder_layers[0], family.self_attention)
        self.n_heads = self.n_kv_heads = getattr(first, "n_heads", None) or getattr(config, "encoder_attention_heads")
        self.d_model = config.d_model
        self.d_head = (
            getattr(first, "key_value_proj_dim", None)
            or getattr(first, "head_dim", None)
            or self.d_model // self.n_heads
        )
        limit = getattr(config, "max_position_embeddings", None) or 10**9
        tokenizer_limit = tokenizer.model_max_length if (tokenizer.model_max_length or 0) < 10**8 else 10**9
        self.max_tokens = int(min(limit, tokenizer_limit, 1024))
        self.special_tokens = frozenset(tokenizer.all_special_tokens)
        self.token_style = token_style(tokenizer)
        self.rope_base = None  # T5: relative position buckets in the scores; BART: learned positions added
        self.train_log: dict = {}
        self.hook_points = nn.ModuleDict()
        self._hooks_by_module: dict[int, LayerHooks] = {}
        self._attention: dict[tuple[str, int], nn.Module] = {}
        self._handles = []
        for part, layers, path in (
            ("encoder", encoder_layers, family.self_attention),
            ("decoder_self", decoder_layers, family.self_attention),
            ("decoder_cross", decoder_layers, family.cross_attention),
        ):
            for index, layer in enumerate(layers):
                module = get_path(layer, path)
                points = {h: self._add_hook(hook_name(h, index, part)) for h in ATTENTION_HOOKS}
                self._hooks_by_module[id(module)] = LayerHooks(  # type: ignore[misc]  # the starred 7 fill q ... z
                    *(points[h] for h in ATTENTION_HOOKS[:7]),
                    sink=HookPoint(hook_name("sink", index, part)),
                    lse=HookPoint(hook_name("lse", index, part)),
                    score_scale=HookPoint(hook_name("score_scale", index, part)),
                )
                self._handles.append(module.register_forward_hook(output_hook(self, points["result"])))
                self._attention[(part, index)] = module

    def _add_hook(self, name: str) -> HookPoint:
        point = HookPoint(name)
        self.hook_points[name.replace(".", "__")] = point
        return point

    # ----------------------------------------------------------------- the contract
    def hook(self, name: str) -> HookPoint:
        return cast(HookPoint, self.hook_points[name.replace(".", "__")])  # _add_hook puts only HookPoints there

    def kv_head_of(self, head: int) -> int:
        return head

    @property
    def device(self) -> torch.device:
        return next(self.hf.parameters()).device

    def attention_weights(self, layer: int, part: str = "encoder") -> AttentionWeights:
        module: Any = self._attention[(part, layer)]  # a transformers BartAttention or T5Attention
        if hasattr(module, "q_proj"):  # BART
            projections = (module.q_proj, module.k_proj, module.v_proj, module.out_proj)
        else:  # T5: q, k, v, o without biases
            projections = (module.q, module.k, module.v, module.o)
        return AttentionWeights.from_linear(
            *(p.weight for p in projections),
            biases=[p.bias for p in projections],
            n_heads=self.n_heads,
            n_kv_heads=self.n_heads,
        )

    def embedding_parts(self, token_ids: np.ndarray) -> dict[str, np.ndarray]:
        return {"word": self.hf.get_input_embeddings().weight.detach().float().cpu().numpy()[token_ids]}

    def notices(self, text: str, spec: MaskSpec) -> list[Notice]:
        return []

    def encode(self, texts: list[str]) -> Encoding:
        if len(texts) != 1:
            raise ValueError(f"{self.name} reads one text at a time")
        return encode_texts(self.tokenizer, texts, self.max_tokens, style=self.token_style)

    def _run(self):
        return active_run.set(Run(self, None))

    def forward(self, encoding: Encoding, spec: MaskSpec = MaskSpec()) -> torch.Tensor:
        """The encoder's last hidden state (1, S, D): its self-attention records as any model's does."""
        if spec.is_intervention:
            raise ValueError(
                f"{self.name}: an encoder-decoder model's attention takes no mask rules (causal, window, chunk, …)"
            )
        token = self._run()
        try:
            out = self.hf.get_encoder()(
                input_ids=encoding.input_ids.to(self.device), attention_mask=encoding.key_is_real.to(self.device).long()
            )
        finally:
            active_run.reset(token)
        return out.last_hidden_state

    # ----------------------------------------------------------------- its steps, for attnviz.decoding's loop
    max_new_tokens = 24

    @property
    def start_id(self) -> int:
        config = self.hf.config
        return int(config.decoder_start_token_id if config.decoder_start_token_id is not None else config.pad_token_id)

    @property
    def eos_id(self) -> int:
        return int(self.hf.config.eos_token_id)

    @contextlib.contextmanager
    def decoding(self):
        token = self._run()
        try:
            yield
        finally:
            active_run.reset(token)

    def read_source(self, text: str) -> Source:
        """The encoder over the tokenized source: its outputs and the source's attention mask."""
        encoding = self.encode([text])
        mask = encoding.key_is_real.to(self.device).long()
        memory = self.hf.get_encoder()(input_ids=encoding.input_ids.to(self.device), attention_mask=mask)
        return Source(encoding.tokens[0], encoding.input_ids[0].tolist(), encoding.special[0], (memory, mask))

    def decoder_logits(self, source: Source, ids: list[int]) -> torch.Tensor:
        memory, mask = source.state
        return self.hf(
            encoder_outputs=memory,
            attention_mask=mask,
            decoder_input_ids=torch.tensor([ids], device=self.device),
            use_cache=False,
        ).logits  # (1, k, V)

    def step_labels(self, ids: list[int]) -> tuple[list[str], list[bool]]:
        return self._labels(ids), [t in self.special_tokens for t in self.tokenizer.convert_ids_to_tokens(ids)]

    def answer(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def _labels(self, ids: list[int]) -> list[str]:
        pieces = self.tokenizer.convert_ids_to_tokens(ids)
        return [readable_token(p, self.token_style, p in self.special_tokens) for p in pieces]

    @functools.cached_property
    def itos(self) -> list[str]:
        """Every token id's label (the next-token chart), made once."""
        return self._labels(list(range(len(self.tokenizer))))


def load_encoder_decoder(path, label: str, family: EncoderDecoderFamily, device=None) -> HFEncoderDecoder:
    """A local T5 or BART folder, loaded to record (safetensors only, no remote code)."""
    hf_model, tokenizer = load_folder_weights(path, label, family.model_class, device)
    model = HFEncoderDecoder(hf_model, tokenizer, label, family)
    if device is not None:
        model.to(device)
    return model.eval()


FOLDER_FORMAT = FolderFormat(  # T5, BART: the Encoder-decoder page
    "t5-bart",
    lambda path, config: model_type(config) in ENCODER_DECODER,
    lambda config: "encoder-decoder",
    lambda path, config, name, device: load_encoder_decoder(path, name, ENCODER_DECODER[config["model_type"]], device),
)
