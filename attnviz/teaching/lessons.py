"""Lessons: small YAML files of slides a teacher can present, validated with precise messages.

A lesson file::

    title: {en: Multi-head attention, zh: 多头注意力}
    slides:
      - title: {en: ..., zh: ...}
        view: head            # head | layer | overview | compare | steps | order | positions | dcmha
        text: The animal didn't cross the street because it was too tired.
        layer: 2
        head: 3
        causal: false         # optional mask settings: causal, window, chunk, hide_special, text2
        explanation: {en: ..., zh: ...}

Lessons come from teachers' uploads, so reading one is bounded: at most ``MAX_LESSON_BYTES``, one YAML
document, no anchors or aliases (a 600-byte "billion laughs" file would otherwise expand to gigabytes
once anything prints it), no merge keys, text-only field names, shallow nesting, at most ``MAX_SLIDES``
slides and a length limit per text field.  Error messages quote a value only through :func:`excerpt`.
"""

from __future__ import annotations

import difflib
import reprlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..paths import LESSONS as LESSON_DIR

VIEWS = ("head", "layer", "overview", "compare", "steps", "flash", "order", "positions", "dcmha")
LANGS = ("en", "zh")

MAX_LESSON_BYTES = 256 * 1024  # checked before the bytes are decoded or parsed
MAX_SLIDES = 200
MAX_DEPTH = 8  # lesson > slides > slide > title > text is 5 levels deep
MAX_NODES = 10_000  # values of any kind; 200 slides with every field set need about 7,800
MAX_NUMBER = 100_000  # layer, head, query, window, chunk, block
MAX_OTHER_SCALAR_CHARS = 100  # a number, true/false, a date...: longer ones are refused before conversion
MAX_NAME_CHARS = 60  # the file name as shown in messages
EXCERPT_CHARS = 40

# field -> (kind, required)
SLIDE_FIELDS = {
    "title": ("bilingual", True),
    "explanation": ("bilingual", True),
    "view": ("view", True),
    "text": ("text", False),
    "text2": ("text", False),
    "model": ("text", False),
    "layer": ("index", False),
    "head": ("index", False),
    "layer_b": ("index", False),
    "head_b": ("index", False),
    "query": ("index", False),
    "causal": ("bool", False),
    "window": ("size", False),
    "chunk": ("size", False),
    "block": ("size", False),  # keys per block in the 'flash' view
    "hide_special": ("bool", False),
}
# the longest text a field may hold, in characters (bilingual fields: per language)
MAX_CHARS = {"title": 2_000, "explanation": 2_000, "text": 5_000, "text2": 5_000, "model": 200}
NEEDS_TEXT = {"head", "layer", "overview", "compare", "steps", "flash", "order", "dcmha"}

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class LessonError(ValueError):
    """A malformed lesson; the message names the file, the slide and the field."""


@dataclass
class Slide:
    number: int  # 1-based, as a teacher counts
    title: dict[str, str]
    explanation: dict[str, str]
    view: str
    text: str = ""
    text2: str = ""
    model: str | None = None
    layer: int = 0
    head: int = 0
    layer_b: int = 0
    head_b: int = 1
    query: int = 1
    causal: bool = False
    window: int | None = None
    chunk: int | None = None
    block: int = 4
    hide_special: bool = False


@dataclass
class Lesson:
    name: str
    title: dict[str, str]
    slides: list[Slide] = field(default_factory=list)


# --- quoting values in messages --------------------------------------------------------------

_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxlevel, _SHORT_REPR.maxlist, _SHORT_REPR.maxdict = 2, 4, 4
_SHORT_REPR.maxstring, _SHORT_REPR.maxother = 20, 20


def _escaped(text: str, limit: int, quote: bool) -> tuple[str, bool]:
    """``text`` with unprintable characters (control, bidi, zero-width...) written as escapes, as
    ``repr`` does, cut so that the escaped result holds at most ``limit`` characters; and whether it was cut."""
    pieces: list[str] = []
    used = 0
    for char in text:
        if quote and char in "\\'":
            piece = "\\" + char
        elif char.isprintable():
            piece = char
        else:
            piece = repr(char)[1:-1]
        if used + len(piece) > limit:
            return "".join(pieces), True
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces), False


def excerpt(value: object, limit: int = EXCERPT_CHARS, *, quote: bool = True) -> str:
    """The only way a message shows something from a lesson file: short, escaped, never the raw value.

    Text is shown like its ``repr`` (``'abc'``, control and bidi characters as escapes), cut to ``limit``
    characters with ``…`` and the full length; ``quote=False`` leaves out the quotes (for file names and
    parser messages).  Other values show a short ``repr``.
    """
    if isinstance(value, str):
        shown, cut = _escaped(value, limit, quote)
        if quote:
            shown = f"'{shown}'"
        return shown + (f"… ({len(value):,} characters)" if cut else "")
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return f"a number of {value.bit_length():,} bits"
    try:
        text = _SHORT_REPR.repr(value)
    except Exception:  # a value whose repr fails says only what it is
        text = f"a {type(value).__name__}"
    shown, cut = _escaped(text, limit, False)
    return shown + ("…" if cut else "")


def shown_name(name: str) -> str:
    """A file name as messages show it: escaped and cut (an upload's name is chosen by the uploader)."""
    return excerpt(str(name), MAX_NAME_CHARS, quote=False) or "lesson"


def _size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{-(-n // 1024)} KB"  # rounded up: a file just over the limit never reads as the limit
    return f"{n} bytes"


# --- a YAML loader for untrusted lesson files ----------------------------------------------


class _Refused(Exception):
    """Raised inside the loader: ``line`` (1-based) and what is not allowed there."""

    def __init__(self, mark, message: str):
        super().__init__(message)
        self.line = mark.line + 1 if mark is not None else None
        self.message = message


class LessonLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses, before building anything: anchors and aliases, merge keys
    (``<<``), field names that are not text, nesting deeper than ``MAX_DEPTH``, more than ``MAX_NODES``
    values, more than one document, and numbers/booleans/dates longer than ``MAX_OTHER_SCALAR_CHARS``."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def get_single_node(self):
        self.get_event()  # StreamStart
        document = None
        if not self.check_event(yaml.StreamEndEvent):
            document = self.compose_document()
        if not self.check_event(yaml.StreamEndEvent):
            raise _Refused(
                self.peek_event().start_mark, "a lesson is a single YAML document (remove the second '---' part)"
            )
        self.get_event()
        return document

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, "anchors and aliases (&name, *name) are not allowed in a lesson")
        if self._depth >= MAX_DEPTH:
            raise _Refused(event.start_mark, f"the lesson is nested more than {MAX_DEPTH} levels deep")
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(
                event.start_mark, f"the lesson holds more than {MAX_NODES:,} values (at most {MAX_SLIDES} slides)"
            )
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_scalar_node(self, anchor):
        node = super().compose_scalar_node(anchor)
        if node.tag != _STR_TAG and len(node.value) > MAX_OTHER_SCALAR_CHARS:
            raise _Refused(
                node.start_mark,
                f"a value that is not text is {len(node.value):,} characters long (at most {MAX_OTHER_SCALAR_CHARS})",
            )
        return node

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        for key, _ in node.value:
            if key.tag == _MERGE_TAG:
                raise _Refused(key.start_mark, "merge keys (<<) are not allowed in a lesson")
            if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
                got = excerpt(key.value) if isinstance(key, yaml.ScalarNode) else "a list or mapping"
                raise _Refused(key.start_mark, f"a field name must be text, got {got} (put it in quotes)")
        return node


def _load_yaml(text: str, name: str):
    loader = None
    try:
        loader = LessonLoader(text)  # the reader already refuses some characters here
        return loader.get_single_data()
    except _Refused as refused:
        where = f" line {refused.line}:" if refused.line else ""
        raise LessonError(f"{name}:{where} {refused.message}") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LessonError(f"{name}: not valid YAML{where}: {excerpt(str(error.problem), 120, quote=False)}") from None
    except yaml.YAMLError as error:  # e.g. a character YAML does not allow
        raise LessonError(f"{name}: not valid YAML: {excerpt(str(error).splitlines()[0], 120, quote=False)}") from None
    except (ValueError, OverflowError, RecursionError) as error:  # a value PyYAML cannot convert
        raise LessonError(f"{name}: not a usable YAML value: {excerpt(str(error), 120, quote=False)}") from None
    finally:
        if loader is not None:
            loader.dispose()


# --- validation ------------------------------------------------------------------------------


def _check_length(text: str, key: str | None, where: str) -> str:
    limit = MAX_CHARS.get(key or "")
    if limit is not None and len(text) > limit:
        raise LessonError(f"{where} is {len(text):,} characters long; at most {limit:,} are allowed")
    return text


def _check(kind: str, value, where: str, key: str | None = None):
    if kind == "bilingual":
        if isinstance(value, str):
            raise LessonError(f"{where} must give both languages, e.g. {{en: ..., zh: ...}}; got a single string")
        if not isinstance(value, dict):
            raise LessonError(f"{where} must be a mapping {{en: ..., zh: ...}}, got {type(value).__name__}")
        missing = [lang for lang in LANGS if not isinstance(value.get(lang), str) or not value[lang].strip()]
        if missing:
            raise LessonError(f"{where} is missing its {' and '.join(missing)} text")
        extra = [lang for lang in value if lang not in LANGS]
        if extra:
            shown = ", ".join(excerpt(lang) for lang in extra[:3]) + (
                f" and {len(extra) - 3} more" if len(extra) > 3 else ""
            )
            raise LessonError(f"{where} has unknown language(s) {shown} (use en and zh)")
        return {lang: _check_length(value[lang].strip(), key, f"{where} ({lang})") for lang in LANGS}
    if kind == "view":
        if value not in VIEWS:
            raise LessonError(f"{where} must be one of {', '.join(VIEWS)}; got {excerpt(value)}")
        return value
    if kind == "text":
        if not isinstance(value, str):
            raise LessonError(f"{where} must be text, got {type(value).__name__}")
        return _check_length(value, key, where)
    if kind == "bool":
        if not isinstance(value, bool):
            raise LessonError(f"{where} must be true or false, got {excerpt(value)}")
        return value
    if kind in ("index", "size"):
        low = 0 if kind == "index" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            what = "a whole number ≥ 0" if kind == "index" else "a whole number ≥ 1"
            raise LessonError(f"{where} must be {what}, got {excerpt(value)}")
        if value > MAX_NUMBER:
            raise LessonError(f"{where} must be at most {MAX_NUMBER:,}, got {excerpt(value)}")
        return value
    raise AssertionError(kind)


def parse_lesson(data, name: str) -> Lesson:
    """A lesson from already-loaded YAML data (``name`` is shown as given: pass it through ``shown_name``)."""
    if not isinstance(data, dict):
        raise LessonError(f"{name}: a lesson is a mapping with 'title' and 'slides'")
    unknown = [key for key in data if key not in ("title", "slides")]
    if unknown:
        shown = ", ".join(excerpt(key) for key in unknown[:3]) + (
            f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
        )
        raise LessonError(f"{name}: unknown top-level field(s) {shown} (use title and slides)")
    if "title" not in data:
        raise LessonError(f"{name}: the lesson has no 'title'")
    title = _check("bilingual", data["title"], f"{name}: the lesson title", "title")
    slides_data = data.get("slides")
    if not isinstance(slides_data, list) or not slides_data:
        raise LessonError(f"{name}: 'slides' must be a non-empty list")
    if len(slides_data) > MAX_SLIDES:
        raise LessonError(f"{name}: the lesson has {len(slides_data):,} slides; at most {MAX_SLIDES} are allowed")
    slides = []
    for number, raw in enumerate(slides_data, start=1):
        label = f"{name}: slide {number}"
        if not isinstance(raw, dict):
            raise LessonError(f"{label} must be a mapping of fields, got {type(raw).__name__}")
        if isinstance(raw.get("title"), dict) and isinstance(raw["title"].get("en"), str):
            label += f" ({excerpt(raw['title']['en'])})"
        values = {}
        for key, value in raw.items():
            if key not in SLIDE_FIELDS:
                close = (
                    difflib.get_close_matches(key, SLIDE_FIELDS, n=1)
                    if isinstance(key, str) and len(key) <= EXCERPT_CHARS
                    else []
                )
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise LessonError(f"{label}: unknown field {excerpt(key)}{hint}")
            values[key] = _check(SLIDE_FIELDS[key][0], value, f"{label}: field '{key}'", key)
        for key, (_, required) in SLIDE_FIELDS.items():
            if required and key not in values:
                raise LessonError(f"{label}: missing required field '{key}'")
        if values["view"] in NEEDS_TEXT and not values.get("text", "").strip():
            raise LessonError(f"{label}: field 'text' is required for the '{values['view']}' view")
        slides.append(Slide(number=number, **values))
    return Lesson(name=name, title=title, slides=slides)


def parse_lesson_bytes(data: bytes, name: str) -> Lesson:
    """A lesson from a file's bytes (an upload, or a file on disk): the one way lesson files are read.

    The size is checked before anything is decoded; the YAML goes through ``LessonLoader``.
    """
    name = shown_name(name)
    if len(data) > MAX_LESSON_BYTES:
        raise LessonError(f"{name}: the file is {_size(len(data))}; a lesson is at most {_size(MAX_LESSON_BYTES)}")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as error:
        raise LessonError(
            f"{name}: not UTF-8 text (byte {error.start + 1:,} cannot be read); save the file as UTF-8"
        ) from None
    return parse_lesson(_load_yaml(text, name), name)


def load_lesson(path: str | Path) -> Lesson:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_LESSON_BYTES:  # said before reading a byte of it
            raise LessonError(
                f"{shown_name(path.name)}: the file is {_size(size)}; a lesson is at most {_size(MAX_LESSON_BYTES)}"
            )
        data = path.read_bytes()
    except OSError as error:
        raise LessonError(f"{shown_name(path.name)}: cannot be read ({error.strerror})") from None
    return parse_lesson_bytes(data, path.name)


def shipped_lessons() -> dict[str, Path]:
    return {path.stem: path for path in sorted(LESSON_DIR.glob("*.yaml"))}
