"""Splitting a text into documents: where each begins, in characters and in tokens."""

import pytest

from attnviz.text import InputError, clean_text, document_boundaries, document_starts


def test_documents_begin_after_blank_lines_or_a_separator_and_tokens_follow_their_first_character():
    clean = clean_text("one two\n\n\n  three\n \nfour\u200b five")  # line breaks become spaces, the zero-width one goes
    assert clean.text == "one two     three   four five"
    assert document_boundaries(clean) == [clean.text.index("three"), clean.text.index("four")]
    assert document_boundaries(clean_text("\n\nlead and trail\n\n")) == []  # blank lines before or after the text
    assert document_boundaries(clean_text("one\ntwo")) == []  # a line break is not a blank line
    assert document_boundaries(clean_text("a|b||c"), "|") == [2, 4, 5]
    with pytest.raises(InputError):
        document_boundaries(clean_text("a"), "x" * 17)
    with pytest.raises(InputError):
        document_boundaries(clean_text("a"), "")
    # [CLS] one two ĊĊ three four [SEP]: a token holding the blank line stays with the document it ends; specials
    # ((0, 0)) stay with the tokens before them; an empty document merges into the next
    offsets = [(0, 0), (0, 3), (3, 7), (7, 9), (9, 14), (15, 19), (0, 0)]
    assert document_starts(offsets, [9, 15]) == (4, 5)
    assert document_starts(offsets, [9, 9, 15]) == (4, 5)
    assert document_starts(offsets, []) == ()
    assert document_starts([(0, 1), (1, 2)], [1]) == (1,)
