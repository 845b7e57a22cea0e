"""The interface text catalog: both languages everywhere, the same placeholders in each."""

import string

import pytest

from attnviz.i18n import MESSAGES, translate
from attnviz.masks import MaskSpec
from attnviz.text import InputError, clean_text


def placeholders(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_text_has_both_languages_with_the_same_placeholders(key):
    entry = MESSAGES[key]
    assert set(entry) == {"en", "zh"}
    assert entry["en"].strip() and entry["zh"].strip()
    assert placeholders(entry["en"]) == placeholders(entry["zh"])


def test_unknown_key_is_an_error():
    with pytest.raises(KeyError):
        translate("no.such.key", "zh")


def test_library_messages_translate():
    with pytest.raises(InputError) as error:
        clean_text("   ")
    assert error.value.message("zh") == "请输入一句话来查看注意力：文本为空。"
    assert "empty" in str(error.value)
    assert clean_text("a\x07b").messages("zh") == ["已从文本中删除 1 个控制字符。"]
    assert MaskSpec(causal=True, window=3).describe("zh") == "因果、窗口 3"


def test_bold_closes_where_markdown_can_close_it():
    """CommonMark closes ``**`` after punctuation only before a space or more punctuation: ``**相似度：**在`` shows
    its asterisks on the page. Every closing ``**`` of every text must be able to close."""
    import re
    import unicodedata

    from attnviz.i18n import CATALOGUES

    def punctuation(char: str) -> bool:
        return unicodedata.category(char).startswith("P")

    stuck = []
    for catalogue in CATALOGUES.values():
        for key, texts in catalogue.items():
            for lang, text in texts.items():
                closing = [m.start() for m in re.finditer(r"\*\*", text)][1::2]
                for at in closing:
                    before, after = text[at - 1], text[at + 2] if at + 2 < len(text) else " "
                    if punctuation(before) and not (after.isspace() or punctuation(after)):
                        stuck.append((key, lang, text[max(0, at - 12) : at + 6]))
    assert not stuck, stuck
