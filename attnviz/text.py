"""User text in, model-ready text out, with every change said out loud."""

from __future__ import annotations

import html
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


def clean_text(raw: str | None) -> CleanText:
    """Remove control characters, refuse empty input, cap the length.

    Emoji, CJK and markup pass through unchanged: they are data, shown as text.
    """
    if raw is None or not raw.strip():
        raise InputError("msg.empty")
    notices = []
    kept = []
    removed = 0
    for char in raw:
        if char in "\n\r\t":
            kept.append(" ")
        elif unicodedata.category(char) in ("Cc", "Cs"):
            removed += 1
        else:
            kept.append(char)
    text = "".join(kept)
    if removed:
        notices.append(("msg.control_removed", {"count": removed}))
    if not text.strip():
        raise InputError("msg.only_control")
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notices.append(("msg.chars_cut", {"count": MAX_CHARS}))
    return CleanText(text.strip(), notices)


def escape_label(token: str) -> str:
    """A token made safe for Plotly labels and hover text, which render some HTML."""
    return html.escape(token, quote=False)
