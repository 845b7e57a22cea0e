#!/usr/bin/env python
"""Train a small Vision Transformer on Fashion-MNIST and write it as a Hugging Face folder, plus the image gallery.

    apt-get install -y dataset-fashion-mnist
    python scripts/train_vit_fashion.py     # writes assets/vit-fashion, assets/gallery/fashion-mnist (~26 min, 1 thread)

transformers' own ViTForImageClassification: 28×28 images, 3 channels (the gray one replicated), 4×4 patches
(a 7×7 grid + [CLS] = 50 tokens), 4 pre-norm layers, hidden 96, 4 heads of 24, GELU MLP 96 -> 192 -> 96.
The folder is a plain Hugging Face checkpoint (config.json with the class names, model.safetensors,
preprocessor_config.json: a ViTImageProcessor that reproduces the training inputs) plus train_log.json (command,
seed, settings, time, accuracy over the whole 10,000-image test split, per class). The gallery is the first three
test images of every class as 28×28 grayscale PNGs, with gallery.json.
Runs on 1 CPU thread (torch.set_num_threads(1)); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from attnviz.training.vit_fashion import (  # noqa: E402
    CLASS_NAMES,
    FASHION_DIR,
    PIXEL_MEAN,
    PIXEL_STD,
    ModelSettings,
    TrainSettings,
    architecture,
    load_split,
    make_config,
    make_processor,
    num_params,
    per_class_accuracy,
    pixel_stats,
    predict,
    resolve_steps,
    save_folder,
    settings_dict,
    train,
    write_gallery,
)

PARTIAL_EVAL = 2000  # the test images scored after every epoch, for the log (the final score uses all 10,000)


def augmentation(s: TrainSettings) -> str:
    parts = [f"random 28×28 crop of the image padded by {s.crop_pad} black pixels"] if s.crop_pad else []
    parts += ["horizontal flip with probability 1/2"] if s.hflip else []
    return ", ".join(parts) or "none"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="assets/vit-fashion")
    ap.add_argument("--gallery-dir", default="assets/gallery/fashion-mnist")
    ap.add_argument("--no-gallery", action="store_true", help="do not write the gallery")
    ap.add_argument("--data-dir", default=FASHION_DIR, help="the folder of the IDX .gz files")
    ap.add_argument("--seed", type=int, default=1234, help="initialisation, data order and augmentation")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--steps", type=int, default=0, help="optimiser steps (0: epochs × (60000 // batch size))")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument(
        "--crop-pad", type=int, default=0, help="augmentation: random crops of the image padded by this many pixels"
    )
    ap.add_argument("--flip", action="store_true", help="augmentation: random horizontal flips")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)

    train_images, train_labels = load_split("train", args.data_dir)
    test_images, test_labels = load_split("t10k", args.data_dir)
    mean, std = pixel_stats(train_images)
    print(
        f"Fashion-MNIST: {len(train_images)} training, {len(test_images)} test images; training pixels mean "
        f"{mean:.5f} std {std:.5f} (normalised with {PIXEL_MEAN}, {PIXEL_STD})",
        flush=True,
    )
    if abs(mean - PIXEL_MEAN) > 5e-4 or abs(std - PIXEL_STD) > 5e-4:
        raise SystemExit(f"{args.data_dir}: pixel statistics {mean:.5f}, {std:.5f} are not Fashion-MNIST's")
    if not args.no_gallery:
        print(f"wrote {write_gallery(test_images, test_labels, args.gallery_dir)}", flush=True)

    m = ModelSettings()
    s = resolve_steps(
        TrainSettings(
            epochs=args.epochs,
            steps=args.steps,
            batch_size=args.batch_size,
            lr=args.lr,
            warmup=args.warmup,
            crop_pad=args.crop_pad,
            hflip=args.flip,
            seed=args.seed,
        ),
        len(train_images),
    )
    command = " ".join(
        [
            "python scripts/train_vit_fashion.py",
            *(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
        ]
    )
    t0 = time.time()
    model, hist = train(
        make_config(m),
        train_images,
        train_labels,
        s,
        log=lambda line: print(line, flush=True),
        eval_data=(test_images[:PARTIAL_EVAL], test_labels[:PARTIAL_EVAL]),
    )
    train_seconds = time.time() - t0
    t1 = time.time()
    preds = predict(model, test_images)
    eval_seconds = time.time() - t1
    accuracy = float((preds == test_labels).mean())
    per_class = per_class_accuracy(preds, test_labels)
    print(
        f"test accuracy {accuracy:.4f} over {len(test_labels)} images  (train {train_seconds / 60:.1f} min, "
        f"eval {eval_seconds:.0f} s, {num_params(model)} params)",
        flush=True,
    )
    for name, acc in per_class.items():
        print(f"  {name:12s} {acc:.4f}", flush=True)

    last = hist["train_loss"][-50:]
    confusion = np.zeros((len(CLASS_NAMES), len(CLASS_NAMES)), dtype=np.int64)
    np.add.at(confusion, (test_labels, preds), 1)
    info = {
        "model": "vit-fashion",
        "architecture": architecture(m),
        "command": command,
        "seed": args.seed,
        "epochs": s.steps / (len(train_images) // s.batch_size),
        "steps": s.steps,
        "test_accuracy": round(accuracy, 4),
        "test_images": int(len(test_labels)),
        "test_accuracy_note": "the whole Fashion-MNIST test split (t10k, 10,000 images), each once, no augmentation",
        "per_class_accuracy": per_class,
        "confusion_matrix": {"rows": "true class", "columns": "predicted class", "counts": confusion.tolist()},
        "final_train_loss_mean_last50": round(sum(last) / len(last), 4),
        "train_seconds": round(train_seconds, 1),
        "eval_seconds": round(eval_seconds, 1),
        "threads": args.threads,
        "params": num_params(model),
        "settings": settings_dict(s),
        "model_settings": settings_dict(m),
        "preprocessing": {
            "convert_rgb": "the gray channel three times",
            "rescale": "1/255",
            "mean": PIXEL_MEAN,
            "std": PIXEL_STD,
            "train_pixel_mean": round(mean, 6),
            "train_pixel_std": round(std, 6),
            "augmentation": augmentation(s),
        },
        "data": {
            "source": "Debian package dataset-fashion-mnist (" + args.data_dir + ")",
            "train_images": int(len(train_images)),
            "test_images": int(len(test_images)),
            "classes": CLASS_NAMES,
        },
        "partial_test_accuracy_after_epoch": {
            "images": f"the first {PARTIAL_EVAL} of the test split (progress only: nothing is chosen by it)",
            "after_step": hist["epoch_eval"],
        },
        "torch": torch.__version__,
        "transformers": __import__("transformers").__version__,
        "machine": platform.machine(),
    }
    out = save_folder(model, args.out, make_processor(), info)
    print(f"wrote {out}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
