"""What the training loops here share: the optimiser set-up, the learning-rate schedule, one optimiser step, and
writing a trained model's Hugging Face folder."""

from __future__ import annotations

import json
import math
from pathlib import Path

import torch


def lr_at(step: int, s) -> float:
    """Linear warmup over ``s.warmup`` steps, then cosine from ``s.lr`` down to ``s.lr * s.min_lr_frac`` at the last
    of ``s.steps``."""
    if step < s.warmup:
        return s.lr * (step + 1) / s.warmup
    p = min(1.0, (step - s.warmup) / max(1, s.steps - s.warmup))
    return s.lr * (s.min_lr_frac + (1 - s.min_lr_frac) * 0.5 * (1 + math.cos(math.pi * p)))


def take_step(
    model: torch.nn.Module, opt: torch.optim.Optimizer, loss: torch.Tensor, lr: float, grad_clip: float
) -> float:
    """Set the learning rate, back-propagate ``loss``, clip the gradient norm (if ``grad_clip``), step; the loss."""
    for group in opt.param_groups:
        group["lr"] = lr
    opt.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return loss.item()


def adamw(model: torch.nn.Module, s) -> torch.optim.Optimizer:
    """AdamW with ``s.lr`` and ``s.weight_decay`` on the matrices (embeddings, projections, output); norms' gains and
    biases do not decay."""
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, p in model.named_parameters():
        (decay if p.dim() == 2 and "norm" not in name else no_decay).append(p)
    return torch.optim.AdamW(
        [{"params": decay, "weight_decay": s.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=s.lr,
        betas=(0.9, 0.95),
    )


def save_hf_folder(model, preprocessor, out_dir, log_info: dict | None = None) -> Path:
    """A Hugging Face folder: config.json, model.safetensors (transformers 5 writes safetensors only), what
    ``preprocessor`` saves (a tokenizer's files, an image processor's preprocessor_config.json), and train_log.json
    when given. Refuses a folder that ends up with pickled weights or without the safetensors file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    preprocessor.save_pretrained(out)
    if any(out.glob("*.bin")) or not (out / "model.safetensors").exists():  # never pickled weights
        raise RuntimeError(f"{out}: expected model.safetensors only")
    if log_info is not None:
        with open(out / "train_log.json", "w", encoding="utf-8") as f:
            json.dump(log_info, f, indent=2, ensure_ascii=False)
            f.write("\n")
    return out
