"""Tiny random Hugging Face models of any family, built at test time and saved to a temporary folder with a
byte-level BPE tokenizer trained in-process: nothing is downloaded. The ``build`` fixture (registered for every
test in tests/conftest.py) returns ``build(family)`` -> :class:`Built`: the folder, the config, attnviz's adapter
and transformers' own eager model of the same checkpoint.

The six families of :data:`MODEL_CLASSES` have hand-written configs that put each feature where the tests look
for it (Qwen2's first layer full and the rest sliding, Gemma 2's softcap, gpt-oss's sinks); any other family is
built from its own config class at test size by :mod:`attnviz.models.tiny`, with :data:`FAMILY_SETTINGS` where a
family's default is not the architecture students meet (Falcon's new decoder architecture).
"""

from __future__ import annotations

import pytest
import torch

from attnviz.models import load_model
from attnviz.models.hf import family_of, load_hf_model
from attnviz.models.tiny import WINDOW, byte_tokenizer, tiny_model

MODEL_CLASSES = {
    "gpt2": "GPT2LMHeadModel",
    "llama": "LlamaForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "mistral": "MistralForCausalLM",
    "gemma2": "Gemma2ForCausalLM",
    "gpt_oss": "GptOssForCausalLM",
}
# The families students read about this year: the seven attnviz began with, then twelve found by discovery
# (attnviz.models.hf_families). Each must record exactly; every family test parameter reads this one list.
NAMED_FAMILIES = [
    *MODEL_CLASSES,
    "distilbert",  # the first seven
    "phi3",
    "qwen3",
    "gemma3_text",
    "olmo2",
    "falcon",
    "stablelm",
    "cohere",
    "granite",
    "starcoder2",
    "smollm3",
    "gpt_neox",
    "mixtral",
]
# The architecture a family is known by, where its config's defaults build another one.
FAMILY_SETTINGS = {
    "falcon": dict(new_decoder_architecture=True, num_kv_heads=2),  # Falcon 2 / 3: K/V groups, parallel block
}


# -------------------------------------------------------------------------------------------- building
def _config(family: str, vocab: int, ids: dict):
    import transformers

    common = dict(vocab_size=vocab, initializer_range=0.3, **ids)
    decoder = dict(common, hidden_size=32, intermediate_size=64, num_attention_heads=4, max_position_embeddings=64)
    if family == "gpt2":
        return transformers.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, **common)
    if family == "llama":
        return transformers.LlamaConfig(num_hidden_layers=3, num_key_value_heads=2, **decoder)
    if family == "qwen2":  # layer 0 full, layers 1-2 sliding
        return transformers.Qwen2Config(
            num_hidden_layers=3,
            num_key_value_heads=2,
            use_sliding_window=True,
            sliding_window=WINDOW,
            max_window_layers=1,
            **decoder,
        )
    if family == "mistral":  # every layer sliding
        return transformers.MistralConfig(num_hidden_layers=2, num_key_value_heads=2, sliding_window=WINDOW, **decoder)
    if family == "gemma2":  # alternating sliding / global, scores softcapped at 1.0
        return transformers.Gemma2Config(
            num_hidden_layers=3,
            num_key_value_heads=2,
            head_dim=8,
            sliding_window=WINDOW,
            attn_logit_softcapping=1.0,
            query_pre_attn_scalar=8,
            **decoder,
        )
    if family == "gpt_oss":  # attention sinks, alternating sliding / full, a tiny mixture of experts
        decoder = dict(decoder, intermediate_size=32)
        return transformers.GptOssConfig(
            num_hidden_layers=2,
            num_key_value_heads=2,
            head_dim=8,
            sliding_window=WINDOW,
            num_local_experts=4,
            num_experts_per_tok=2,
            **decoder,
        )
    raise AssertionError(family)


def _expected_windows(family: str, config) -> list[int | None] | None:
    """What each layer's own window is, read from the config as each family documents it."""
    n = config.num_hidden_layers
    if family not in MODEL_CLASSES:
        return None  # a discovered family: its own windows are held to transformers' eager run, not written here
    if family == "mistral":
        return [config.sliding_window] * n
    if family in ("qwen2", "gemma2", "gpt_oss"):
        return [config.sliding_window if t == "sliding_attention" else None for t in config.layer_types]
    return [None] * n


class Built:
    def __init__(self, family, path, config, adapter, reference):
        self.family, self.path, self.config, self.adapter, self.reference = family, path, config, adapter, reference
        self.windows = _expected_windows(family, config)


@pytest.fixture(scope="session")
def build(tmp_path_factory):
    import transformers

    cache: dict[str, Built] = {}
    tokenizer = byte_tokenizer()
    ids = dict(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id
    )

    def get(family: str) -> Built:
        if family not in cache:
            path = tmp_path_factory.mktemp(family)
            if family in MODEL_CLASSES:
                config = _config(family, len(tokenizer), ids)
                torch.manual_seed(1234)
                model = getattr(transformers, MODEL_CLASSES[family])(config)
                if family == "gpt_oss":  # the sinks start empty: give every head its own sink logit
                    with torch.no_grad():
                        for layer in model.model.layers:
                            layer.self_attn.sinks.normal_(0.0, 1.0)
            else:
                config, model = tiny_model(family, tokenizer, seed=1234, **FAMILY_SETTINGS.get(family, {}))
            model.save_pretrained(path)
            tokenizer.save_pretrained(path)
            adapter = load_hf_model(path, name=f"tiny-{family}")
            model_class = getattr(transformers, MODEL_CLASSES.get(family) or family_of(family).model_class)
            reference = model_class.from_pretrained(path, attn_implementation="eager").eval()
            cache[family] = Built(family, path, reference.config, adapter, reference)
        return cache[family]

    return get


@pytest.fixture(scope="session")
def distilbert(tmp_path_factory):
    """A tiny random DistilBERT (an encoder through the attention interface): (folder, transformers' eager model, adapter)."""
    import transformers
    from transformers import BertTokenizerFast

    path = tmp_path_factory.mktemp("distilbert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "cat", "sat", "on", "mat", "a", "dog", "##s"]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(str(path / "vocab.txt"))
    config = transformers.DistilBertConfig(
        vocab_size=len(vocab),
        dim=32,
        n_layers=2,
        n_heads=4,
        hidden_dim=64,
        max_position_embeddings=64,
        initializer_range=0.3,
        pad_token_id=0,
    )
    torch.manual_seed(3)
    transformers.DistilBertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    reference = transformers.DistilBertModel.from_pretrained(path, attn_implementation="eager").eval()
    return path, reference, load_model(str(path), device="cpu")
