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
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

LESSON_DIR = Path(__file__).resolve().parents[1] / "assets" / "lessons"
VIEWS = ("head", "layer", "overview", "compare", "steps", "order", "positions", "dcmha")
LANGS = ("en", "zh")

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
    "hide_special": ("bool", False),
}
NEEDS_TEXT = {"head", "layer", "overview", "compare", "steps", "order", "dcmha"}


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
    hide_special: bool = False


@dataclass
class Lesson:
    name: str
    title: dict[str, str]
    slides: list[Slide] = field(default_factory=list)


def _check(kind: str, value, where: str):
    if kind == "bilingual":
        if isinstance(value, str):
            raise LessonError(f"{where} must give both languages, e.g. {{en: ..., zh: ...}}; got a single string")
        if not isinstance(value, dict):
            raise LessonError(f"{where} must be a mapping {{en: ..., zh: ...}}, got {type(value).__name__}")
        missing = [lang for lang in LANGS if not isinstance(value.get(lang), str) or not value[lang].strip()]
        if missing:
            raise LessonError(f"{where} is missing its {' and '.join(missing)} text")
        extra = sorted(set(value) - set(LANGS))
        if extra:
            raise LessonError(f"{where} has unknown language(s) {', '.join(map(str, extra))} (use en and zh)")
        return {lang: value[lang].strip() for lang in LANGS}
    if kind == "view":
        if value not in VIEWS:
            raise LessonError(f"{where} must be one of {', '.join(VIEWS)}; got {value!r}")
        return value
    if kind == "text":
        if not isinstance(value, str):
            raise LessonError(f"{where} must be text, got {type(value).__name__}")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise LessonError(f"{where} must be true or false, got {value!r}")
        return value
    if kind in ("index", "size"):
        low = 0 if kind == "index" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            what = "a whole number ≥ 0" if kind == "index" else "a whole number ≥ 1"
            raise LessonError(f"{where} must be {what}, got {value!r}")
        return value
    raise AssertionError(kind)


def parse_lesson(data, name: str) -> Lesson:
    if not isinstance(data, dict):
        raise LessonError(f"{name}: a lesson is a mapping with 'title' and 'slides'")
    unknown = sorted(set(data) - {"title", "slides"})
    if unknown:
        raise LessonError(f"{name}: unknown top-level field(s) {', '.join(map(str, unknown))} (use title and slides)")
    if "title" not in data:
        raise LessonError(f"{name}: the lesson has no 'title'")
    title = _check("bilingual", data["title"], f"{name}: the lesson title")
    slides_data = data.get("slides")
    if not isinstance(slides_data, list) or not slides_data:
        raise LessonError(f"{name}: 'slides' must be a non-empty list")
    slides = []
    for number, raw in enumerate(slides_data, start=1):
        label = f"{name}: slide {number}"
        if not isinstance(raw, dict):
            raise LessonError(f"{label} must be a mapping of fields, got {type(raw).__name__}")
        if isinstance(raw.get("title"), dict) and isinstance(raw["title"].get("en"), str):
            label += f" ({raw['title']['en']!r})"
        values = {}
        for key, value in raw.items():
            if key not in SLIDE_FIELDS:
                close = difflib.get_close_matches(str(key), SLIDE_FIELDS, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                raise LessonError(f"{label}: unknown field '{key}'{hint}")
            values[key] = _check(SLIDE_FIELDS[key][0], value, f"{label}: field '{key}'")
        for key, (_, required) in SLIDE_FIELDS.items():
            if required and key not in values:
                raise LessonError(f"{label}: missing required field '{key}'")
        if values["view"] in NEEDS_TEXT and not values.get("text", "").strip():
            raise LessonError(f"{label}: field 'text' is required for the '{values['view']}' view")
        slides.append(Slide(number=number, **values))
    return Lesson(name=name, title=title, slides=slides)


def load_lesson(path: str | Path) -> Lesson:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise LessonError(f"{path.name}: not valid YAML{where}: {getattr(error, 'problem', error)}") from None
    except OSError as error:
        raise LessonError(f"{path.name}: cannot be read ({error.strerror})") from None
    return parse_lesson(data, path.name)


def shipped_lessons() -> dict[str, Path]:
    return {path.stem: path for path in sorted(LESSON_DIR.glob("*.yaml"))}
