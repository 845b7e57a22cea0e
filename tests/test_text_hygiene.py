"""Text hygiene: every text box of every page goes through attnviz.text.clean_text, says what it removed the
same way, and never echoes a control or invisible formatting character back to the user."""

import json
from pathlib import Path

import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from attnviz.text import InputError, clean_text, escape_markdown

TIMEOUT = 120
ROOT = Path(__file__).resolve().parent.parent

# A right-to-left override, a zero-width space, an ANSI colour escape and a NUL: what a probe typed.
HOSTILE = "The cat\u202e sat\u200b on \x1b[31mthe mat\x00."
FORBIDDEN = {"\x1b": "ESC", "\x00": "NUL", "\u202e": "RLO", "\u200b": "ZWSP"}
CONTROL_NOTICE = "Removed 2 control character(s) from the text."
INVISIBLE_NOTICE = "Removed 2 invisible formatting character(s) (bidi overrides, zero-width spaces) from the text."

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # 👨‍👩‍👧: three emoji joined by ZWJ
HEART = "\u2764\ufe0f"  # ❤️: a heart and variation selector 16
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"  # 🏴 + tags g b e n g + cancel


# ----------------------------------------------------------------------------- clean_text


def test_bidi_override_is_removed_with_its_own_notice():
    cleaned = clean_text("abc\u202edef")
    assert cleaned.text == "abcdef"
    assert cleaned.notices == [
        "Removed 1 invisible formatting character(s) (bidi overrides, zero-width spaces) from the text."
    ]
    assert cleaned.messages("zh") == ["已从文本中删除 1 个不可见的格式字符（双向文本控制符、零宽空格等）。"]


@pytest.mark.parametrize(
    "char",
    [
        "\u200b",
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200e",
        "\u200f",
        "\u061c",
        "\u2060",
        "\u2061",
        "\u2062",
        "\u2063",
        "\u2064",
        "\ufeff",
        "\u00ad",
        "\u180e",
        "\U000e0041",
    ],
)
def test_every_invisible_formatting_character_is_removed(char):
    cleaned = clean_text(f"zero{char}width")
    assert cleaned.text == "zerowidth"
    assert cleaned.notice_keys == [("msg.invisible_removed", {"count": 1})]


def test_control_and_invisible_characters_are_counted_apart():
    cleaned = clean_text(HOSTILE)
    assert cleaned.text == "The cat sat on [31mthe mat."
    assert cleaned.notices == [CONTROL_NOTICE, INVISIBLE_NOTICE]
    assert not set(cleaned.text) & set(FORBIDDEN)


@pytest.mark.parametrize("text", [FAMILY, HEART, ENGLAND, "می\u200cخواهم", "क्\u200dष", "a\U000e0100b"])
def test_joiners_variation_selectors_and_tag_flags_stay(text):
    """ZWJ/ZWNJ, variation selectors and a subdivision flag's tags shape what the user sees: never removed."""
    cleaned = clean_text(f"I {text} it")
    assert cleaned.text == f"I {text} it"
    assert cleaned.notices == []


def test_nul_and_esc_are_removed_and_tabs_become_spaces():
    cleaned = clean_text("a\x00b\x1b[1mc\td")
    assert cleaned.text == "ab[1mc d"
    assert cleaned.notices == ["Removed 2 control character(s) from the text."]


@pytest.mark.parametrize("text", ["\u200b", "\u202e\u200b \ufeff", "\u200d\ufe0f", "\x00\u2066 \x1b"])
def test_only_invisible_characters_is_an_input_error(text):
    with pytest.raises(InputError) as error:
        clean_text(text)
    assert error.value.key == "msg.only_control"
    assert "invisible formatting characters" in error.value.message("en")


def test_the_length_cap_keeps_its_notice():
    cleaned = clean_text("\u200b" + "a" * 100_001)
    assert len(cleaned.text) == 100_000
    assert cleaned.notice_keys == [("msg.invisible_removed", {"count": 1}), ("msg.chars_cut", {"count": 100_000})]


def test_escape_markdown_drops_control_and_invisible_characters():
    assert escape_markdown("x\x1b[31m\x00\u202e*y*") == "x\\[31m\\*y\\*"
    assert escape_markdown(FAMILY) == FAMILY


# ----------------------------------------------------------------------------- pages


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def page_nodes(at) -> list:
    """Every element and block of the page, through AppTest's public API: the main area and the sidebar walked down
    their ``children``, and the toasts (Streamlit's third container, which AppTest shows as ``at.toast``)."""
    nodes = [node for area in (at.main, at.sidebar) for node in _walk(area)] + list(at.toast)
    seen = {id(node) for node in nodes}
    for kind in ("text_input", "warning", "info", "markdown", "caption"):  # the walk sees what AppTest's lists see
        assert all(id(node) in seen for node in at.get(kind)), f"a {kind} outside the walked areas"
    return nodes


def _strings(value):
    """Every string inside a proto-as-dict; JSON strings (Plotly figures) are opened too."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, str):
        yield value
        if value[:1] in "{[":
            try:
                yield from _strings(json.loads(value))
            except ValueError:
                pass


def echoed(at) -> list[tuple[str, str, str]]:
    """(element type, forbidden character, text) for every page element that shows one.

    Text boxes are skipped: they hold what the user typed, which is theirs to see."""
    found = []
    for node in page_nodes(at):
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if proto is None or kind == "text_input" or not hasattr(proto, "DESCRIPTOR"):
            continue
        texts = list(_strings(MessageToDict(proto)))
        if kind in ("dataframe", "data_editor", "table"):
            frame = node.value
            texts += [frame.to_csv(), " ".join(map(str, frame.columns))]
        found += [(kind, name, text) for text in texts for char, name in FORBIDDEN.items() if char in text]
    return found


def warnings(at) -> list[str]:
    return [w.value for w in at.warning]


def page(path: str, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / path), default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


@pytest.mark.parametrize("path", ["app.py", "pages/1_Compare_heads.py", "pages/3_Step_by_step.py"])
def test_sentence_pages(path):
    at = page(path)
    assert not echoed(at)  # the check itself sees nothing on a clean page
    at.text_input(key="text").input(HOSTILE).run()
    assert not at.exception
    assert CONTROL_NOTICE in warnings(at) and INVISIBLE_NOTICE in warnings(at)
    assert not echoed(at)


def test_second_sentence_of_the_main_page():
    at = page("app.py")
    at.text_input(key="text2").input(HOSTILE).run()
    assert not at.exception
    assert warnings(at).count(INVISIBLE_NOTICE) == 1 and warnings(at).count(CONTROL_NOTICE) == 1
    assert not echoed(at)


def test_main_page_speaks_chinese():
    at = page("app.py", lang="zh")
    at.text_input(key="text").input(HOSTILE).run()
    assert "已从文本中删除 2 个不可见的格式字符（双向文本控制符、零宽空格等）。" in warnings(at)
    assert "已从文本中删除 2 个控制字符。" in warnings(at)


def test_main_page_text_of_only_invisible_characters():
    at = page("app.py")
    at.text_input(key="text").input("\u202e\u200b\x00").run()
    assert not at.exception
    assert any("invisible formatting characters" in m.value for m in at.info)
    assert not echoed(at)


def test_main_page_quotes_unknown_characters_of_a_character_model_inert():
    at = page("app.py", model="dcformer-tiny")
    at.text_input(key="text").input("cat \u2603 *dog*" + HOSTILE).run()
    assert not at.exception
    assert INVISIBLE_NOTICE in warnings(at)
    unknown = next(w for w in warnings(at) if "never saw these characters" in w)
    assert "dcformer\\-tiny" in unknown and "\u2603" in unknown
    assert not echoed(at)


def test_word_order_page_both_boxes():
    at = page("pages/4_Word_order.py")
    assert not warnings(at)
    at.text_input(key="order_a").input(HOSTILE).run()
    assert not at.exception
    assert warnings(at) == [CONTROL_NOTICE, INVISIBLE_NOTICE]  # only under box A
    at.text_input(key="order_b").input(HOSTILE).run()
    assert warnings(at).count(CONTROL_NOTICE) == 2 and warnings(at).count(INVISIBLE_NOTICE) == 2
    assert not echoed(at)


def test_word_order_page_says_when_a_sentence_is_cut():
    at = page("pages/4_Word_order.py")
    at.text_input(key="order_b").input("the cat " * 400).run()
    assert not at.exception
    assert any("802 tokens" in w and "at most 512" in w for w in warnings(at)), warnings(at)
    at.text_input(key="order_a").input("\u200b\x1b").run()
    assert any("invisible formatting characters" in m.value for m in at.info)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
@pytest.mark.parametrize("key", ["dc_text", "sb_text"])
def test_dcmha_page_text_and_sandbox(key):
    at = page("pages/2_DCMHA.py")
    assert INVISIBLE_NOTICE not in warnings(at)
    at.text_input(key=key).input(HOSTILE).run()
    assert not at.exception
    assert warnings(at).count(CONTROL_NOTICE) == 1 and warnings(at).count(INVISIBLE_NOTICE) == 1
    assert not echoed(at)


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_dcmha_unknown_characters_are_quoted_inert():
    at = page("pages/2_DCMHA.py")
    at.text_input(key="dc_text").input("cat ☃ dog \x1b ∗").run()
    unknown = next(w for w in warnings(at) if "not in the vocabulary" in w)
    assert "‘☃’" in unknown and "\x1b" not in unknown


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_dcmha_sandbox_says_when_its_text_is_cut():
    at = page("pages/2_DCMHA.py")
    at.text_input(key="sb_text").input("the cat " * 400).run()
    assert not at.exception
    assert any("802 tokens" in w and "at most 512" in w for w in warnings(at)), warnings(at)


def test_date_page_cleans_before_it_reads():
    at = page("pages/5_Encoder_decoder.py")
    at.text_input(key="ed_date").input("25 Nov\u202eember\u200b 2026\x00\x1b").run()
    assert not at.exception
    assert CONTROL_NOTICE in warnings(at) and INVISIBLE_NOTICE in warnings(at)
    assert any("2026-11-25" in m.value and "✓" in m.value for m in at.markdown)  # decoded as the clean date
    assert not echoed(at)


def test_date_page_never_quotes_a_control_character():
    at = page("pages/5_Encoder_decoder.py")
    at.text_input(key="ed_date").input("25 Nov\x00ember\u202e 2026 \x1b[31m").run()
    assert not at.exception
    assert not echoed(at)
    assert CONTROL_NOTICE in warnings(at) and any(w.startswith("Removed 1 invisible") for w in warnings(at))
    (message,) = [m.value for m in at.info]
    assert "does not know these characters: “\\[”" in message  # the "[" of the escape, quoted as inert Markdown


def test_date_page_text_of_only_invisible_characters():
    at = page("pages/5_Encoder_decoder.py")
    at.text_input(key="ed_date").input("\u200b\u202e\x00").run()
    assert not at.exception
    assert not echoed(at)
    assert any("the text is empty" in m.value for m in at.info)


LESSON = """
title: {en: "Hygiene", zh: 卫生}
slides:
  - title: {en: "A slide", zh: 一页}
    view: head
    text: "The cat\\u202e sat\\u200b on \\e[31mthe mat\\0."
    explanation: {en: "Text with control characters.", zh: 带控制字符的文本。}
"""


def test_presenter_slide_text():
    at = page("pages/6_Presenter.py", lang="en")
    at.file_uploader[0].set_value(("hygiene.yaml", LESSON.encode(), "application/x-yaml")).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.title[0].value == "A slide"
    assert CONTROL_NOTICE in warnings(at) and INVISIBLE_NOTICE in warnings(at)
    assert not echoed(at)


def test_a_code_span_shows_any_text_as_typed():
    from attnviz.text import code_span

    assert code_span("2026-11-25") == "`2026-11-25`"
    assert code_span("a `b` c") == "``a `b` c``"
    assert code_span("`x`") == "`` `x` ``" and code_span("two\nlines") == "`two lines`"


def test_a_huge_paste_is_cut_before_it_is_cleaned_with_one_notice():
    """20 MB pasted: only the first 2 × MAX_CHARS characters are looked at (cleaning all of it took seconds on
    every run), the text is cut to MAX_CHARS, and the notice says so once."""
    from attnviz.text import MAX_CHARS, clean_text

    cleaned = clean_text("the cat \u200b" * 2_000_000)
    assert len(cleaned.text) <= MAX_CHARS
    keys = [key for key, _ in cleaned.notice_keys]
    assert keys.count("msg.chars_cut") == 1 and "msg.invisible_removed" in keys
    invisible = dict(cleaned.notice_keys)["msg.invisible_removed"]["count"]
    assert invisible <= 2 * MAX_CHARS // 9 + 1  # counted over the cut part only
