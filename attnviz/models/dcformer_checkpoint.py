"""DCFormer checkpoints: ``model.safetensors`` with the published tensor names and ``config.json`` (no pickle, no
remote code). The model is :mod:`attnviz.models.dcformer`; its character vocabulary (``vocab.json`` beside the
weights) is :class:`attnviz.models.vocab.CharTokenizer`."""

from __future__ import annotations

import json
import os
from typing import Any

import torch

from .base import CheckpointError
from .dcformer import DCFormer, DCFormerConfig


def _resolve_files(src: Any) -> tuple[dict | None, list[str]]:
    """dir -> (config, [*.safetensors]); list of files -> (config if a .json is among them, files)."""
    if isinstance(src, (str, os.PathLike)) and os.path.isdir(src):
        d = os.fspath(src)
        files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".safetensors"))
        cfg_path = os.path.join(d, "config.json")
        cfg = json.load(open(cfg_path, encoding="utf-8")) if os.path.exists(cfg_path) else None
        return cfg, files
    items = [src] if isinstance(src, (str, os.PathLike)) else list(src)
    cfg, files = None, []
    for it in items:
        it = os.fspath(it)
        if it.endswith(".json"):
            cfg = json.load(open(it, encoding="utf-8"))
        else:
            files.append(it)
    return cfg, files


def load_dcformer(
    src: Any, config: DCFormerConfig | dict | None = None, device: str = "cpu", strict: bool = True
) -> DCFormer:
    """Load a DCFormer from safetensors + JSON config (no pickle, no remote code).

    ``src``: a directory holding ``config.json`` and ``*.safetensors`` (sharded files are merged),
    or a list of files. Accepts the fused ``attention.wqkv.weight`` or separate ``wq/wk/wv``.
    bf16/fp16 tensors are converted to float32. Raises :class:`CheckpointError` naming every
    missing / mis-shaped (and, if strict, unexpected) tensor with expected and actual shape.
    """
    from safetensors.torch import load_file

    cfg_dict, files = _resolve_files(src)
    if config is not None:
        cfg_dict = config.to_dict() if isinstance(config, DCFormerConfig) else dict(config)
    if cfg_dict is None:
        raise FileNotFoundError(f"no config.json found for {src!r}")
    if not files:
        raise FileNotFoundError(f"no .safetensors file found in {src!r}")
    cfg = DCFormerConfig.from_dict(cfg_dict)
    sd: dict[str, torch.Tensor] = {}
    for f in files:
        sd.update(load_file(f, device="cpu"))
    sd = {k.removeprefix("model."): v for k, v in sd.items()}  # tolerate a 'model.' prefix
    # separate wq / wk / wv -> fused wqkv (stacked on dim 0)
    for i in range(cfg.n_layer):
        p = f"layers.{i}.attention."
        parts = [p + n + ".weight" for n in ("wq", "wk", "wv")]
        if all(n in sd for n in parts) and p + "wqkv.weight" not in sd:
            sd[p + "wqkv.weight"] = torch.cat([sd.pop(n) for n in parts], dim=0)
    model = DCFormer(cfg)
    want = model.state_dict()
    problems = []
    for name, ref in want.items():
        if name not in sd:
            problems.append(f"missing {name}: expected shape {tuple(ref.shape)}")
        elif tuple(sd[name].shape) != tuple(ref.shape):
            problems.append(f"mis-shaped {name}: expected shape {tuple(ref.shape)}, got {tuple(sd[name].shape)}")
    if strict:
        for name in sd:
            if name not in want:
                problems.append(f"unexpected {name}: shape {tuple(sd[name].shape)}")
    if problems:
        raise CheckpointError(
            "model.checkpoint_problems", name=repr(src), count=len(problems), problems="\n  ".join(problems)
        )
    model.load_state_dict({k: sd[k].to(torch.float32) for k in want}, strict=True)
    return model.to(device).eval()


def save_dcformer(
    model: DCFormer, out_dir: str, extra_config: dict | None = None, dtype: torch.dtype = torch.float32
) -> None:
    """Write ``model.safetensors`` (published names) and ``config.json`` to ``out_dir``."""
    from safetensors.torch import save_file

    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v.detach().to("cpu", dtype).contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    cfg = model.config.to_dict()
    if extra_config:
        cfg.update(extra_config)
    with open(os.path.join(out_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, ensure_ascii=False)
