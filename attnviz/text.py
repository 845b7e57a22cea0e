"""User text in, model-ready text out, with every change said out loud."""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass, field

MAX_CHARS = 100_000  # beyond this even tokenizing is wasted work; the model keeps far fewer tokens


class InputError(ValueError):
    """Text the model cannot take; the message is meant for the user."""


@dataclass
class CleanText:
    text: str
    notices: list[str] = field(default_factory=list)


def clean_text(raw: str | None) -> CleanText:
    """Remove control characters, refuse empty input, cap the length.

    Emoji, CJK and markup pass through unchanged: they are data, shown as text.
    """
    if raw is None or not raw.strip():
        raise InputError("Type a sentence to see its attention: the text is empty.")
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
        notices.append(f"Removed {removed} control character{'s' if removed > 1 else ''} from the text.")
    if not text.strip():
        raise InputError("The text holds only control characters or spaces; type some words.")
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notices.append(f"The text was cut to its first {MAX_CHARS:,} characters.")
    return CleanText(text.strip(), notices)


def escape_label(token: str) -> str:
    """A token made safe for Plotly labels and hover text, which render some HTML."""
    return html.escape(token, quote=False)
