"""Why a model cannot load is said in the page's language: model errors are text keys with values
(attnviz/i18n/models.py), translated where they are shown; they used to be English prose pasted into Chinese text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from attnviz.models import ModelNotFound, load_model
from attnviz.text import InputError

APP = str(Path(__file__).resolve().parents[2] / "app.py")
CHINESE = re.compile("[\u4e00-\u9fff]")


@pytest.mark.parametrize(
    ("config", "english"),
    [
        (None, "no config.json"),
        ({"model_type": "no-such-family"}, "not a model family this version of transformers knows"),
        ([1, 2], "config.json cannot be read"),
    ],
)
def test_a_refusal_has_a_key_values_and_both_languages(tmp_path, config, english):
    if config is not None:
        (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ModelNotFound) as caught:
        load_model(str(tmp_path), device="cpu")
    error = caught.value
    assert isinstance(error, InputError) and error.key.startswith("model.")
    assert english in str(error) and str(error) == error.message("en")
    chinese = error.message("zh")
    assert CHINESE.search(chinese) and chinese != str(error)
    for value in error.values.values():  # what the message names (a folder, a family) is in both
        assert str(value) in chinese


@pytest.mark.parametrize(("lang", "words"), [("en", "no config.json"), ("zh", "没有 config.json")])
def test_the_page_says_it_in_its_language(tmp_path, monkeypatch, lang, words):
    broken = tmp_path / "broken-model"
    broken.mkdir()
    monkeypatch.setenv("ATTNVIZ_MODELS", str(broken))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["model"] = str(broken) + "/"
    at.query_params["lang"] = lang
    at.run()
    assert not at.exception
    shown = " ".join(e.value for e in at.error)
    assert words in shown.replace("\\", ""), shown  # the message is inert Markdown (its punctuation escaped)
    if lang == "zh":
        assert "not a model directory" not in shown
