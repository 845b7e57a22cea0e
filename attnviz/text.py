"""User text in, model-ready text out, with every change said out loud."""

from __future__ import annotations

import functools
import html
import bisect
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


MAX_UPLOAD_BYTES = 512 * 1024  # a text file for the main page: far more than any model here reads (8,192 characters)


def text_from_file(data: bytes) -> str:
    """An uploaded text file's content, or ``InputError``: UTF-8 (a BOM dropped; UTF-16 by its BOM), at most
    ``MAX_UPLOAD_BYTES``, and no NUL byte (a binary file renamed to .txt). The text is then cleaned like any other."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InputError("msg.file_too_big", limit=MAX_UPLOAD_BYTES // 1024)
    skipped = 0  # bytes of a UTF-8 BOM removed before decoding: positions in messages count in the file as saved
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    else:
        encoding, stripped = "utf-8", data.removeprefix(b"\xef\xbb\xbf")
        skipped, data = len(data) - len(stripped), stripped
        if b"\x00" in data:
            raise InputError("msg.file_binary")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:  # bytes counted from 1, as lessons count lines and columns
        key = "msg.file_not_utf16" if encoding == "utf-16" else "msg.file_not_text"
        raise InputError(key, at=error.start + skipped + 1) from None


@dataclass
class CleanText:
    text: str
    notice_keys: list[tuple[str, dict]] = field(default_factory=list)
    # where each paragraph after a blank line begins in ``text`` (character offsets): cleaning turns line breaks into
    # spaces, so the blank lines that separate documents are known only from here
    paragraphs: tuple[int, ...] = ()

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


BLANK_LINES = re.compile(r"\n[^\S\n]*\n\s*")  # a blank line (spaces allowed on it) and whatever blank follows


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
    cut = len(raw) > 2 * MAX_CHARS
    if cut:  # cut before cleaning too: cleaning a 20 MB paste took seconds on every run
        raw = raw[: 2 * MAX_CHARS]
    kept: list[str] = []
    removed = invisible = 0
    flags = {i for match in _TAG_FLAG.finditer(raw) for i in range(match.start() + 1, match.end())}
    breaks = {match.end() for match in BLANK_LINES.finditer(raw)}  # raw offsets where a paragraph begins
    paragraph_starts = []
    for index, char in enumerate(raw):
        if index in breaks:
            paragraph_starts.append(len(kept))  # the same place in the cleaned text
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
    if cut or len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
        notices.append(("msg.chars_cut", {"count": MAX_CHARS}))
    lead = len(text) - len(text.lstrip())
    stripped = text.strip()
    paragraphs = tuple(start - lead for start in paragraph_starts if 0 < start - lead < len(stripped))
    return CleanText(stripped, notices, paragraphs)


# How a tokenizer marks word boundaries in its vocabulary, read once per tokenizer (token_style):
#   "byte-level"    GPT-2's BPE: every byte is a printable stand-in character, a space is "Ġ" (Llama 3, Qwen 2)
#   "sentencepiece" a leading "▁" is a space, "<0xE7>" a raw byte (Llama 2, Mistral, Gemma, T5)
#   "wordpiece"     "##ing" continues the previous token's word (BERT)
#   "plain"         tokens are the text itself (the character models)
CONTINUES = "‿"  # drawn before a WordPiece continuation: "play" "‿ing"


def token_style(tokenizer) -> str:
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else {}
    starts = {token[:1] for token in vocab} | {token[:2] for token in vocab if token.startswith("##")}
    if "Ġ" in starts:
        return "byte-level"
    if "▁" in starts:
        return "sentencepiece"
    if "##" in starts:
        return "wordpiece"
    return "plain"


@functools.lru_cache(maxsize=1)
def _byte_of_char() -> dict[str, int]:
    """The inverse of GPT-2's bytes-to-unicode table: stand-in character -> byte."""
    printable = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    chars, extra = list(printable), 0
    codes = list(printable)
    for byte in range(256):
        if byte not in printable:
            codes.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(codes, chars)}


def readable_token(token: str, style: str, special: bool = False) -> str:
    """A vocabulary piece as the text it stands for: "Ġcat" and "▁cat" -> " cat", "##ing" -> "‿ing", bytes of a
    character split over several tokens -> "\\xe7\\x8c" (the bytes, since they are not a character yet).
    Special tokens ([CLS], <s>) stay as they are."""
    if special or style == "plain":
        return token
    if style == "byte-level":
        table = _byte_of_char()
        if not all(char in table for char in token):
            return token  # an added token written in plain text
        data = bytes(table[char] for char in token)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:  # part of a multi-byte character: show its bytes
            return "".join(f"\\x{b:02x}" if b >= 0x80 else chr(b) for b in data)
    if style == "sentencepiece":
        return token.replace("▁", " ")
    if style == "wordpiece" and token.startswith("##") and len(token) > 2:
        return CONTINUES + token[2:]
    return token


def escape_label(token: str) -> str:
    """A token made safe for Plotly labels and hover text, which render some HTML."""
    return html.escape(token, quote=False)


# One visible glyph for each kind of white space, in every view: a tick label " " or "\n" is otherwise blank.
VISIBLE_WHITESPACE = {" ": "␣", "\n": "↵", "\r": "↵", "\t": "⇥", "\u3000": "□"}


def visible_token(token: str) -> str:
    """A token with its white space drawn (a character model's " " is ␣, a newline ↵, a tab ⇥); not yet escaped."""
    return "".join(VISIBLE_WHITESPACE.get(char, char) for char in str(token))


def token_label(token: str) -> str:
    """What a tick, a hover or a title shows of a token: its white space visible, its markup escaped."""
    return escape_label(visible_token(token))


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
    escaped = "".join("\\" + char if char in _MARKDOWN_SPECIAL else char for char in text)
    # Streamlit turns :material/name: into an icon even with both colons escaped; an invisible non-joiner after
    # the first colon keeps it as the characters typed.
    return escaped.replace("\\:material", "\\:\u200cmaterial")


def code_span(text: str) -> str:
    """``text`` as Markdown inline code: shown as typed (no link, emphasis or HTML), fenced by one backtick more
    than its longest run of backticks, on one line."""
    text = " ".join(str(text).splitlines())
    fence = "`" * (max((len(run) for run in re.findall("`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


MAX_SEPARATOR_CHARS = 16


def document_boundaries(clean: CleanText, separator: str | None = None) -> list[int]:
    """Where each document after the first begins in the cleaned text (character offsets, increasing): after each
    blank line of the text as typed (``separator`` None: ``clean.paragraphs``), or after each occurrence of
    ``separator`` (a literal string, at most MAX_SEPARATOR_CHARS characters). The separator belongs to the document
    it ends; a text without one is one document ([])."""
    text = clean.text
    if separator is None:
        return list(clean.paragraphs)
    if not separator or len(separator) > MAX_SEPARATOR_CHARS:
        raise InputError("mask.bad_separator", limit=MAX_SEPARATOR_CHARS)
    ends = [match.end() for match in re.finditer(re.escape(separator), text)]
    return [end for end in ends if 0 < end < len(text)]  # the text is stripped: a separator at its end begins nothing


def document_starts(offsets: list[tuple[int, int]], boundaries: list[int]) -> tuple[int, ...]:
    """The token positions where each document after the first begins, from each token's characters ``offsets``
    ((0, 0) for a special token, which stays in the document before it) and the documents' character
    ``boundaries``: a token belongs to the document its first character is in. Documents without a token of their
    own merge into the next."""
    starts: list[int] = []
    current = 0
    for position, (a, b) in enumerate(offsets):
        if b <= a:  # a special token or padding: it stays with the tokens before it
            continue
        document = bisect.bisect_right(boundaries, a)
        if document > current:
            if position > 0:
                starts.append(position)
            current = document
    return tuple(starts)
