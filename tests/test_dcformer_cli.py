"""`attnviz generate` on a local checkpoint folder and scripts/train_dcformer.py, on a tiny random model / synthetic corpus."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import torch

from attnviz.models.dcformer import DCFormer, DCFormerConfig
from attnviz.models.vocab import CharTokenizer
from attnviz.models.dcformer_checkpoint import save_dcformer

ROOT = Path(__file__).resolve().parents[1]
torch.set_num_threads(1)


def _load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _tiny_dir(tmp_path):
    tok = CharTokenizer.from_text("abc def 你好")
    torch.manual_seed(0)
    m = DCFormer(DCFormerConfig(vocab_size=len(tok), dim=16, n_layer=2, n_head=2, window_size=4))
    save_dcformer(m, tmp_path)
    tok.save(tmp_path / "vocab.json")
    return tmp_path


def test_generate_cli_greedy_and_sampled(tmp_path, capsys):
    from attnviz.cli import main

    d = _tiny_dir(tmp_path)
    assert main(["generate", "--model", str(d), "--prompt", "ab", "-n", "10"]) == 0
    greedy = capsys.readouterr().out
    assert greedy.startswith("ab") and len(greedy.rstrip("\n")) >= 2
    sampled = [
        "generate",
        "--model",
        str(d),
        "--prompt",
        "你",
        "-n",
        "10",
        "--temperature",
        "1.0",
        "--top-k",
        "3",
        "--seed",
        "3",
    ]
    main(sampled)
    a = capsys.readouterr().out
    main(sampled)
    assert capsys.readouterr().out == a


def test_train_cli_on_synthetic_corpus(tmp_path):
    corpus = tmp_path / "fortunes"
    corpus.mkdir()
    (corpus / "en").write_text(
        "\n%\n".join(f"fortune number {i}: the cat sat on the mat." for i in range(60)) + "\n%\n"
    )
    (corpus / "zh").write_text("\n%\n".join(f"第{i}条：床前明月光，疑是地上霜。" for i in range(60)) + "\n%\n")
    (corpus / "zh.dat").write_bytes(b"\x00\x01")
    tr = _load_script("train_dcformer")
    out = tmp_path / "assets"
    assert (
        tr.main(
            [
                "--out-dir",
                str(out),
                "--corpus-dir",
                str(corpus),
                "--steps",
                "3",
                "--batch-size",
                "2",
                "--context",
                "32",
                "--window",
                "8",
                "--q-chunk-size",
                "16",
                "--dim",
                "16",
                "--n-layer",
                "2",
                "--n-head",
                "2",
                "--min-count",
                "1",
            ]
        )
        == 0
    )
    for name in ("dcformer-tiny", "mha-tiny"):
        log = json.loads((out / name / "train_log.json").read_text())
        assert log["steps"] == 3 and log["seed"] == 1234 and log["heldout_loss"] > 0
        assert (out / name / "model.safetensors").exists() and (out / name / "vocab.json").exists()
    a = json.loads((out / "dcformer-tiny" / "config.json").read_text())
    b = json.loads((out / "mha-tiny" / "config.json").read_text())
    assert {k for k in a if a[k] != b[k]} == {"use_dcmha"}
