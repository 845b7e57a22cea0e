"""Hugging Face vision transformers (ViT, DeiT, DINOv2 with or without registers): image patches as tokens,
recorded through the same attention interface as the text models (:mod:`attnviz.models.hf`), hook names unchanged.

    image            any size, RGB                                    PIL.Image
    the processor    the folder's own image processor: resize, rescale, normalise      pixel_values (B, C, H, W)
    patches          a P × P convolution with stride P, in raster order                (B, rows·cols, D)
    tokens           [CLS] (+ DeiT's distillation token, + DINOv2's registers), then the patches      (B, T, D)
                     + learned position embeddings                                     hook_embed  (T, D)
    blocks           pre-norm attention and MLP, recorded as every encoder's           blocks.l.attn.hook_pattern …
    head             a classifier on [CLS] (a classification checkpoint)              logits (B, labels)

A token's label is its place: "[CLS]", "[DIST]", "[REG 0]", then "(row, col)" for each patch. The tokens before the
grid are ``special`` (they are not pieces of the image). Masks: the user's rules are ANDed with the model's own
bidirectional mask inside the registered mask function, as for a text encoder; the 2-D rules read the patch grid
this model states (:attr:`HFVisionModel.patch_grid`, :class:`attnviz.masks.MaskSpec`'s ``grid``).

A vision family is recorded when transformers' modeling code for it calls the attention interface; any other is
refused in one line (Swin's windows and BEiT's relative positions live in their own attention code).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..masks import MaskSpec
from .base import Encoding, FolderFormat, Kind, Notice, mask_notices, model_type
from .hf import HFAttentionModel
from .hf_attention import load_folder_weights
from .hf_families import Family, UnsupportedModel, require_interface


def _side(value: Any) -> int | None:
    """An image or patch size from a config: an int, or a square (h, w) pair."""
    if isinstance(value, int):
        return value
    if isinstance(value, (list, tuple)) and len(value) == 2 and value[0] == value[1] and isinstance(value[0], int):
        return value[0]
    return None


def is_vision_config(config: dict) -> bool:
    """A folder of a transformers vision encoder over patches: a family transformers knows, with an image size, a
    patch size and image channels in its config (and no text part)."""
    from transformers.models.auto.modeling_auto import MODEL_MAPPING_NAMES

    family = model_type(config)
    return (
        family in MODEL_MAPPING_NAMES
        and "patch_size" in config
        and "image_size" in config
        and "num_channels" in config
        and "text_config" not in config
        and "vision_config" not in config
    )


def vision_family(config: dict) -> Family:
    """The class to load: the folder's own classification class when it names one (its classifier's weights are
    there), else the family's base model (an encoder without a head: DINOv2's checkpoints)."""
    from transformers.models.auto.modeling_auto import (
        MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES,
        MODEL_MAPPING_NAMES,
    )

    family = require_interface(model_type(config))
    if not isinstance(config.get("num_hidden_layers"), int):  # Swin's stages, Hiera's: not one stack of blocks
        raise UnsupportedModel("model.not_plain_vit", family=family)
    classifiers = MODEL_FOR_IMAGE_CLASSIFICATION_MAPPING_NAMES.get(family, ())
    classifiers = (classifiers,) if isinstance(classifiers, str) else tuple(classifiers)
    named = [name for name in config.get("architectures") or () if name in classifiers]
    model_class = named[0] if named else MODEL_MAPPING_NAMES[family]
    return Family(family, model_class if isinstance(model_class, str) else model_class[0], "vision")


class HFVisionModel(HFAttentionModel):
    """A Hugging Face vision transformer whose attention runs through attnviz's registered function."""

    kind = "vision"

    def __init__(self, hf_model: Any, processor, name: str, family: Family):
        self._processor = processor
        super().__init__(hf_model, processor, name, family)
        config = hf_model.config
        image, patch = _side(config.image_size), _side(config.patch_size)
        if image is None or patch is None or image % patch:
            raise UnsupportedModel("model.not_patch_grid", name=name, n="?")
        self.image_size, self.patch_size = image, patch
        side = image // patch
        n_tokens = self._probe_tokens
        first = n_tokens - side * side
        if first < 0:
            raise UnsupportedModel("model.not_patch_grid", name=name, n=n_tokens)
        self.patch_grid: tuple[int, int, int] | None = (first, side, side)  # (first patch, rows, cols): MaskSpec.grid
        self.max_tokens = n_tokens
        registers = int(getattr(config, "num_register_tokens", 0) or 0)
        own = ["[CLS]"] + (["[DIST]"] if first - registers == 2 else []) + [f"[REG {r}]" for r in range(registers)]
        if len(own) != first:  # a family with other tokens before the grid: named by their place
            own = ["[CLS]"] + [f"[{i}]" for i in range(1, first)]
        self.token_labels = own + [f"({row},{col})" for row in range(side) for col in range(side)]
        self.special_tokens = frozenset(own)
        id2label = getattr(config, "id2label", None) or {}
        classifies = hasattr(hf_model, "classifier")
        self.class_names = [str(id2label.get(i, i)) for i in range(len(id2label))] if classifies else []

    # ----------------------------------------------------------------- what it reads
    def _take_inputs(self, processor, config) -> None:
        """An image processor in place of a tokenizer: no vocabulary, no padding; sizes come from the probe."""
        self.special_tokens = frozenset()
        self.token_style = "plain"
        self.max_tokens = 0  # set once the probe has counted the tokens

    def _probe_inputs(self) -> dict[str, torch.Tensor]:
        """The probe's input: one grey image of the model's size, and the number of tokens its first block reads."""
        config = self.hf.config
        side = _side(config.image_size) or 224
        pixels = torch.zeros(1, config.num_channels, side, side, device=self.device)
        layers = dict(self.hf.named_modules())[self.layers_path] if hasattr(self, "layers_path") else None
        if layers is not None and not hasattr(self, "_probe_tokens"):

            def count(module, args, kwargs):
                hidden = args[0] if args else kwargs["hidden_states"]
                self._probe_tokens = int(hidden.shape[1])

            handle = layers[0].register_forward_pre_hook(count, with_kwargs=True)
            self._probe_handle = handle
        return {"pixel_values": pixels}

    def _probe(self) -> None:
        try:
            super()._probe()
        finally:
            handle = getattr(self, "_probe_handle", None)
            if handle is not None:
                handle.remove()
                self._probe_handle = None

    def preprocess(self, images: list) -> torch.Tensor:
        """(B, C, H, W) pixel values of PIL images (or (H, W[, C]) uint8 arrays), through the folder's own image
        processor; every image is made RGB first (or greyscale, for a one-channel model)."""
        from PIL import Image

        mode = "L" if self.hf.config.num_channels == 1 else "RGB"
        pictures = [(Image.fromarray(np.asarray(i)) if not isinstance(i, Image.Image) else i) for i in images]
        pictures = [picture.convert(mode) for picture in pictures]
        return self._processor(images=pictures, return_tensors="pt")["pixel_values"]

    def encode(self, images: list) -> Encoding:  # type: ignore[override]  # images, not texts
        """Images in, one Encoding: ``pixel_values`` for the forward, and the tokens each image becomes ([CLS] ...
        then a patch per grid cell); ``input_ids`` hold the positions (an image has no vocabulary)."""
        if not images or any(isinstance(image, str) for image in images):
            raise UnsupportedModel("model.needs_image", name=self.name)
        pixels = self.preprocess(images)
        n, batch = self.max_tokens, len(images)
        positions = torch.arange(n).expand(batch, n).clone()
        special = [label in self.special_tokens for label in self.token_labels]
        return Encoding(
            input_ids=positions,
            key_is_real=torch.ones(batch, n, dtype=torch.bool),
            token_type_ids=torch.zeros(batch, n, dtype=torch.long),
            tokens=[list(self.token_labels) for _ in images],
            special=[list(special) for _ in images],
            truncated=[False] * batch,
            full_lengths=[n] * batch,
            pixel_values=pixels,
        )

    # ----------------------------------------------------------------- forward
    def forward(self, encoding: Encoding, spec: MaskSpec = MaskSpec()) -> torch.Tensor:
        """Run the model on ``encoding``'s images under ``spec``; the class logits (batch, labels) of a classifier,
        else the last hidden states (batch, tokens, d_model)."""
        from .hf_attention import active_run, run_for

        if encoding.pixel_values is None:
            raise UnsupportedModel("model.needs_image", name=self.name)
        if spec.is_2d and spec.grid != self.patch_grid:
            raise ValueError(f"the mask's grid {spec.grid} is not this model's patches {self.patch_grid}")
        token = active_run.set(run_for(self, spec, self.n_heads))
        try:
            output = self.hf(pixel_values=encoding.pixel_values.to(self.device, dtype=self._dtype))
        finally:
            active_run.reset(token)
        return output.logits if hasattr(output, "logits") else output.last_hidden_state

    @property
    def _dtype(self) -> torch.dtype:
        return next(self.hf.parameters()).dtype

    def notices(self, text: str, spec: MaskSpec) -> list[Notice]:
        return mask_notices(self, spec)

    def _position_rows(self) -> np.ndarray:
        """(T, D): the position embedding each token gets; a register gets none (DINOv2 inserts its registers after
        the positions are added), every other token the table's next row."""
        table = (
            self.hf.base_model.embeddings.position_embeddings.detach().float().cpu().numpy().reshape(-1, self.d_model)
        )
        rows, used = np.zeros((self.max_tokens, self.d_model), np.float32), 0
        for index, label in enumerate(self.token_labels):
            if not label.startswith("[REG"):
                rows[index], used = table[used], used + 1
        return rows

    def embedding_parts(self, token_ids: np.ndarray) -> dict[str, np.ndarray]:
        """The position embedding rows of the given positions (a patch's own row is its pixels' projection:
        :meth:`embedding_parts_of` the image)."""
        return {"position": self._position_rows()[np.asarray(token_ids, dtype=np.int64).clip(0, self.max_tokens - 1)]}

    def embedding_parts_of(self, pixel_values: torch.Tensor) -> dict[str, np.ndarray]:
        """What adds up to layer 0's input for one image (``pixel_values`` (1, C, H, W)): ``token`` (T, D), each
        patch's pixels through the patch projection (a P × P convolution with stride P) and the model's own tokens'
        learned rows ([CLS], [DIST], registers); ``position`` (T, D), the learned position rows
        (:meth:`_position_rows`). Their sum is ``hook_embed`` (the tests check it)."""
        embeddings = self.hf.base_model.embeddings
        with torch.inference_mode():
            projected = embeddings.patch_embeddings(pixel_values.to(self.device, dtype=self._dtype))[0]
        own = {"[CLS]": embeddings.cls_token, "[DIST]": getattr(embeddings, "distillation_token", None)}
        registers = getattr(embeddings, "register_tokens", None)
        rows = []
        for label in self.token_labels[: self.patch_grid[0]]:  # type: ignore[index]  # a vision model has a grid
            if label.startswith("[REG"):
                rows.append(registers[0, int(label[5:-1])])  # type: ignore[index]
            else:
                rows.append(own[label][0, 0])  # type: ignore[index]
        token = torch.cat([torch.stack(rows), projected]).detach().float().cpu().numpy()
        return {"token": token, "position": self._position_rows()}

    def token_label(self, token_id: int) -> str:
        return self.token_labels[int(token_id)]


def load_vision_model(path, name: str | None = None, device=None) -> HFVisionModel:
    """Load a local vision transformer folder (config.json, safetensors, preprocessor_config.json) in float32."""
    from .hf import read_folder_config

    path = Path(path).expanduser()
    label = name or path.name or str(path)
    config = read_folder_config(path, label)
    family = vision_family(config)
    hf_model, processor = load_folder_weights(path, label, family.model_class, device, images=True)
    model = HFVisionModel(hf_model, processor, label, family)
    if device is not None:
        model.to(device)
    return model.eval()


def _kind(config: dict) -> Kind:
    return "vision"


FOLDER_FORMAT = FolderFormat(
    "transformers-vision",
    lambda path, config: is_vision_config(config),
    _kind,
    lambda path, config, name, device: load_vision_model(path, name=name, device=device),
)
