"""The Fashion-MNIST Vision Transformer: its training module, the shipped folder assets/vit-fashion and the gallery.

(a) a few training steps on synthetic images (attnviz.training.vit_fashion.smoke_train) lower the loss and write a
    Hugging Face folder that ViTForImageClassification and ViTImageProcessor load; the IDX reader checks its files;
(b) the shipped model loads, has several heads over a 7×7 patch grid on 3 channels, small safetensors weights, and
    classifies the shipped gallery images (the first three test images of every class) mostly as their labels;
(c) train_log.json states the accuracy over the whole 10,000-image test split, per class, the command and the seed;
(d) the saved ViTImageProcessor, applied to a PIL image of a test image (grayscale, or as an RGB upload), gives
    exactly the tensor training fed the model (to_pixel_values).
Nothing is downloaded and the Debian dataset package is not needed (the gallery PNGs are committed).
"""

from __future__ import annotations

import gzip
import json
import re
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from attnviz.paths import ASSETS
from attnviz.training.vit_fashion import (
    CLASS_NAMES,
    augment,
    load_split,
    slug,
    smoke_train,
    synthetic_data,
    to_pixel_values,
)

VIT_DIR = ASSETS / "vit-fashion"
GALLERY_DIR = ASSETS / "gallery" / "fashion-mnist"


def _processor(folder):
    from transformers import ViTImageProcessor

    return ViTImageProcessor.from_pretrained(folder, local_files_only=True)


def _model(folder, **kwargs):
    from transformers import ViTForImageClassification

    return ViTForImageClassification.from_pretrained(folder, local_files_only=True, **kwargs).eval()


def _gallery() -> list[dict]:
    return json.loads((GALLERY_DIR / "gallery.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------------------- (a) training
@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    return smoke_train(tmp_path_factory.mktemp("vit-fashion-smoke"), steps=30, seed=0)


def test_a_few_steps_lower_the_loss(smoke):
    _, losses = smoke
    assert len(losses) == 30
    assert np.mean(losses[-3:]) < losses[0] - 0.7, losses


def test_the_saved_folder_loads_as_a_vit_with_its_processor(smoke):
    folder, _ = smoke
    assert {"config.json", "model.safetensors", "preprocessor_config.json", "train_log.json"} <= {
        p.name for p in folder.iterdir()
    }
    assert not list(folder.glob("*.bin"))
    model, processor = _model(folder), _processor(folder)
    assert model.config.num_attention_heads == 4 and model.config.num_channels == 3
    assert [model.config.id2label[i] for i in range(10)] == CLASS_NAMES
    images, labels = synthetic_data(4, seed=1)
    pixel_values = processor([Image.fromarray(im, mode="L") for im in images], return_tensors="pt")["pixel_values"]
    assert pixel_values.shape == (4, 3, 28, 28)
    torch.testing.assert_close(pixel_values, to_pixel_values(images), rtol=0, atol=1e-6)
    with torch.no_grad():
        assert model(pixel_values=pixel_values).logits.shape == (4, 10)


def test_augment_crops_within_the_padding_and_flips():
    images, _ = synthetic_data(64, seed=2)
    g = torch.Generator().manual_seed(0)
    out = augment(torch.from_numpy(images), g)
    assert out.shape == (64, 28, 28) and out.dtype == torch.uint8
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2)))
    for i in range(64):
        crops = [padded[i, dy : dy + 28, dx : dx + 28] for dy in range(5) for dx in range(5)]
        assert any(np.array_equal(out[i].numpy(), c) or np.array_equal(out[i].numpy(), c[:, ::-1]) for c in crops)


def _write_idx(folder, split, images, labels, image_magic=0x803, label_magic=0x801):
    with gzip.open(folder / f"{split}-images-idx3-ubyte.gz", "wb") as f:
        f.write(struct.pack(">IIII", image_magic, len(images), 28, 28) + images.tobytes())
    with gzip.open(folder / f"{split}-labels-idx1-ubyte.gz", "wb") as f:
        f.write(struct.pack(">II", label_magic, len(labels)) + labels.astype(np.uint8).tobytes())


def test_load_split_reads_idx_and_checks_it(tmp_path):
    images, labels = synthetic_data(12, seed=3)
    _write_idx(tmp_path, "t10k", images, labels)
    got_images, got_labels = load_split("t10k", tmp_path)
    assert got_images.dtype == np.uint8 and got_images.shape == (12, 28, 28)
    assert got_labels.dtype == np.int64 and np.array_equal(got_labels, labels)
    assert np.array_equal(got_images, images)
    _write_idx(tmp_path, "train", images, labels, image_magic=0x801)
    with pytest.raises(ValueError, match="magic number"):
        load_split("train", tmp_path)
    with pytest.raises(FileNotFoundError, match="apt-get install dataset-fashion-mnist"):
        load_split("train", tmp_path / "missing")


# ------------------------------------------------------------------------------------------- (b) shipped model
@pytest.fixture(scope="module")
def shipped():
    return _model(VIT_DIR), _processor(VIT_DIR)


def test_the_shipped_config_has_several_heads_over_a_7x7_grid(shipped):
    model, _ = shipped
    c = model.config
    assert c.model_type == "vit" and type(model).__name__ == "ViTForImageClassification"
    assert c.num_attention_heads >= 4 and c.hidden_size % c.num_attention_heads == 0
    assert (c.image_size // c.patch_size, c.image_size % c.patch_size) == (7, 0)
    assert c.num_channels == 3
    assert [c.id2label[i] for i in range(10)] == CLASS_NAMES
    assert {name: i for name, i in c.label2id.items()} == {name: i for i, name in enumerate(CLASS_NAMES)}
    assert (VIT_DIR / "model.safetensors").stat().st_size < 5_000_000
    assert not list(VIT_DIR.glob("*.bin"))


def test_the_shipped_model_attends_over_50_tokens_per_head():
    model = _model(VIT_DIR, attn_implementation="eager")
    with torch.no_grad():
        out = model(pixel_values=torch.zeros(1, 3, 28, 28), output_attentions=True)
    assert len(out.attentions) == model.config.num_hidden_layers
    assert out.attentions[0].shape == (1, model.config.num_attention_heads, 50, 50)


def test_the_gallery_is_the_first_three_test_images_of_every_class():
    entries = _gallery()
    assert len(entries) == 30
    assert sorted(e["label"] for e in entries) == sorted(list(range(10)) * 3)
    assert [e["test_index"] for e in entries] == sorted(e["test_index"] for e in entries)
    for e in entries:
        assert e["class_name"] == CLASS_NAMES[e["label"]]
        assert e["file"] == f"t10k-{e['test_index']:05d}-{slug(e['class_name'])}.png"
        assert re.fullmatch(r"t10k-\d{5}-[a-z0-9-]+\.png", e["file"])
        with Image.open(GALLERY_DIR / e["file"]) as im:
            assert (im.mode, im.size) == ("L", (28, 28))
    assert slug("T-shirt/top") == "t-shirt-top" and slug("Ankle boot") == "ankle-boot"
    assert sum(p.stat().st_size for p in GALLERY_DIR.iterdir()) < 50_000


def test_the_shipped_model_classifies_the_gallery(shipped):
    model, processor = shipped
    entries = _gallery()
    images = [Image.open(GALLERY_DIR / e["file"]) for e in entries]
    with torch.no_grad():
        logits = model(**processor(images, return_tensors="pt")).logits
    predicted = logits.argmax(-1).tolist()
    correct = sum(p == e["label"] for p, e in zip(predicted, entries))
    assert correct >= 24, [(e["file"], model.config.id2label[p]) for p, e in zip(predicted, entries)]


# ------------------------------------------------------------------------------------------- (c) train_log.json
def test_train_log_states_the_test_accuracy_and_the_command():
    info = json.loads((VIT_DIR / "train_log.json").read_text(encoding="utf-8"))
    assert info["test_images"] == 10_000
    assert 0.85 <= info["test_accuracy"] <= 1.0
    assert set(info["per_class_accuracy"]) == set(CLASS_NAMES)
    per_class = np.mean(list(info["per_class_accuracy"].values()))
    assert per_class == pytest.approx(info["test_accuracy"], abs=1e-3)  # 1,000 test images per class
    assert np.sum(info["confusion_matrix"]["counts"]) == 10_000
    assert info["command"].startswith("python scripts/train_vit_fashion.py")
    assert info["seed"] == 1234 and info["threads"] == 1
    assert info["train_seconds"] <= 30 * 60
    assert info["model"] == "vit-fashion" and "ViTForImageClassification" in info["architecture"]
    assert info["params"] == sum(p.numel() for p in _model(VIT_DIR).parameters())


# ------------------------------------------------------------------------------------------- (d) the processor
def test_the_saved_processor_reproduces_the_training_tensor():
    processor = _processor(VIT_DIR)
    for e in _gallery()[:10]:
        with Image.open(GALLERY_DIR / e["file"]) as im:
            gray = np.array(im)  # (28, 28) uint8: the test image
            expected = to_pixel_values(gray[None])  # (1, 3, 28, 28): what training fed the model
            for upload in (im, im.convert("RGB")):
                got = processor(upload, return_tensors="pt")["pixel_values"]
                assert got.shape == (1, 3, 28, 28) and got.dtype == torch.float32
                torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
