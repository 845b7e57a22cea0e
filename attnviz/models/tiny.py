"""A tiny random model of any Hugging Face family, built from the family's own config class: nothing downloaded.

Every size a config class names is made small (32-wide, 4 query heads over 2 K/V heads of 8, 2 layers, a few
experts); everything else keeps the family's own default, so what is built is the family's real architecture
(its norms, its QK-norm, its parallel blocks, its router) at the size of a test. Used by the tests (each family
held to transformers' eager attentions), by ``scripts/families.py`` (the families table) and by
``attnviz tiny FAMILY DIR`` (a folder a student can open in the app to see an architecture without its weights).

Weights are random (seeded), drawn at a spread wide enough that attention is not near-uniform.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import torch

WINDOW = 4  # a family's own sliding window, when it has one: shorter than a test sentence, so it shows

# The sizes every family gets, under whichever of these names its config class accepts.
SIZES = dict(
    hidden_size=32,
    intermediate_size=64,
    ffn_hidden_size=64,
    n_inner=64,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=8,
    max_position_embeddings=64,
    sliding_window=WINDOW,
    # mixture of experts: a handful of small experts, two per token
    num_experts=4,
    num_local_experts=4,
    n_routed_experts=4,
    num_experts_per_tok=2,
    moe_intermediate_size=16,
    shared_expert_intermediate_size=16,
    n_shared_experts=1,
    n_group=1,
    topk_group=1,
    first_k_dense_replace=1,  # (DeepSeek-style: the first layer dense, the second routed)
    # latent attention (DeepSeek): q·k heads of 8 + 4 rotated dimensions, v heads of 8, as in the real models'
    # proportions (192 and 128) — so the table says what a real checkpoint meets
    q_lora_rank=16,
    kv_lora_rank=16,
    qk_rope_head_dim=4,
    qk_nope_head_dim=8,
    v_head_dim=8,
    rotary_dim=4,  # GPT-J, CodeGen: the rotated part of each head
    initializer_range=0.3,
    init_std=0.3,  # (OPT's name for it)
)


MAX_PARAMETERS = 2_000_000


def _accepted(config_class) -> set[str]:
    """The keyword arguments a config class takes: its own fields and the standard names it maps to them."""
    names = set(inspect.signature(config_class.__init__).parameters)
    return names | set(getattr(config_class, "attribute_map", {}) or {})


def tiny_config(model_type: str, vocab_size: int, **overrides):
    """The family's config class at test size; ``overrides`` (token ids, say) win over :data:`SIZES`."""
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    config_class = CONFIG_MAPPING[model_type]
    accepted = _accepted(config_class)
    sizes = {k: v for k, v in {**SIZES, "vocab_size": vocab_size, **overrides}.items() if k in accepted}
    return config_class(**sizes)


def tiny_model(model_type: str, tokenizer, seed: int = 0, **overrides):
    """(config, model): the family's tiny random model with its class attnviz loads (causal LM or encoder).

    Grouped-query attention first (4 query heads over 2 K/V heads); a family that only has multi-head attention
    (DeepSeek's latent attention expands K to every head; some configs refuse GQA) is built with 4 K/V heads."""
    from .hf_families import family_of

    family = family_of(model_type)
    ids = {name: getattr(tokenizer, name) for name in ("bos_token_id", "eos_token_id", "pad_token_id")}
    try:
        return _build(family.model_class, model_type, tokenizer, seed, {**ids, **overrides})
    except Exception:  # noqa: BLE001 - the family's own checks (or its forward) refused GQA: try plain MHA
        if "num_key_value_heads" in overrides:
            raise
        return _build(
            family.model_class,
            model_type,
            tokenizer,
            seed,
            {**ids, "num_key_value_heads": SIZES["num_attention_heads"], **overrides},
        )


def _build(class_name: str, model_type: str, tokenizer, seed: int, overrides: dict):
    import transformers

    config = tiny_config(model_type, len(tokenizer), **overrides)
    model_class = getattr(transformers, class_name)
    with torch.device("meta"):  # count first: a size this table does not reach would build a real-size model
        size = sum(p.numel() for p in model_class(config).parameters())
    if size > MAX_PARAMETERS:
        raise ValueError(
            f"{model_type}: its tiny config still has {size:,} parameters (a size attnviz.models.tiny does not set)"
        )
    torch.manual_seed(seed)
    model = model_class(config).eval()
    with torch.no_grad():
        for module in model.modules():  # sinks start at zero: give each head a logit of its own, so they show
            sinks = getattr(module, "sinks", None)
            if isinstance(sinks, torch.nn.Parameter):
                sinks.normal_(0.0, 1.0)
        ids = torch.tensor([[tokenizer.bos_token_id or 0, 5, 6, 7, 8, 9]]).remainder(len(tokenizer))
        model.set_attn_implementation("eager")  # the reference attnviz is held to runs at this size
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
    return config, model


def save_tiny(model_type: str, folder, tokenizer=None, seed: int = 0, **overrides) -> Path:
    """Build the family's tiny random model and save it with its tokenizer (safetensors) to ``folder``."""
    from .hf_attention import quiet_transformers

    folder = Path(folder)
    tokenizer = tokenizer or byte_tokenizer()
    _, model = tiny_model(model_type, tokenizer, seed=seed, **overrides)
    with quiet_transformers():
        model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


SENTENCES = [
    "The cat sat on the mat.",
    "A dog ran in the park!",
    "Time flies like an arrow; fruit flies like a banana.",
    "猫 sat 🙂 <b>bold</b> & more words here.",
]


def byte_tokenizer():
    """The tokenizer a tiny model ships with: byte-level BPE trained on :data:`SENTENCES` (English, Chinese,
    emoji, markup), so any text encodes."""
    return byte_level_tokenizer(SENTENCES * 5)


def byte_level_tokenizer(texts: list[str], *, bos_prefix: bool = True, vocab_size: int = 300):
    """GPT-2-style byte-level BPE trained in-process on ``texts``, with <unk> <pad> <s> </s>; ``bos_prefix`` puts
    <s> before every text. Stands in for a real tokenizer, offline."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<unk>", "<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer)
    if bos_prefix:
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))]
        )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )


def eager_difference(folder, texts=("The cat sat on the mat. A dog ran in the park!", "Fruit flies like a banana.")):
    """(attnviz's adapter of ``folder``, the largest |attnviz pattern − transformers' eager attention| over every
    layer, head and real query row of a padded batch). A family whose eager code returns its weights renormalised
    over the keys, its sink applied to the output, is compared renormalised (attnviz also shows the sink's share)."""
    import transformers

    from ..hooks import recording
    from ..masks import MaskSpec
    from . import load_model

    adapter = load_model(str(folder), device="cpu")
    encoding = adapter.encode(list(texts))
    with torch.inference_mode(), recording() as recorder:
        adapter(encoding, MaskSpec())
    reference_class = getattr(transformers, adapter.family.model_class) if hasattr(adapter, "family") else None
    if reference_class is None:  # the BERT adapter wraps its own transformers model
        reference_class = type(adapter.hf)
    from .hf_attention import quiet_transformers

    with quiet_transformers():
        reference = reference_class.from_pretrained(str(folder), attn_implementation="eager").eval()
    with torch.inference_mode():
        out = reference(
            input_ids=encoding.input_ids, attention_mask=encoding.key_is_real.long(), output_attentions=True
        )
    worst = 0.0
    for b in range(len(texts)):
        n = int(encoding.key_is_real[b].sum())
        for layer in range(adapter.n_layers):
            ours = recorder.tensors[f"blocks.{layer}.attn.hook_pattern"][b, :, :n]
            theirs = out.attentions[layer][b, :, :n]
            if f"blocks.{layer}.attn.hook_sink" in recorder.tensors and not torch.allclose(ours, theirs, atol=1e-5):
                ours = ours / ours.sum(-1, keepdim=True)
            worst = max(worst, float((ours - theirs).abs().max()))
    return adapter, worst
