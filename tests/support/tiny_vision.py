"""Tiny random vision transformers of each family attnviz records, built at test time (16 × 16 images, 4 × 4
patches: a 4 × 4 grid) and saved with a ViT image processor: nothing is downloaded."""

from __future__ import annotations

import numpy as np
import torch

IMAGE, PATCH = 16, 4
# family -> (config class, model class saved, tokens before the grid)
FAMILIES = {
    "vit": ("ViTConfig", "ViTForImageClassification", 1),
    "deit": ("DeiTConfig", "DeiTForImageClassification", 2),  # [CLS] and the distillation token
    "dinov2": ("Dinov2Config", "Dinov2Model", 1),  # an encoder without a head, as DINOv2 is published
    "dinov2_with_registers": ("Dinov2WithRegistersConfig", "Dinov2WithRegistersForImageClassification", 3),
}


def build_vision(folder, family: str):
    """A tiny random model of ``family`` saved to ``folder`` with a ViT image processor; transformers' eager copy."""
    import transformers

    config_class, model_class, _ = FAMILIES[family]
    extra = {"num_register_tokens": 2} if family == "dinov2_with_registers" else {}
    config = getattr(transformers, config_class)(
        image_size=IMAGE,
        patch_size=PATCH,
        num_channels=3,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        num_labels=5,
        initializer_range=0.3,
        **extra,
    )
    torch.manual_seed(0)
    model = getattr(transformers, model_class)(config).eval()
    model.save_pretrained(folder)
    transformers.ViTImageProcessor(size={"height": IMAGE, "width": IMAGE}).save_pretrained(folder)
    eager = getattr(transformers, model_class).from_pretrained(folder, attn_implementation="eager").eval()
    return eager


def picture(seed: int = 0, size: int = 24):
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return Image.fromarray(pixels)
