"""A small Vision Transformer trained on Fashion-MNIST, saved in the Hugging Face format.

The CLI is ``scripts/train_vit_fashion.py``; the pieces live here so a test can run a few steps on synthetic
images. The model is transformers' own ``ViTForImageClassification`` (nothing re-implemented), so the folder it
writes loads anywhere a ViT loads, with a ``ViTImageProcessor`` that turns any upload into what it was trained on:

    image    28×28 grayscale, replicated to RGB; rescaled 1/255, normalised     pixel_values (B, 3, 28, 28)
    patches  conv 4×4 stride 4 -> a 7×7 grid, flattened                         (B, 49, D)   D = hidden_size = 96
    tokens   [CLS] + 49 patches, + learned position embeddings                 (B, 50, D)
    4 ×  LayerNorm -> attention -> + ; LayerNorm -> GELU MLP (D -> 192 -> D) -> +    (pre-norm, ViT's default)
         q, k, v (B, 4, 50, 24)  4 heads of 24, every token sees every token (no mask)
    LayerNorm -> [CLS] (B, D) -> classifier -> logits (B, 10)

Data: the Debian package ``dataset-fashion-mnist`` (the original IDX files, gzip): 60,000 training and 10,000
test images, 10 classes (``CLASS_NAMES``). Nothing is downloaded.

Preprocessing (``to_pixel_values``; the saved ``ViTImageProcessor`` reproduces it exactly): convert to RGB (a
grayscale image's one channel three times), resize to 28×28 (a Fashion-MNIST image already is), rescale by 1/255,
normalise with the training split's pixel mean and standard deviation (``PIXEL_MEAN``, ``PIXEL_STD``, the same for
the three channels).

Augmentation (``augment``, on the uint8 images before that), optional: a random 28×28 crop of the image padded by
a few black pixels, a horizontal flip with probability 1/2. The shipped run uses neither: after 300 steps of 128
images, crops (2-pixel padding) and flips together cost 12 points of test accuracy and flips alone 4 (a 1-pixel
shift changes the content of every 4×4 patch), and in its time budget the whole run sees each image only 10 times.

Test accuracy: the WHOLE 10,000-image test split, each image once, no augmentation.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import struct
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .schedule import adamw, lr_at, save_hf_folder, take_step

FASHION_DIR = "/usr/share/datasets/fashion-mnist"
CLASS_NAMES = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
]
IMAGE_SIZE = 28
# The training split's pixel mean and standard deviation after rescaling to [0, 1] (over all 60,000 × 784 pixels:
# 0.28604, 0.35302), to 4 decimals: training and the saved processor use exactly these numbers.
PIXEL_MEAN = 0.2860
PIXEL_STD = 0.3530
RESCALE = 1 / 255

_IMAGES_MAGIC, _LABELS_MAGIC = 0x00000803, 0x00000801  # IDX: unsigned bytes, 3 dimensions / 1 dimension


# ------------------------------------------------------------------------------------------------ data
def load_split(split: str, folder: str = FASHION_DIR) -> tuple[np.ndarray, np.ndarray]:
    """``split`` "train" or "t10k" (also "test"): images uint8 (N, 28, 28) and labels int64 (N,), read from the IDX
    files ``{split}-images-idx3-ubyte.gz`` and ``{split}-labels-idx1-ubyte.gz`` in ``folder``."""
    split = {"test": "t10k"}.get(split, split)
    if split not in ("train", "t10k"):
        raise ValueError(f"split must be 'train' or 't10k' (or 'test'), not {split!r}")
    images_path = Path(folder) / f"{split}-images-idx3-ubyte.gz"
    labels_path = Path(folder) / f"{split}-labels-idx1-ubyte.gz"
    for p in (images_path, labels_path):
        if not p.is_file():
            raise FileNotFoundError(
                f"{p} not found: Fashion-MNIST comes from the Debian package dataset-fashion-mnist "
                "(sudo apt-get install dataset-fashion-mnist), or pass the folder holding the IDX .gz files"
            )
    with gzip.open(images_path, "rb") as f:
        raw = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != _IMAGES_MAGIC:
        raise ValueError(f"{images_path}: magic number {magic:#010x}, expected {_IMAGES_MAGIC:#010x} (IDX images)")
    if len(raw) != 16 + n * rows * cols:
        raise ValueError(f"{images_path}: {len(raw) - 16} bytes of pixels for {n} images of {rows}×{cols}")
    images = np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, rows, cols).copy()
    with gzip.open(labels_path, "rb") as f:
        raw = f.read()
    magic, n_labels = struct.unpack(">II", raw[:8])
    if magic != _LABELS_MAGIC:
        raise ValueError(f"{labels_path}: magic number {magic:#010x}, expected {_LABELS_MAGIC:#010x} (IDX labels)")
    if n_labels != n or len(raw) != 8 + n:
        raise ValueError(f"{labels_path}: {n_labels} labels ({len(raw) - 8} bytes) for {n} images")
    labels = np.frombuffer(raw, dtype=np.uint8, offset=8).astype(np.int64)
    if labels.max() >= len(CLASS_NAMES):
        raise ValueError(f"{labels_path}: label {labels.max()} outside 0..{len(CLASS_NAMES) - 1}")
    return images, labels


def pixel_stats(images: np.ndarray) -> tuple[float, float]:
    """The mean and standard deviation of all pixels of ``images`` (uint8) rescaled to [0, 1]."""
    x = images.astype(np.float64) * RESCALE
    return float(x.mean()), float(x.std())


def to_pixel_values(images, mean: float = PIXEL_MEAN, std: float = PIXEL_STD) -> torch.Tensor:
    """uint8 (B, 28, 28) -> float32 (B, 3, 28, 28): as the saved ViTImageProcessor computes it (rescale in float32,
    then (x - mean) / std), the gray channel three times."""
    # (a Python number times a float32 tensor is taken as float32: the processor's own arithmetic)
    x = torch.as_tensor(images).to(torch.float32) * float(np.float32(RESCALE))  # (B, 28, 28)
    x = (x - float(np.float32(mean))) / float(np.float32(std))
    return x[:, None].expand(-1, 3, -1, -1).contiguous()  # (B, 3, 28, 28)


def augment(images: torch.Tensor, g: torch.Generator, pad: int = 2, flip: bool = True) -> torch.Tensor:
    """uint8 (B, H, W) -> (B, H, W): a random H×W crop of each image padded by ``pad`` black pixels (none when
    ``pad`` is 0), then a horizontal flip with probability 1/2 (when ``flip``)."""
    b, h, w = images.shape
    out = images.clone()
    if pad:
        padded = F.pad(images, (pad, pad, pad, pad))  # (B, H + 2 pad, W + 2 pad), zeros
        dy = torch.randint(0, 2 * pad + 1, (b,), generator=g)
        dx = torch.randint(0, 2 * pad + 1, (b,), generator=g)
        rows = (dy[:, None] + torch.arange(h)[None, :])[:, :, None]  # (B, H, 1)
        cols = (dx[:, None] + torch.arange(w)[None, :])[:, None, :]  # (B, 1, W)
        out = padded[torch.arange(b)[:, None, None], rows, cols]  # (B, H, W)
    if flip:
        flipped = torch.rand(b, generator=g) < 0.5
        out[flipped] = out[flipped].flip(-1)
    return out


def make_processor(mean: float = PIXEL_MEAN, std: float = PIXEL_STD):
    """The ViTImageProcessor that reproduces ``to_pixel_values`` on any uploaded image (RGB, grayscale, RGBA):
    convert to RGB, resize to 28×28 (bilinear), rescale 1/255, normalise with ``mean``/``std`` on every channel.

    Without torchvision, transformers' ``ViTImageProcessor`` is its PIL/NumPy backend ``ViTImageProcessorPil``;
    built directly here (no fallback warning). Both save as ``"image_processor_type": "ViTImageProcessor"``."""
    import importlib.util

    import transformers

    cls = (
        transformers.ViTImageProcessor
        if importlib.util.find_spec("torchvision") is not None
        else transformers.ViTImageProcessorPil
    )
    return cls(
        do_convert_rgb=True,
        do_resize=True,
        size={"height": IMAGE_SIZE, "width": IMAGE_SIZE},
        do_rescale=True,
        rescale_factor=RESCALE,
        do_normalize=True,
        image_mean=[mean] * 3,
        image_std=[std] * 3,
    )


# ------------------------------------------------------------------------------------------------ model
@dataclass
class ModelSettings:
    image_size: int = IMAGE_SIZE
    patch_size: int = 4  # a 7×7 grid of patches + [CLS] = 50 tokens
    num_channels: int = 3  # grayscale replicated to RGB: what an image processor makes of an RGB upload
    hidden_size: int = 96
    num_hidden_layers: int = 4
    num_attention_heads: int = 4  # head_dim 24
    intermediate_size: int = 192
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.0
    attention_probs_dropout_prob: float = 0.0
    layer_norm_eps: float = 1e-6
    initializer_range: float = 0.02
    qkv_bias: bool = True


def make_config(m: ModelSettings):
    from transformers import ViTConfig

    return ViTConfig(
        image_size=m.image_size,
        patch_size=m.patch_size,
        num_channels=m.num_channels,
        hidden_size=m.hidden_size,
        num_hidden_layers=m.num_hidden_layers,
        num_attention_heads=m.num_attention_heads,
        intermediate_size=m.intermediate_size,
        hidden_act=m.hidden_act,
        hidden_dropout_prob=m.hidden_dropout_prob,
        attention_probs_dropout_prob=m.attention_probs_dropout_prob,
        layer_norm_eps=m.layer_norm_eps,
        initializer_range=m.initializer_range,
        qkv_bias=m.qkv_bias,
        encoder_stride=m.patch_size,
        id2label=dict(enumerate(CLASS_NAMES)),
        label2id={name: i for i, name in enumerate(CLASS_NAMES)},
        problem_type="single_label_classification",
    )


def architecture(m: ModelSettings) -> str:
    grid = m.image_size // m.patch_size
    return (
        f"transformers ViTForImageClassification: {m.image_size}×{m.image_size} images ({m.num_channels} channels) "
        f"cut into {m.patch_size}×{m.patch_size} patches, a {grid}×{grid} grid + [CLS] = {grid * grid + 1} tokens; "
        f"{m.num_hidden_layers} pre-norm layers, hidden {m.hidden_size}, {m.num_attention_heads} heads of "
        f"{m.hidden_size // m.num_attention_heads}, GELU MLP {m.hidden_size} -> {m.intermediate_size} -> "
        f"{m.hidden_size}; linear classifier on the final [CLS] -> {len(CLASS_NAMES)} classes"
    )


def num_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------------------ training
@dataclass
class TrainSettings:
    epochs: int = 10
    steps: int = 0  # optimiser steps; 0: epochs × (N // batch_size), every epoch a fresh shuffle
    batch_size: int = 64
    lr: float = 1.5e-3
    min_lr_frac: float = 0.02
    warmup: int = 200
    weight_decay: float = 0.05
    grad_clip: float = 1.0
    label_smoothing: float = 0.1
    crop_pad: int = 0  # augmentation: a random crop of the image padded by this many pixels (0: none)
    hflip: bool = False  # augmentation: a horizontal flip with probability 1/2
    seed: int = 1234
    log_every: int = 100
    attn_implementation: str = "sdpa"  # for training only; the saved folder names none (the app picks its own)


def resolve_steps(s: TrainSettings, n_images: int) -> TrainSettings:
    """``s`` with ``steps`` filled in from ``epochs`` when it is 0."""
    return s if s.steps else replace(s, steps=s.epochs * (n_images // s.batch_size))


def batch_order(n_images: int, s: TrainSettings) -> torch.Tensor:
    """(steps, B) image indices: epoch after epoch of a permutation from a generator seeded with s.seed (the last
    incomplete batch of each epoch dropped). The data order depends on seed and data only."""
    g = torch.Generator().manual_seed(s.seed)
    per_epoch = n_images // s.batch_size
    n_epochs = -(-s.steps // per_epoch)
    perms = [torch.randperm(n_images, generator=g)[: per_epoch * s.batch_size] for _ in range(n_epochs)]
    return torch.cat(perms).view(-1, s.batch_size)[: s.steps]


def train(config, images: np.ndarray, labels: np.ndarray, s: TrainSettings, log=print, eval_data=None):
    """Train a ViTForImageClassification from scratch with a fixed seed on uint8 ``images`` (N, 28, 28) and
    ``labels`` (N,). ``eval_data`` (images, labels), when given, is scored at the end of every epoch but the last
    (a log line and the history only: nothing is chosen by it). Returns (model, history)."""
    from transformers import ViTForImageClassification

    s = resolve_steps(s, len(images))
    torch.manual_seed(s.seed)
    model = ViTForImageClassification._from_config(
        config, attn_implementation=s.attn_implementation, dtype=torch.float32
    )
    model.train()
    opt = adamw(model, s)
    order = batch_order(len(images), s)
    g = torch.Generator().manual_seed(s.seed + 1)  # augmentation
    x_all, y_all = torch.from_numpy(images), torch.from_numpy(labels)
    per_epoch = len(images) // s.batch_size
    hist: dict = {"train_loss": [], "epoch_eval": []}
    t0 = time.time()
    run = None
    for step in range(s.steps):
        idx = order[step]
        x = x_all[idx]  # (B, 28, 28) uint8
        if s.crop_pad or s.hflip:
            x = augment(x, g, s.crop_pad, s.hflip)
        logits = model(pixel_values=to_pixel_values(x)).logits  # (B, 10)
        loss = F.cross_entropy(logits, y_all[idx], label_smoothing=s.label_smoothing)
        lv = take_step(model, opt, loss, lr_at(step, s), s.grad_clip)
        run = lv if run is None else 0.95 * run + 0.05 * lv
        hist["train_loss"].append(round(lv, 4))
        if log and s.log_every and (step % s.log_every == 0 or step == s.steps - 1):
            log(
                f"step {step:5d}  loss {lv:.4f}  (smoothed {run:.4f})  lr {lr_at(step, s):.2e}  "
                f"{time.time() - t0:7.1f}s"
            )
        if eval_data is not None and (step + 1) % per_epoch == 0 and step + 1 < s.steps:
            acc = evaluate(model, *eval_data)
            hist["epoch_eval"].append((step + 1, round(acc, 4)))
            if log:
                log(f"  epoch {(step + 1) // per_epoch}: accuracy {acc:.4f} on {len(eval_data[1])} images")
    hist["seconds"] = round(time.time() - t0, 1)
    hist["steps"] = s.steps
    model.eval()
    return model, hist


@torch.no_grad()
def predict(model, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """(N,) the predicted class of every uint8 image (N, 28, 28), in eval mode, no augmentation."""
    was_training = model.training
    model.eval()
    preds = []
    for i in range(0, len(images), batch_size):
        logits = model(pixel_values=to_pixel_values(images[i : i + batch_size])).logits  # (b, 10)
        preds.append(logits.argmax(-1).numpy())
    model.train(was_training)
    return np.concatenate(preds)


def evaluate(model, images: np.ndarray, labels: np.ndarray) -> float:
    """Accuracy over ALL the given images (the whole test split: 10,000), each once."""
    return float((predict(model, images) == labels).mean())


def per_class_accuracy(preds: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return {name: round(float((preds[labels == c] == c).mean()), 4) for c, name in enumerate(CLASS_NAMES)}


# ------------------------------------------------------------------------------------------------ writing
def save_folder(model, out_dir, processor=None, log_info: dict | None = None) -> Path:
    """The Hugging Face folder: config.json, model.safetensors (transformers 5 writes safetensors only),
    preprocessor_config.json (the ViTImageProcessor; ``make_processor()`` when not given), and train_log.json
    when given."""
    return save_hf_folder(model, processor if processor is not None else make_processor(), out_dir, log_info)


def settings_dict(s) -> dict:
    return asdict(s)


def slug(class_name: str) -> str:
    """ "T-shirt/top" -> "t-shirt-top", "Ankle boot" -> "ankle-boot"."""
    return re.sub(r"[^a-z0-9]+", "-", class_name.lower()).strip("-")


def write_gallery(images: np.ndarray, labels: np.ndarray, out_dir, per_class: int = 3, split: str = "t10k") -> Path:
    """The first ``per_class`` images of every class in ``split`` order, as 28×28 grayscale PNGs named
    ``{split}-{index:05d}-{slug}.png``, and gallery.json: [{file, label, class_name, test_index}] in index order."""
    from PIL import Image

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    chosen = sorted(i for c in range(len(CLASS_NAMES)) for i in np.flatnonzero(labels == c)[:per_class].tolist())
    entries = []
    for i in chosen:
        c = int(labels[i])
        name = f"{split}-{i:05d}-{slug(CLASS_NAMES[c])}.png"
        Image.fromarray(images[i], mode="L").save(out / name, optimize=True)
        entries.append({"file": name, "label": c, "class_name": CLASS_NAMES[c], "test_index": i})
    with open(out / "gallery.json", "w", encoding="utf-8") as f:
        json.dump(entries, f, indent=2, ensure_ascii=False)
        f.write("\n")
    return out


def synthetic_data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 28×28 images of 10 easy classes: class c is a gray level 24c (plus noise 0..15) with a white
    4-pixel band across patch row c mod 7."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n, dtype=np.int64) % len(CLASS_NAMES)
    images = (rng.integers(0, 16, (n, IMAGE_SIZE, IMAGE_SIZE)) + 24 * labels[:, None, None]).astype(np.uint8)
    for i, c in enumerate(labels):
        images[i, 4 * (c % 7) : 4 * (c % 7) + 4, 4:24] = 255
    return images, labels


def smoke_train(out_dir, steps: int = 30, seed: int = 0) -> tuple[Path, list[float]]:
    """A few steps of a tiny ViT (2 layers, 4 heads, the shipped 7×7 patch grid) on synthetic images, saved to
    ``out_dir``: (folder, losses). No Fashion-MNIST needed."""
    images, labels = synthetic_data(320, seed)
    m = ModelSettings(hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64)
    s = TrainSettings(
        steps=steps,
        batch_size=32,
        lr=8e-3,
        warmup=3,
        seed=seed,
        crop_pad=0,
        hflip=False,
        label_smoothing=0.0,
        log_every=0,
    )
    model, hist = train(make_config(m), images, labels, s, log=None)
    info = {"command": "smoke_train", "seed": seed, "steps": steps, "settings": settings_dict(s)}
    return save_folder(model, os.fspath(out_dir), log_info=info), hist["train_loss"]
