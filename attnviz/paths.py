"""Where the shipped files live, once: every module asks here rather than counting parent folders."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ASSETS = REPO / "assets"
LESSONS = ASSETS / "lessons"  # the built-in lessons of the Presenter page
DATE_MODEL_DIR = ASSETS / "seq2seq-dates"  # the Encoder-decoder page's trained date model
MISTRAL_CHAR_DIR = ASSETS / "mistral-char"  # the trained Mistral char LM (GQA, sliding window), HF format
VIT_FASHION_DIR = ASSETS / "vit-fashion"  # the trained ViT on Fashion-MNIST (HF ViTForImageClassification)
GALLERY_DIR = ASSETS / "gallery"  # images committed for the Images page (each folder: PNGs and gallery.json)


def char_model_dir(name: str) -> Path:
    """A shipped character model's folder (``dcformer-tiny``, ``mha-tiny``)."""
    return ASSETS / name
