"""The command line: arrays under the documented names, one-line errors, non-zero exits."""

import subprocess
import sys

import numpy as np
import pytest

from attnviz.cli import main
from attnviz.masks import MaskSpec
from mask_reference import reference_scores


def test_capture_writes_every_named_array(tmp_path, capsys):
    out = tmp_path / "cap.npz"
    assert main(["capture", "--text", "The cat sat.", "--causal", "--window", "2", "--out", str(out)]) == 0
    data = np.load(out)
    assert data["tokens"].tolist() == ["[CLS]", "the", "cat", "sat", ".", "[SEP]"]
    for layer in range(6):
        for hook in ("hook_q", "hook_k", "hook_v", "hook_scores", "hook_mask", "hook_pattern", "hook_z"):
            assert f"blocks.{layer}.attn.{hook}" in data
    mask = data["blocks.0.attn.hook_mask"]
    assert mask[3].tolist() == [False, False, True, True, False, False]
    assert "wrote" in capsys.readouterr().out


def test_capture_applies_prefix_sinks_and_dilation_together_and_each_alone(tmp_path, capsys):
    """--prefix 3 --sinks 2 --window 4 --dilation 2 records the combined mask in hook_mask, cell by cell as the rules
    say, and every layer's pattern is zero outside it; each flag alone narrows MiniLM's full view."""
    text = "one two three four five six seven eight nine ten"  # 12 tokens with [CLS] and [SEP]
    out = tmp_path / "rules.npz"
    argv = ["capture", "--text", text, "--prefix", "3", "--sinks", "2", "--window", "4", "--dilation", "2"]
    assert main([*argv, "--out", str(out)]) == 0
    assert "prefix-LM over the first 3, window 4, dilation 2, 2 sink tokens" in capsys.readouterr().out
    data = np.load(out)
    n = len(data["tokens"])
    expected = [
        [(j <= i or (i < 3 and j < 3)) and ((abs(i - j) < 4 and (i - j) % 2 == 0) or j < 2) for j in range(n)]
        for i in range(n)
    ]
    for layer in range(6):
        mask = data[f"blocks.{layer}.attn.hook_mask"]
        assert mask.tolist() == expected
        assert (data[f"blocks.{layer}.attn.hook_pattern"][:, ~mask] == 0).all()
    for flag, value in (("--prefix", "3"), ("--sinks", "2"), ("--dilation", "2")):
        alone = tmp_path / f"{flag[2:]}.npz"
        assert main(["capture", "--text", text, flag, value, "--window", "5", "--out", str(alone)]) == 0
        windowed = np.load(alone)["blocks.0.attn.hook_mask"]
        assert not windowed.all() and windowed.diagonal().all()


def test_capture_splits_documents_and_modifies_scores_as_the_formulas_say(tmp_path, capsys):
    """--documents splits at blank lines (or at a given separator): a query sees only its own document's tokens.
    --alibi and --softcap change layer 0's hook_scores (same q and k) exactly as the formulas say."""
    text = "the cat sat\n\non the mat"
    out = tmp_path / "documents.npz"
    assert main(["capture", "--text", text, "--documents", "--out", str(out)]) == 0
    assert "2 documents" in capsys.readouterr().out
    data = np.load(out)
    assert data["tokens"].tolist() == ["[CLS]", "the", "cat", "sat", "on", "the", "mat", "[SEP]"]
    document = np.array([0, 0, 0, 0, 1, 1, 1, 1])  # [CLS] with the first, [SEP] with the last
    for layer in range(6):
        assert data[f"blocks.{layer}.attn.hook_mask"].tolist() == (document[:, None] == document[None, :]).tolist()
    out = tmp_path / "separator.npz"
    assert main(["capture", "--text", "one | two three | four", "--documents", "|", "--out", str(out)]) == 0
    assert "3 documents" in capsys.readouterr().out
    mask = np.load(out)["blocks.0.attn.hook_mask"]  # [CLS] one | two three | four [SEP]: | ends its document
    assert np.flatnonzero(mask[3]).tolist() == [3, 4, 5]
    plain, modified = tmp_path / "plain.npz", tmp_path / "modified.npz"
    assert main(["capture", "--text", "The cat sat on the mat.", "--out", str(plain)]) == 0
    assert (
        main(["capture", "--text", "The cat sat on the mat.", "--alibi", "--softcap", "3", "--out", str(modified)]) == 0
    )
    assert "ALiBi, soft-cap 3" in capsys.readouterr().out
    before, after = np.load(plain)["blocks.0.attn.hook_scores"], np.load(modified)["blocks.0.attn.hook_scores"]
    np.testing.assert_allclose(after, reference_scores(before, MaskSpec(alibi=True, softcap=3.0)), atol=1e-5)


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["capture", "--text", "hi", "--window", "0", "--out", "x.npz"], "--window"),
        (["capture", "--text", "hi", "--chunk", "two", "--out", "x.npz"], "whole number"),
        (["capture", "--text", "hi", "--dilation", "0", "--out", "x.npz"], "--dilation"),
        (["capture", "--text", "hi", "--softcap", "0", "--out", "x.npz"], "--softcap"),
        (["capture", "--text", "hi", "--softcap", "nan", "--out", "x.npz"], "--softcap"),
        (["capture", "--out", "x.npz"], "--text"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_arguments_exit_non_zero_with_one_line(argv, fragment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code != 0
    err = capsys.readouterr().err
    assert fragment in err and len(err.strip().splitlines()) == 1


def test_empty_text_and_unknown_model_are_one_line_errors(tmp_path, capsys):
    assert main(["capture", "--text", "  ", "--out", str(tmp_path / "a.npz")]) == 1
    assert (
        main(["capture", "--model", str(tmp_path / "nowhere"), "--text", "hi", "--out", str(tmp_path / "b.npz")]) == 1
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "empty" in lines[0] and "no such model directory" in lines[1]


def test_local_model_directory(tmp_path, minilm):
    """Any local Hugging Face BERT-family directory works; here a copy of the shipped model saved afresh."""
    minilm.hf.save_pretrained(tmp_path / "copy")
    minilm.tokenizer.save_pretrained(tmp_path / "copy")
    out = tmp_path / "local.npz"
    assert main(["capture", "--model", str(tmp_path / "copy"), "--text", "hello", "--out", str(out)]) == 0
    assert np.load(out)["blocks.0.attn.hook_pattern"].shape == (12, 3, 3)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_console_help_documents_capture():
    result = subprocess.run([sys.executable, "-m", "attnviz", "capture", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--window" in result.stdout and "hook_pattern" in result.stdout


def test_generate_greedy_is_deterministic_and_sampling_is_seeded(capsys):
    assert main(["generate", "--prompt", "The cat", "-n", "20"]) == 0
    first = capsys.readouterr().out
    assert main(["generate", "--prompt", "The cat", "-n", "20"]) == 0
    assert capsys.readouterr().out == first and first.startswith("The cat") and len(first.rstrip("\n")) == 27
    outputs = []
    for seed in (1, 1, 2):
        assert (
            main(
                [
                    "generate",
                    "--model",
                    "mha-tiny",
                    "--prompt",
                    "床前",
                    "-n",
                    "15",
                    "--temperature",
                    "1.0",
                    "--top-k",
                    "20",
                    "--seed",
                    str(seed),
                ]
            )
            == 0
        )
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and outputs[0].startswith("床前")


def test_generate_refuses_an_encoder(capsys):
    assert main(["generate", "--model", "all-MiniLM-L6-v2", "--prompt", "x"]) == 1
    assert "not a language model" in capsys.readouterr().err


def test_linear_and_full_captures_on_the_command_line(tmp_path, capsys):
    """--linear writes q, k, v, z and the row normalisers, not the maps, and says what --full would add; the maps
    rebuilt from them equal the ones --full writes."""
    from attnviz import tiles
    from attnviz.capture import Capture

    text = "The cat sat on the mat."
    full, linear = tmp_path / "full.npz", tmp_path / "linear.npz"
    assert main(["capture", "--text", text, "--causal", "--full", "--out", str(full)]) == 0
    assert main(["capture", "--text", text, "--causal", "--linear", "--out", str(linear)]) == 0
    assert "--full writes them" in capsys.readouterr().err
    whole, small = np.load(full), dict(np.load(linear))
    assert "blocks.0.attn.hook_pattern" in whole and "blocks.0.attn.hook_pattern" not in small
    assert {"blocks.0.attn.hook_lse", "blocks.0.attn.hook_score_scale", "blocks.0.attn.hook_q"} <= set(small)
    n = len(small["tokens"])
    cap = Capture(
        small,
        model_name="all-MiniLM-L6-v2",
        n_layers=6,
        n_heads=12,
        spec=MaskSpec(causal=True),
        special=np.zeros(n, bool),
        truncated=False,
        full_length=n,
        layer_windows=[None] * 6,
        causal=True,
    )
    for layer in range(6):
        np.testing.assert_allclose(
            tiles.full_pattern(cap, layer), whole[f"blocks.{layer}.attn.hook_pattern"], atol=1e-5
        )
    with pytest.raises(SystemExit):
        main(["capture", "--text", text, "--full", "--linear", "--out", str(full)])


def test_generate_continues_with_any_decoder_through_the_one_loop(capsys):
    """mistral-char (a transformers decoder) generates through the same loop as the DCFormers (its decode_step);
    before, the command read a character model's private vocabulary and failed on it with a traceback."""
    assert main(["generate", "--model", "mistral-char", "--prompt", "The cat", "-n", "12"]) == 0
    out = capsys.readouterr().out.rstrip("\n")
    assert out.startswith("The cat") and len(out) == len("The cat") + 12  # one character per token
