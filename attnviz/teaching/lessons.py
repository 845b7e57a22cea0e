"""Lessons: small YAML files of slides a teacher can present, validated with precise messages.

A lesson file::

    title: {en: Multi-head attention, zh: 多头注意力}
    slides:
      - title: {en: ..., zh: ...}
        view: head            # head | layer | overview | compare | steps | order | positions | dcmha | image ...
        text: The animal didn't cross the street because it was too tired.
        layer: 2
        head: 3
        causal: false         # optional mask settings: causal, window, chunk, prefix, sinks, dilation,
                              # documents (and separator), alibi, softcap; hide_special, text2
                              # image views: image (a gallery file name), window_2d, blocks_2d, query (a token)
        explanation: {en: ..., zh: ...}

Lessons come from teachers' uploads, so reading one is bounded: at most ``MAX_LESSON_BYTES``, one YAML
document, no anchors or aliases (a 600-byte "billion laughs" file would otherwise expand to gigabytes
once anything prints it), no merge keys, text-only field names, shallow nesting, at most ``MAX_SLIDES``
slides and a length limit per text field.  Error messages quote a value only through :func:`excerpt` (as a
message's value: :func:`quoted`), and are worded in the text catalogue (``presenter.lesson_…`` keys), so that a
:class:`LessonError` reads in the page's language: ``error.message("zh")``.
"""

from __future__ import annotations

import difflib
import reprlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ..i18n import MESSAGES, translate
from ..paths import LESSONS as LESSON_DIR
from ..text import InputError

VIEWS = (
    "head",
    "layer",
    "overview",
    "compare",
    "steps",
    "flash",
    "blocks",
    "sinks",
    "order",
    "positions",
    "dcmha",
    "image",  # an image of the gallery: a head's attention over it and the class probabilities (a vision model)
    "image_grid",  # every layer x head over the image
    "image_positions",  # the vision model's learned positions, similarity grid
)
IMAGE_VIEWS = ("image", "image_grid", "image_positions")
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
    "block": ("size", False),  # keys per block in the 'flash' view; the tile size in the 'blocks' view
    "prefix": ("size", False),
    "sinks": ("size", False),
    "dilation": ("size", False),
    "documents": ("bool", False),  # split the text at its blank lines (or after each separator)
    "separator": ("text", False),
    "alibi": ("bool", False),
    "softcap": ("size", False),
    "hide_special": ("bool", False),
    "image": ("text", False),  # a gallery image's file name (attnviz.gallery): the image views' input
    "window_2d": ("size", False),
    "blocks_2d": ("size", False),
}
# the longest text a field may hold, in characters (bilingual fields: per language)
MAX_CHARS = {
    "title": 2_000,
    "explanation": 2_000,
    "text": 5_000,
    "text2": 5_000,
    "model": 200,
    "separator": 16,
    "image": 100,
}
NEEDS_TEXT = {"head", "layer", "overview", "compare", "steps", "flash", "blocks", "sinks", "order", "dcmha"}

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"


class Phrase:
    """Words inside a lesson message that vary with the case (where in the file, "en and zh", a quoted value's
    length): a text key and values, worded in the language of the message that holds it. ``str`` is the English."""

    def __init__(self, key: str, **values: object) -> None:
        self.key, self.values = key, values

    def text(self, lang: str) -> str:
        return translate(self.key, lang, **_worded(self.values, lang))

    def __str__(self) -> str:
        return self.text("en")

    def __repr__(self) -> str:
        return f"Phrase({self.key!r}, **{self.values!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Phrase) and (self.key, self.values) == (other.key, other.values)


class Listing(Phrase):
    """Values in a row ("'a', 'b'"; in Chinese "'a'、'b'"), each worded in the message's language."""

    def __init__(self, items) -> None:
        super().__init__("presenter.lesson_separator", items=tuple(items))

    def text(self, lang: str) -> str:
        items = self.values["items"]
        assert isinstance(items, tuple)
        return translate(self.key, lang).join(str(_word(item, lang)) for item in items)


def _word(value: object, lang: str) -> object:
    return value.text(lang) if isinstance(value, Phrase) else value


def _worded(values: dict[str, object], lang: str) -> dict[str, object]:
    return {name: _word(value, lang) for name, value in values.items()}


class LessonError(InputError):
    """A malformed lesson; the message names the file, the slide and the field.

    Raised as every user error is, with a text key (``presenter.lesson_…``) and values: ``str(error)`` is the
    English message, ``error.message(lang)`` the message in ``lang`` (its :class:`Phrase` values worded in ``lang``
    too). ``LessonError(text)`` with a text that is no key keeps that text as it is, in every language: a message
    its caller already worded (or the English of a message kept as text).
    """

    def __init__(self, key: str, **values: object) -> None:
        if not values and key not in MESSAGES:
            key, values = "presenter.lesson_as_given", {"text": key}
        super().__init__(key, **values)

    def message(self, lang: str = "en") -> str:
        return translate(self.key, lang, **_worded(self.values, lang))

    def __reduce__(self):  # pickled as its key and values (an exception pickles its English text by default)
        return _lesson_error, (self.key, self.values)


def _lesson_error(key: str, values: dict[str, object]) -> LessonError:
    return LessonError(key, **values)


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
    prefix: int | None = None
    sinks: int | None = None
    dilation: int | None = None
    documents: bool = False
    separator: str = ""  # empty: the text's blank lines
    alibi: bool = False
    softcap: int | None = None
    hide_special: bool = False
    image: str = ""
    window_2d: int | None = None
    blocks_2d: int | None = None


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
    return str(quoted(value, limit, quote=quote))


def quoted(value: object, limit: int = EXCERPT_CHARS, *, quote: bool = True) -> str | Phrase:
    """:func:`excerpt` as a message's value: what it says in words (a cut text's length, "a number of 997 bits")
    is a :class:`Phrase`, worded in the message's language; the quoted characters themselves never are."""
    if isinstance(value, str):
        shown, cut = _escaped(value, limit, quote)
        if quote:
            shown = f"'{shown}'"
        return Phrase("presenter.lesson_cut", shown=shown, length=len(value)) if cut else shown
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        return Phrase("presenter.lesson_big_number", bits=value.bit_length())
    try:
        text = _SHORT_REPR.repr(value)
    except Exception:  # a value whose repr fails says only what it is
        return Phrase("presenter.lesson_some_value", kind=_escaped(type(value).__name__, limit, False)[0])
    shown, cut = _escaped(text, limit, False)
    return shown + ("…" if cut else "")


def _some(items: list) -> Phrase:
    """The first three of ``items`` quoted, and how many more there are."""
    listed = Listing(quoted(item) for item in items[:3])
    return Phrase("presenter.lesson_and_more", listed=listed, count=len(items) - 3) if len(items) > 3 else listed


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
    """Raised inside the loader: ``line`` (1-based) and what is not allowed there (``problem``: a text key and its
    values)."""

    def __init__(self, mark, key: str, **values: object):
        super().__init__(key)
        self.line = mark.line + 1 if mark is not None else None
        self.problem = Phrase(key, **values)


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
            raise _Refused(self.peek_event().start_mark, "presenter.lesson_one_document")
        self.get_event()
        return document

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, "presenter.lesson_anchors")
        if self._depth >= MAX_DEPTH:
            raise _Refused(event.start_mark, "presenter.lesson_too_deep", depth=MAX_DEPTH)
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise _Refused(event.start_mark, "presenter.lesson_too_many_values", count=MAX_NODES, slides=MAX_SLIDES)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def compose_scalar_node(self, anchor):
        node = super().compose_scalar_node(anchor)
        if node.tag != _STR_TAG and len(node.value) > MAX_OTHER_SCALAR_CHARS:
            raise _Refused(
                node.start_mark, "presenter.lesson_long_scalar", length=len(node.value), limit=MAX_OTHER_SCALAR_CHARS
            )
        return node

    def compose_mapping_node(self, anchor):
        node = super().compose_mapping_node(anchor)
        for key, _ in node.value:
            if key.tag == _MERGE_TAG:
                raise _Refused(key.start_mark, "presenter.lesson_merge_keys")
            if not isinstance(key, yaml.ScalarNode) or key.tag != _STR_TAG:
                if not isinstance(key, yaml.ScalarNode):
                    raise _Refused(key.start_mark, "presenter.lesson_key_not_scalar")
                raise _Refused(key.start_mark, "presenter.lesson_key_not_text", got=quoted(key.value))
        return node


def _load_yaml(text: str, name: str):
    loader = None
    try:
        loader = LessonLoader(text)  # the reader already refuses some characters here
        return loader.get_single_data()
    except _Refused as refused:
        if refused.line:
            raise LessonError(
                "presenter.lesson_refused_at", name=name, line=refused.line, problem=refused.problem
            ) from None
        raise LessonError("presenter.lesson_refused", name=name, problem=refused.problem) from None
    except yaml.MarkedYAMLError as error:  # the parser's own words (English) are quoted as they are
        mark, problem = error.problem_mark, quoted(str(error.problem), 120, quote=False)
        if mark:
            raise LessonError(
                "presenter.lesson_bad_yaml_at", name=name, line=mark.line + 1, column=mark.column + 1, problem=problem
            ) from None
        raise LessonError("presenter.lesson_bad_yaml", name=name, problem=problem) from None
    except yaml.YAMLError as error:  # e.g. a character YAML does not allow
        problem = quoted(str(error).splitlines()[0], 120, quote=False)
        raise LessonError("presenter.lesson_bad_yaml", name=name, problem=problem) from None
    except (ValueError, OverflowError, RecursionError) as error:  # a value PyYAML cannot convert
        raise LessonError(
            "presenter.lesson_bad_value", name=name, problem=quoted(str(error), 120, quote=False)
        ) from None
    finally:
        if loader is not None:
            loader.dispose()


# --- validation ------------------------------------------------------------------------------


def _check_length(text: str, key: str | None, where: Phrase) -> str:
    limit = MAX_CHARS.get(key or "")
    if limit is not None and len(text) > limit:
        raise LessonError("presenter.lesson_too_long", place=where, length=len(text), limit=limit)
    return text


def _check(kind: str, value, where: Phrase, key: str | None = None):
    """``value`` checked as a field of ``kind``; ``where`` says where it is in the file (a ``presenter.lesson_place_…``
    phrase)."""
    if kind == "bilingual":
        if isinstance(value, str):
            raise LessonError("presenter.lesson_single_string", place=where)
        if not isinstance(value, dict):
            raise LessonError("presenter.lesson_not_bilingual", place=where, kind=type(value).__name__)
        missing = [lang for lang in LANGS if not isinstance(value.get(lang), str) or not value[lang].strip()]
        if missing:
            langs = (
                Phrase("presenter.lesson_and", first=missing[0], second=missing[1]) if len(missing) > 1 else missing[0]
            )
            raise LessonError("presenter.lesson_missing_language", place=where, langs=langs)
        extra = [lang for lang in value if lang not in LANGS]
        if extra:
            raise LessonError("presenter.lesson_unknown_language", place=where, shown=_some(extra))
        return {
            lang: _check_length(
                value[lang].strip(), key, Phrase("presenter.lesson_place_language", place=where, language=lang)
            )
            for lang in LANGS
        }
    if kind == "view":
        if value not in VIEWS:
            raise LessonError("presenter.lesson_bad_view", place=where, views=Listing(VIEWS), got=quoted(value))
        return value
    if kind == "text":
        if not isinstance(value, str):
            raise LessonError("presenter.lesson_not_text", place=where, kind=type(value).__name__)
        return _check_length(value, key, where)
    if kind == "bool":
        if not isinstance(value, bool):
            raise LessonError("presenter.lesson_not_bool", place=where, got=quoted(value))
        return value
    if kind in ("index", "size"):
        low = 0 if kind == "index" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise LessonError("presenter.lesson_not_whole", place=where, low=low, got=quoted(value))
        if value > MAX_NUMBER:
            raise LessonError("presenter.lesson_too_big", place=where, limit=MAX_NUMBER, got=quoted(value))
        return value
    raise AssertionError(kind)


def parse_lesson(data, name: str) -> Lesson:
    """A lesson from already-loaded YAML data (``name`` is shown as given: pass it through ``shown_name``)."""
    if not isinstance(data, dict):
        raise LessonError("presenter.lesson_not_mapping", name=name)
    unknown = [key for key in data if key not in ("title", "slides")]
    if unknown:
        raise LessonError("presenter.lesson_unknown_top", name=name, shown=_some(unknown))
    if "title" not in data:
        raise LessonError("presenter.lesson_no_title", name=name)
    title = _check("bilingual", data["title"], Phrase("presenter.lesson_place_title", name=name), "title")
    slides_data = data.get("slides")
    if not isinstance(slides_data, list) or not slides_data:
        raise LessonError("presenter.lesson_no_slides", name=name)
    if len(slides_data) > MAX_SLIDES:
        raise LessonError("presenter.lesson_too_many_slides", name=name, count=len(slides_data), limit=MAX_SLIDES)
    slides = []
    for number, raw in enumerate(slides_data, start=1):
        label = Phrase("presenter.lesson_place_slide", name=name, number=number)
        if not isinstance(raw, dict):
            raise LessonError("presenter.lesson_slide_not_mapping", slide=label, kind=type(raw).__name__)
        if isinstance(raw.get("title"), dict) and isinstance(raw["title"].get("en"), str):
            label = Phrase(
                "presenter.lesson_place_slide_titled", name=name, number=number, title=quoted(raw["title"]["en"])
            )
        values = {}
        for key, value in raw.items():
            if key not in SLIDE_FIELDS:
                close = (
                    difflib.get_close_matches(key, SLIDE_FIELDS, n=1)
                    if isinstance(key, str) and len(key) <= EXCERPT_CHARS
                    else []
                )
                if close:
                    raise LessonError(
                        "presenter.lesson_unknown_field_hint", slide=label, field=quoted(key), close=close[0]
                    )
                raise LessonError("presenter.lesson_unknown_field", slide=label, field=quoted(key))
            where = Phrase("presenter.lesson_place_field", slide=label, field=key)
            values[key] = _check(SLIDE_FIELDS[key][0], value, where, key)
        for key, (_, required) in SLIDE_FIELDS.items():
            if required and key not in values:
                raise LessonError("presenter.lesson_missing_field", slide=label, field=key)
        if values["view"] in NEEDS_TEXT and not values.get("text", "").strip():
            raise LessonError("presenter.lesson_needs_text", slide=label, view=values["view"])
        if values["view"] in ("image", "image_grid") and not values.get("image", "").strip():
            raise LessonError("presenter.lesson_needs_image", slide=label, view=values["view"])
        if values["view"] in IMAGE_VIEWS:
            values.setdefault("query", 0)  # an image's query is [CLS] unless the slide names a token
        slides.append(Slide(number=number, **values))
    return Lesson(name=name, title=title, slides=slides)


def parse_lesson_bytes(data: bytes, name: str) -> Lesson:
    """A lesson from a file's bytes (an upload, or a file on disk): the one way lesson files are read.

    The size is checked before anything is decoded; the YAML goes through ``LessonLoader``.
    """
    name = shown_name(name)
    if len(data) > MAX_LESSON_BYTES:
        raise LessonError(
            "presenter.lesson_file_too_big", name=name, size=_size(len(data)), limit=_size(MAX_LESSON_BYTES)
        )
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as error:
        raise LessonError("presenter.lesson_not_utf8", name=name, at=error.start + 1) from None
    return parse_lesson(_load_yaml(text, name), name)


def load_lesson(path: str | Path) -> Lesson:
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_LESSON_BYTES:  # said before reading a byte of it
            raise LessonError(
                "presenter.lesson_file_too_big",
                name=shown_name(path.name),
                size=_size(size),
                limit=_size(MAX_LESSON_BYTES),
            )
        data = path.read_bytes()
    except OSError as error:  # the system's own words for why (English) are quoted as they are
        raise LessonError("presenter.lesson_unreadable", name=shown_name(path.name), reason=error.strerror) from None
    return parse_lesson_bytes(data, path.name)


def shipped_lessons() -> dict[str, Path]:
    return {path.stem: path for path in sorted(LESSON_DIR.glob("*.yaml"))}
