"""Lesson files: shipped ones load and every slide renders; malformed ones get precise messages."""

import json
import pickle
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest
import yaml

from attnviz.i18n import MESSAGES
from attnviz.teaching import lessons as lessons_module
from attnviz.teaching.lessons import (
    MAX_LESSON_BYTES,
    MAX_SLIDES,
    LessonError,
    Phrase,
    excerpt,
    load_lesson,
    parse_lesson,
    parse_lesson_bytes,
    shipped_lessons,
)
from attnviz.teaching.slides import slide_view
from attnviz.text import InputError

GOOD_SLIDE = {
    "title": {"en": "Causal", "zh": "因果"},
    "explanation": {"en": "Only the past.", "zh": "只看过去。"},
    "view": "head",
    "text": "the cat sat",
    "layer": 1,
    "head": 2,
    "causal": True,
}


def lesson_with(**changes):
    slide = {**GOOD_SLIDE, **changes}
    slide = {k: v for k, v in slide.items() if v is not None}
    return {"title": {"en": "T", "zh": "标题"}, "slides": [GOOD_SLIDE, slide]}


def test_at_least_three_shipped_lessons_cover_the_notes():
    lessons = {name: load_lesson(path) for name, path in shipped_lessons().items()}
    assert len(lessons) >= 3 and "4_dcmha" in lessons
    views = {slide.view for lesson in lessons.values() for slide in lesson.slides}
    assert {"head", "layer", "steps", "order", "positions"} <= views
    masks = [s for s in lessons["2_masks"].slides]
    assert (
        any(s.text2 for s in masks)
        and any(s.causal for s in masks)
        and any(s.window for s in masks)
        and any(s.chunk for s in masks)
    )


@pytest.mark.parametrize("name", sorted(shipped_lessons()))
def test_every_slide_of_every_shipped_lesson_renders(minilm, name):
    from attnviz.capture import get_model

    for slide in load_lesson(shipped_lessons()[name]).slides:
        character_model = get_model(slide.model or "dcformer-tiny") if slide.view == "dcmha" else None
        model = get_model(slide.model) if slide.model and slide.view != "dcmha" else minilm  # as the Presenter picks
        figures = slide_view(slide, model, character_model).figures
        assert figures, f"{name} slide {slide.number} drew nothing"
        if slide.view == "dcmha" and character_model.use_dcmha:
            before, after = figures[0], figures[1]  # probabilities, then the post-composed pattern
            assert "before post-compose" in before.layout.title.text and "after post-compose" in after.layout.title.text


def test_dcmha_lesson_shows_composition_and_the_twin():
    lesson = load_lesson(shipped_lessons()["4_dcmha"])
    assert lesson.slides[0].model == "mha-tiny" and any(s.window for s in lesson.slides)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"layer": "two"}, "slide 2 ('Causal'): field 'layer' must be a whole number ≥ 0, got 'two'"),
        ({"windw": 3}, "slide 2 ('Causal'): unknown field 'windw' (did you mean 'window'?)"),
        ({"view": "movie"}, "field 'view' must be one of"),
        ({"explanation": {"en": "only English"}}, "field 'explanation' is missing its zh text"),
        ({"title": "just a string"}, "field 'title' must give both languages"),
        ({"window": 0}, "field 'window' must be a whole number ≥ 1, got 0"),
        ({"causal": "yes"}, "field 'causal' must be true or false, got 'yes'"),
        ({"text": None}, "field 'text' is required for the 'head' view"),
        ({"view": None}, "missing required field 'view'"),
    ],
)
def test_malformed_slides_name_the_slide_and_field(changes, message):
    with pytest.raises(LessonError) as error:
        parse_lesson(lesson_with(**changes), "mine.yaml")
    assert message in str(error.value) and str(error.value).startswith("mine.yaml: ")


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("title: {en: a, zh: b}\nslides:\n  - view: [head\n", encoding="utf-8")
    with pytest.raises(LessonError, match=r"broken.yaml: not valid YAML at line \d+"):
        load_lesson(path)


def test_out_of_range_layer_is_reported_for_the_slide(minilm):
    lesson = parse_lesson(lesson_with(layer=9), "mine.yaml")
    with pytest.raises(LessonError, match="slide 2: field 'layer' is 9 but all-MiniLM-L6-v2 has layers 0–5"):
        slide_view(lesson.slides[1], minilm).figures


def test_a_teachers_own_file_round_trips(tmp_path):
    path = tmp_path / "own.yaml"
    # lesson_with shares GOOD_SLIDE's dicts, which PyYAML would write as anchors (refused): unshare them
    path.write_text(yaml.safe_dump(json.loads(json.dumps(lesson_with(window=2))), allow_unicode=True), encoding="utf-8")
    lesson = load_lesson(path)
    assert lesson.slides[1].window == 2 and lesson.slides[1].title["zh"] == "因果"


# --- untrusted uploads: size, anchors, limits, and short messages ----------------------------

HEADER = "title: {en: T, zh: 标题}\nslides:\n"
SLIDE_YAML = "  - title: {en: Causal, zh: 因果}\n    explanation: {en: Only the past., zh: 只看过去。}\n"


def billion_laughs(levels: int = 10) -> str:
    """The classic: each anchor holds ten aliases of the previous one, under a slide's 'view', whose
    error message used to quote the value (10 levels: 10^10 strings once expanded)."""
    lines = [HEADER + SLIDE_YAML + "    view:"]  # lines 1-5
    lines.append('      - &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]')  # line 6
    for i in range(1, levels):
        prev, this = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"      - &{this} [" + ",".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def refusal(data: bytes | str, name: str = "mine.yaml") -> str:
    with pytest.raises(LessonError) as error:
        parse_lesson_bytes(data.encode("utf-8") if isinstance(data, str) else data, name)
    return str(error.value)


def test_billion_laughs_is_refused_at_the_first_anchor_before_anything_is_built_with_a_short_message(tmp_path):
    """Read the way the Presenter reads an upload, in a child capped at 1 GB of address space and 60 s (so a
    regression fails instead of taking the machine down): before anchors were refused, formatting the error
    for this 700-byte file needed ~10^10 strings. Refused at the first anchor means: the loader composes no
    value after it (the values it composes are counted) and builds no Python object from the file at all."""
    bomb = billion_laughs(10)
    assert 600 <= len(bomb.encode()) <= 800 and bomb.count("&") == 10
    (tmp_path / "bomb.yaml").write_text(bomb, encoding="utf-8")
    # The values up to the first anchor, from PyYAML's own event stream (events hold aliases unexpanded).
    values = [event for event in yaml.parse(bomb) if isinstance(event, yaml.NodeEvent)]
    first = next(i for i, event in enumerate(values) if isinstance(event, yaml.AliasEvent) or event.anchor)
    lines_up_to_the_anchor = [event.start_mark.line + 1 for event in values[: first + 1]]
    assert lines_up_to_the_anchor[-1] == 6 and len(values) > len(lines_up_to_the_anchor) + 90  # the aliases follow
    child = textwrap.dedent(
        f"""
        import importlib.util, json, os, resource, sys, types
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
        folder = os.path.dirname({str(lessons_module.__file__)!r})
        for name, path in (("alone", os.path.dirname(folder)), ("alone.teaching", folder)):  # folders, not __init__s
            package = sys.modules[name] = types.ModuleType(name)
            package.__path__ = [path]
        spec = importlib.util.spec_from_file_location("alone.teaching.lessons", os.path.join(folder, "lessons.py"))
        lessons = sys.modules["alone.teaching.lessons"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(lessons)  # yaml and the standard library: no torch in the child
        composed, built = [], []  # the line of each value the loader composes; each document it builds
        compose_node, construct_document = lessons.LessonLoader.compose_node, lessons.LessonLoader.construct_document

        def counted_compose(self, parent, index):
            composed.append(self.peek_event().start_mark.line + 1)
            return compose_node(self, parent, index)

        def counted_construct(self, node):
            built.append(node.tag)
            return construct_document(self, node)

        lessons.LessonLoader.compose_node, lessons.LessonLoader.construct_document = counted_compose, counted_construct
        data = open({str(tmp_path / "bomb.yaml")!r}, "rb").read()
        try:
            lessons.parse_lesson_bytes(data, "bomb.yaml")
        except lessons.LessonError as error:
            print(json.dumps({{"message": str(error), "composed": composed, "built": built}}))
        """
    )
    run = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr[-2000:]
    refused = json.loads(run.stdout)
    message = refused["message"]
    assert refused["composed"] == lines_up_to_the_anchor  # nothing after the first anchor was even looked at
    assert refused["built"] == []  # and nothing was built, so nothing could be expanded or formatted
    assert message == "bomb.yaml: line 6: anchors and aliases (&name, *name) are not allowed in a lesson"
    assert len(message) < 300


@pytest.mark.parametrize(
    "yaml_text, message",
    [
        (HEADER + SLIDE_YAML + "    view: *nowhere\n", "mine.yaml: line 5: anchors and aliases"),  # an alias alone
        (
            HEADER + SLIDE_YAML + "    view: &v head\n    text: x\n",
            "mine.yaml: line 5: anchors and aliases",
        ),  # an anchor alone
        (
            HEADER + SLIDE_YAML + "    <<: {view: head, text: the cat}\n",
            "mine.yaml: line 5: merge keys (<<) are not allowed",
        ),
        (HEADER + SLIDE_YAML + "    view: head\n    1: x\n", "mine.yaml: line 6: a field name must be text, got '1'"),
        (
            HEADER + SLIDE_YAML + "    view: head\n    yes: x\n",
            "mine.yaml: line 6: a field name must be text, got 'yes'",
        ),
        (
            HEADER + SLIDE_YAML + "    ? [view]\n    : head\n",
            "mine.yaml: line 5: a field name must be text, got a list or mapping",
        ),
        (
            HEADER + SLIDE_YAML + "    view: head\n    text: " + "[" * 20 + "]" * 20 + "\n",
            "mine.yaml: line 6: the lesson is nested more than 8 levels deep",
        ),
        (
            HEADER + SLIDE_YAML + "    view: head\n    text: x\n---\ntitle: again\n",
            "mine.yaml: line 7: a lesson is a single YAML document",
        ),
        (
            HEADER + SLIDE_YAML + "    view: head\n    layer: 0x" + "f" * 5000 + "\n",
            "mine.yaml: line 6: a value that is not text is 5,002 characters long (at most 100)",
        ),
        (HEADER + "  [" + "x, " * 12_000 + "]\n", "more than 10,000 values (at most 200 slides)"),
        ("title: {en: a\x00, zh: b}\n", "mine.yaml: not valid YAML: unacceptable character #x0000"),
    ],
)
def test_the_lesson_loader_refuses_what_a_lesson_never_needs(yaml_text, message):
    assert message in refusal(yaml_text)


def test_the_merge_key_refusal_is_not_just_an_unknown_field():
    """With plain yaml.safe_load the merge would quietly give a valid slide: the loader must refuse it."""
    text = HEADER + SLIDE_YAML + "    <<: {view: head, text: the cat}\n"
    assert parse_lesson(yaml.safe_load(text), "mine.yaml").slides[0].view == "head"
    assert "merge keys" in refusal(text)


def test_an_oversize_file_is_refused_before_it_is_decoded_or_parsed(monkeypatch, tmp_path):
    def no_parsing(*args, **kwargs):
        raise AssertionError("parsed an oversize file")

    monkeypatch.setattr(lessons_module, "_load_yaml", no_parsing)
    big = (HEADER + SLIDE_YAML + "    view: head\n    text: the cat\n").encode() + b"#" * (3 * 1024 * 1024 + 200_000)
    assert refusal(big) == "mine.yaml: the file is 3.2 MB; a lesson is at most 256 KB"
    just_over = b"\xff" * (MAX_LESSON_BYTES + 1)  # not even UTF-8: the size is said first
    assert refusal(just_over) == "mine.yaml: the file is 257 KB; a lesson is at most 256 KB"

    path = tmp_path / "huge.yaml"
    path.write_bytes(big)
    monkeypatch.setattr(type(path), "read_bytes", no_parsing)  # refused from its size on disk, unread
    with pytest.raises(LessonError, match="^huge.yaml: the file is 3.2 MB; a lesson is at most 256 KB$"):
        load_lesson(path)


def test_a_file_at_the_limit_is_still_read():
    text = HEADER + SLIDE_YAML + "    view: head\n    text: the cat\n"
    padded = text.encode() + b"#" * (MAX_LESSON_BYTES - len(text.encode()) - 1) + b"\n"
    assert len(padded) == MAX_LESSON_BYTES
    assert parse_lesson_bytes(padded, "mine.yaml").slides[0].text == "the cat"


def test_a_10kb_unknown_field_name_gets_a_short_message():
    key = "k" * 10_240
    message = refusal(HEADER + SLIDE_YAML + f"    view: head\n    ? {key}\n    : 1\n")
    assert message.startswith("mine.yaml: slide 1 ('Causal'): unknown field 'kkkk") and "(10,240 characters)" in message
    assert len(message) < 300 and key not in message
    top = refusal(f"? {key}\n: 1\n")  # at the top level, and as a language of the title
    assert "unknown top-level field(s) 'kkk" in top and len(top) < 300
    language = refusal("title: {en: a, zh: b, ? " + key + " : c}\nslides: [x]\n")
    assert "unknown language(s) 'kkk" in language and len(language) < 300


@pytest.mark.parametrize(
    "slide_yaml, field",
    [
        ('    view: "' + "v\\e[31m\\u202e" * 3000 + '"\n', "field 'view' must be one of"),
        ('    view: head\n    causal: "' + "\\e[2J" * 3000 + '"\n', "field 'causal' must be true or false"),
        ('    view: head\n    layer: "' + "9" * 3000 + '"\n', "field 'layer' must be a whole number"),
    ],
)
def test_bad_values_are_quoted_short_and_escaped(slide_yaml, field):
    message = refusal(HEADER + SLIDE_YAML + slide_yaml)
    assert field in message and len(message) < 300
    assert "\x1b" not in message and "\u202e" not in message  # the raw control and bidi characters never appear...
    assert "9" * 100 not in message
    if "view" in field:
        assert "\\x1b[31m\\u202e" in message  # ...they are shown escaped


def test_the_file_name_is_shown_short_and_escaped():
    name = "[evil](http://x)\n\x1b" * 1000 + ".yaml"
    message = refusal(b"x: 1\n", name)
    assert message.startswith("[evil](http://x)\\n\\x1b") and len(message) < 300 and "\n" not in message


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"text": "x" * 5_001}, "field 'text' is 5,001 characters long; at most 5,000 are allowed"),
        ({"text2": "x" * 5_001}, "field 'text2' is 5,001 characters long; at most 5,000 are allowed"),
        (
            {"title": {"en": "x" * 2_001, "zh": "因果"}},
            "field 'title' (en) is 2,001 characters long; at most 2,000 are allowed",
        ),
        (
            {"explanation": {"en": "x", "zh": "长" * 2_001}},
            "field 'explanation' (zh) is 2,001 characters long; at most 2,000",
        ),
        ({"layer": 100_001}, "field 'layer' must be at most 100,000, got 100001"),
        ({"window": 10**300}, "field 'window' must be at most 100,000, got a number of 997 bits"),
    ],
)
def test_field_limits_are_named_in_the_message(changes, message):
    with pytest.raises(LessonError) as error:
        parse_lesson(lesson_with(**changes), "mine.yaml")
    assert message in str(error.value) and len(str(error.value)) < 300


# --- messages in the page's language -----------------------------------------------------------


def _keys_and_data(value, keys: list, data: list) -> None:
    """The text keys a message is worded with (its phrases'), and the data it quotes (names, excerpts, numbers)."""
    if isinstance(value, Phrase):
        keys.append(value.key)
        for item in value.values.values():
            _keys_and_data(item, keys, data)
    elif isinstance(value, tuple):
        for item in value:
            _keys_and_data(item, keys, data)
    elif isinstance(value, (str, int)):
        data.append(str(value))


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z]{2,}", re.sub(r"\{[^{}]*\}", " ", text)))


def _a_stand_in_model(**changes):
    return types.SimpleNamespace(**{"kind": "decoder", "name": "tiny-lm", "n_layers": 2, "n_heads": 4, **changes})


def _slide(**changes):
    return parse_lesson(lesson_with(**changes), "mine.yaml").slides[1]


CHINESE_CASES = {
    "unknown view": (
        lambda: parse_lesson(lesson_with(view="movie"), "mine.yaml"),
        ["mine.yaml", "第 2 页", "'view'", "'movie'", "head、layer"],
    ),
    "bad YAML": (
        lambda: parse_lesson_bytes(b"title: {en: a, zh: b}\nslides:\n  - view: [head\n", "broken.yaml"),
        ["broken.yaml", "第 4 行第 1 列", "YAML"],
    ),
    "field over its limit": (
        lambda: parse_lesson(lesson_with(text="x" * 5_001), "mine.yaml"),
        ["mine.yaml", "第 2 页", "'text'", "5,001", "5,000"],
    ),
    "one language too long": (
        lambda: parse_lesson(lesson_with(explanation={"en": "x", "zh": "长" * 2_001}), "mine.yaml"),
        ["mine.yaml", "第 2 页", "'explanation'", "（zh）", "2,001"],
    ),
    "a long value cut": (
        lambda: parse_lesson(lesson_with(view="v" * 100), "mine.yaml"),
        ["mine.yaml", "第 2 页", "'" + "v" * 40 + "'…", "100 个字符"],
    ),
    "anchors": (lambda: parse_lesson_bytes(billion_laughs(3).encode(), "bomb.yaml"), ["bomb.yaml", "第 6 行", "&name"]),
    "languages listed": (
        lambda: parse_lesson({"title": {"en": "a", "zh": "b", "fr": "c", "de": "d", "it": "e", "es": "f"}}, "m.yaml"),
        ["m.yaml", "'fr'、'de'、'it'", "另外 1 个"],
    ),
    "slide out of the model's layers": (
        lambda: slide_view(_slide(layer=9), _a_stand_in_model()),
        ["第 2 页", "'layer'", "9", "tiny-lm", "0–1"],
    ),
    "dcmha slide without the DCFormer": (
        lambda: slide_view(_slide(view="dcmha"), _a_stand_in_model(), dcformer=None),
        ["第 2 页", "'dcmha'", "DCFormer"],
    ),
}


@pytest.mark.parametrize("case", sorted(CHINESE_CASES))
def test_a_malformed_lesson_is_said_in_chinese(case):
    """The same message in Chinese: the file, the slide, the field and the quoted value as they are, and not one
    word of the English sentence left (words the file itself spells, such as 'view' or 'en', are data)."""
    make, fragments = CHINESE_CASES[case]
    with pytest.raises(LessonError) as raised:
        make()
    error = raised.value
    assert isinstance(error, InputError) and error.message("en") == str(error)
    zh = error.message("zh")
    assert re.search("[\u4e00-\u9fff]", zh) and zh != str(error)
    assert all(fragment in zh for fragment in fragments), zh
    keys, data = [error.key], []
    for value in error.values.values():
        _keys_and_data(value, keys, data)
    english = set().union(*(_words(MESSAGES[key]["en"]) - _words(MESSAGES[key]["zh"]) for key in keys))
    rest = zh
    for value in sorted(data, key=len, reverse=True):
        rest = rest.replace(value, " ")
    assert english and not _words(rest) & english, (zh, _words(rest) & english)


def test_every_lesson_message_key_is_in_the_catalogue():
    """A key spelled wrong would be shown as it is (LessonError keeps text that is no key): every key the lesson
    code names is a text of the catalogue, and the catalogue holds no lesson text the code never names."""
    folder = Path(lessons_module.__file__).parent
    source = "".join((folder / name).read_text(encoding="utf-8") for name in ("lessons.py", "slides.py"))
    named = set(re.findall(r'"(presenter\.lesson_[a-z0-9_]+)"', source))
    catalogue = {key for key in MESSAGES if key.startswith("presenter.lesson_")}
    assert named - catalogue == set() and catalogue - named == set()


def test_a_lesson_error_keeps_its_words_through_pickling_and_as_given_text():
    with pytest.raises(LessonError) as raised:
        parse_lesson(lesson_with(windw=3), "mine.yaml")
    again = pickle.loads(pickle.dumps(raised.value))
    assert str(again) == str(raised.value) and again.message("zh") == raised.value.message("zh")
    assert "未知字段 'windw'（是否想写 'window'？）" in again.message("zh")
    worded = LessonError("bomb.yaml: line 7: anchors and aliases (&name, *name) are not allowed in a lesson")
    assert str(worded) == worded.message("zh") == worded.args[0]  # a message kept as text (ui/uploads.py) stays


def test_a_lesson_has_at_most_200_slides():
    lesson = {"title": {"en": "T", "zh": "标题"}, "slides": [dict(GOOD_SLIDE) for _ in range(MAX_SLIDES)]}
    assert len(parse_lesson(lesson, "mine.yaml").slides) == MAX_SLIDES
    lesson["slides"].append(dict(GOOD_SLIDE))
    with pytest.raises(LessonError, match="^mine.yaml: the lesson has 201 slides; at most 200 are allowed$"):
        parse_lesson(lesson, "mine.yaml")


@pytest.mark.parametrize(
    "value, shown",
    [
        ("two", "'two'"),
        ("x" * 41, "'" + "x" * 40 + "'… (41 characters)"),
        ("\x1b[31m\u202e", "'\\x1b[31m\\u202e'"),
        ("\U0010ffff" * 30, "'" + "\\U0010ffff" * 4 + "'… (30 characters)"),  # cut after escaping, not before
        ("多头注意力", "'多头注意力'"),
        (0, "0"),
        (10**50, "a number of 167 bits"),
        ([list(range(100))] * 50, "[[0, 1, 2, 3, ...], [0, 1, 2, 3, ...], […"),
    ],
)
def test_excerpt(value, shown):
    assert excerpt(value) == shown


@pytest.mark.parametrize("name", sorted(shipped_lessons()))
def test_every_shipped_lesson_loads_through_the_upload_path_and_pickles(name):
    path = shipped_lessons()[name]
    data = path.read_bytes()
    assert len(data) < MAX_LESSON_BYTES // 4
    lesson = parse_lesson_bytes(data, path.name)
    assert lesson == load_lesson(path) and 1 <= len(lesson.slides) <= MAX_SLIDES
    assert pickle.loads(pickle.dumps(lesson)) == lesson  # st.cache_data pickles what it keeps


def test_the_flashattention_slide_walks_the_row_in_blocks_and_ends_at_the_softmax(minilm):
    """Lesson 2's FlashAttention slide: the running max after the last block is the row's max, the last running sum is
    Σ exp(s − max) over the allowed keys, and the bars at the end are the capture's own softmax row."""
    from attnviz.capture import run_capture
    from attnviz.masks import MaskSpec
    from attnviz.teaching.lessons import load_lesson, shipped_lessons
    from attnviz.teaching.slides import slide_view

    lesson = load_lesson(shipped_lessons()["2_masks"])
    (slide,) = [s for s in lesson.slides if s.view == "flash"]
    online, bars = slide_view(slide, minilm, lang="en").figures
    (cap,) = run_capture(minilm, [slide.text], MaskSpec())
    scores = cap.scores(slide.layer)[slide.head, slide.query].astype(np.float64)
    m_line = [y for y in online.data[1].y if y is not None]
    assert m_line[-1] == pytest.approx(scores.max(), abs=1e-5)
    assert online.data[2].y[-1] == pytest.approx(np.exp(scores - scores.max()).sum(), rel=1e-5)
    n_blocks = -(-len(cap.tokens) // slide.block)
    assert len(online.data[2].y) == n_blocks and online.data[2].text[0] == "×0.000"  # nothing before the first block
    np.testing.assert_allclose(
        np.asarray(bars.data[0].y, dtype=float), cap.pattern(slide.layer)[slide.head, slide.query], atol=1e-6
    )
