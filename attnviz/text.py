"""User text in, model-ready text out, with every change said out loud."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

from .i18n import translate

MAX_CHARS = 100_000  # beyond this even tokenizing is wasted work; the model keeps far fewer tokens


class InputError(ValueError):
    """Text the model cannot take; the message is meant for the user (``message(lang)`` translates it)."""

    def __init__(self, key: str, **values):
        self.key, self.values = key, values
        super().__init__(translate(key, "en", **values))

    def message(self, lang: str = "en") -> str:
        return translate(self.key, lang, **self.values)


@dataclass
class CleanText:
    text: str
    notice_keys: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def notices(self) -> list[str]:
        return self.messages("en")

    def messages(self, lang: str) -> list[str]:
        return [translate(key, lang, **values) for key, values in self.notice_keys]


# Invisible characters that carry meaning stay: the zero-width non-joiner and joiner shape scripts (Persian,
# Indic) and emoji sequences (👨‍👩‍👧); variation selectors (❤️) are combining marks, never format characters.
_SHAPING = frozenset("\u200c\u200d")
# A subdivision flag (🏴 + tag letters + cancel tag, e.g. England's) is the one legitimate use of tag characters.
_TAG_FLAG = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")


def _is_shaping(char: str) -> bool:
    return char in _SHAPING or "\ufe00" <= char <= "\ufe0f" or "\U000e0100" <= char <= "\U000e01ef"


def clean_text(raw: str | None) -> CleanText:
    """Remove control and invisible formatting characters, refuse empty input, cap the length.

    Control characters (NUL, ESC, BEL …) and format characters (Unicode category Cf: bidi overrides and
    isolates, zero-width spaces, the BOM, soft hyphens …) are removed, each kind with its own notice; the
    zero-width (non-)joiner and variation selectors stay, since emoji sequences and scripts need them.
    Emoji, CJK and markup pass through unchanged: they are data, shown as text.
    """
    if raw is None or not raw.strip():
        raise InputError("msg.empty")
    notices = []
    kept = []
    removed = invisible = 0
    flags = {i for match in _TAG_FLAG.finditer(raw) for i in range(match.start() + 1, match.end())}
    for index, char in enumerate(raw):
        category = unicodedata.category(char)
        if char in "\n\r\t" or category in ("Zl", "Zp"):
            kept.append(" ")
        elif category in ("Cc", "Cs"):
            removed += 1
        elif category == "Cf" and char not in _SHAPING and index not in flags:
            invisible += 1
        else:
            kept.append(char)
    text = "".join(kept)
    if removed:
        notices.append(("msg.control_removed", {"count": removed}))
    if invisible:
        notices.append(("msg.invisible_removed", {"count": invisible}))
    if all(char.isspace() or _is_shaping(char) for char in text):
        raise InputError("msg.only_control")
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notices.append(("msg.chars_cut", {"count": MAX_CHARS}))
    return CleanText(text.strip(), notices)


def escape_label(token: str) -> str:
    """A token made safe for Plotly labels and hover text, which render some HTML."""
    return html.escape(token, quote=False)


_MARKDOWN_SPECIAL = frozenset("\\`*_{}[]()<>#+-.!|~:$&\"'=^")


def escape_markdown(value: object) -> str:
    """Any value made inert for Streamlit's Markdown: every ASCII punctuation character backslash-escaped.

    CommonMark lets any ASCII punctuation be escaped, so links, images, HTML, emphasis, Streamlit's
    ``:red[...]`` / ``:material/...:`` directives and ``$`` math all show as the characters typed.
    Newlines become spaces: one value never starts a new block. Control and invisible formatting characters
    (as :func:`clean_text` removes them) are dropped: a quoted value never echoes an ESC, a NUL or a bidi override.
    """
    text = " ".join(str(value).splitlines())
    text = "".join(char for char in text if char in _SHAPING or unicodedata.category(char) not in ("Cc", "Cs", "Cf"))
    return "".join("\\" + char if char in _MARKDOWN_SPECIAL else char for char in text)
