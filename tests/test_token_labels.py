"""Token labels read as text for every tokenizer style: byte-level BPE (Ġ), SentencePiece (▁), WordPiece (##).

The same labels reach the captures, the figures' ticks and hovers, and the exports (with the vocabulary's own
pieces beside them). Each style is checked by rebuilding the typed text from the labels alone.
"""

from __future__ import annotations

import re

import numpy as np

import attnviz
from attnviz.models.base import encode_texts
from attnviz.text import CONTINUES, readable_token, token_style

from tiny_tokenizer import byte_level_tokenizer

CORPUS = ["the cat sat on the mat", "the dog chased the cat", "猫坐在垫子上", "a playful kitten plays"]


def from_labels(labels: list[str]) -> str:
    """The text back from byte-level labels: bytes of split characters (\\xNN) joined before decoding."""
    raw = "".join(labels)
    data = re.sub(r"\\x([0-9a-f]{2})", lambda m: f"%{m.group(1)}", raw.replace("%", "%25"))
    from urllib.parse import unquote

    return unquote(data, encoding="utf-8")


def test_byte_level_labels_are_the_text_and_split_characters_show_their_bytes():
    tokenizer = byte_level_tokenizer(CORPUS, bos_prefix=False)
    assert token_style(tokenizer) == "byte-level"
    text = "the cat sat on 垫子 猫"
    encoding = encode_texts(tokenizer, [text], 64, style="byte-level")
    labels = encoding.tokens[0]
    assert not any("Ġ" in label for label in labels) and " cat" in labels
    assert from_labels(labels) == text
    assert any(label.startswith("\\x") or " \\x" in label for label in labels)  # a character split over tokens
    assert encoding.pieces[0] == tokenizer.convert_ids_to_tokens(encoding.input_ids[0].tolist())


def test_sentencepiece_labels_turn_the_marker_into_a_space():
    from tokenizers import SentencePieceBPETokenizer
    from transformers import PreTrainedTokenizerFast

    spm = SentencePieceBPETokenizer()
    spm.train_from_iterator(CORPUS, vocab_size=120, special_tokens=["<unk>", "<pad>"], show_progress=False)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=spm._tokenizer, unk_token="<unk>", pad_token="<pad>")
    assert token_style(tokenizer) == "sentencepiece"
    text = "the cat chased a kitten"
    labels = encode_texts(tokenizer, [text], 64, style="sentencepiece").tokens[0]
    assert not any("▁" in label for label in labels)
    assert "".join(labels).strip() == text


def test_wordpiece_labels_mark_the_pieces_that_continue_a_word(minilm):
    text = "attnviz visualises dcformer heads"
    cap = attnviz.capture(text, minilm)
    words = " ".join(t for t in cap.tokens if t not in ("[CLS]", "[SEP]")).replace(" " + CONTINUES, "")
    assert words == text
    assert any(t.startswith(CONTINUES) for t in cap.tokens) and not any(t.startswith("##") for t in cap.tokens)
    assert [str(p) for p in cap["token_pieces"]][:2] == ["[CLS]", "at"]
    assert readable_token("[CLS]", "wordpiece", special=True) == "[CLS]" and readable_token("##", "wordpiece") == "##"


def test_a_decoders_ticks_hovers_and_export_read_as_text(build, tmp_path):  # noqa: F811
    from attnviz.figures import attention as plots
    from attnviz.export import capture_npz

    model = build("gpt2").adapter
    cap = attnviz.capture("the cat sat on the mat", model)
    assert " sat" in cap.tokens and not any("Ġ" in t for t in cap.tokens)
    fig = plots.map_heatmap(cap.pattern(0)[0], cap.tokens, scores=cap.scores(0)[0], allowed=cap.mask(0))
    # the tick shows the word and its leading space, drawn as ␣ (one glyph for a space on every view); the data keep " "
    assert "␣sat" in fig.layout.xaxis.ticktext and "Ġsat" not in str(fig.to_plotly_json())
    arrays = np.load(__import__("io").BytesIO(capture_npz(dict(cap))))
    assert " sat" in arrays["tokens"].tolist() and "Ġsat" in arrays["token_pieces"].tolist()


def test_white_space_has_one_glyph_in_every_view():
    """A space, a newline and a tab read the same on the main page, Generation, the Encoder-decoder page, Head
    importance and the DCMHA page (they were blank on one, ␣/↵ on another)."""
    from attnviz.analysis.dcmha import labels as dcmha_labels
    from attnviz.capture import Capture
    from attnviz.figures import attention as plots
    from attnviz.figures import importance, seq2seq
    from attnviz.figures.style import labels
    from attnviz.masks import MaskSpec
    from attnviz.text import token_label

    tokens = ["a", " ", "\n", "\t", "b c"]
    expected = ["a", "␣", "↵", "⇥", "b␣c"]
    assert [token_label(t) for t in tokens] == expected
    assert labels(tokens) == importance.token_labels(tokens) == seq2seq.show_chars(tokens) == expected
    cap = Capture(
        {"tokens": np.array(tokens)},
        model_name="m",
        n_layers=1,
        n_heads=1,
        spec=MaskSpec(),
        special=[False] * 5,
        truncated=False,
        full_length=5,
    )
    assert dcmha_labels(cap) == expected
    assert list(plots.map_heatmap(np.eye(5), tokens).layout.yaxis.ticktext) == expected
