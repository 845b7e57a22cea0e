"""A text the model reads as its unknown token is said, on every model: MiniLM turned 狗追猫。 into [UNK] [UNK] [UNK]
with no notice, while the character models warned in the same case."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from attnviz.capture import get_model
from attnviz.masks import MaskSpec

APP = str(Path(__file__).resolve().parents[2] / "app.py")


def test_minilm_names_what_it_reads_as_unk_and_stays_quiet_otherwise():
    model = get_model("all-MiniLM-L6-v2")
    (notice,) = [n for n in model.notices("狗追猫。 The cat.", MaskSpec()) if n.key == "msg.unknown_tokens"]
    assert notice.level == "warning" and notice.values["unk"] == "[UNK]"
    assert notice.values["chars"].split() == ["狗", "追", "猫"]
    assert not [n for n in model.notices("The cat sat on the mat.", MaskSpec()) if n.key == "msg.unknown_tokens"]


@pytest.mark.parametrize(("lang", "words"), [("en", "reads each as"), ("zh", "被读作")])
def test_the_main_page_says_it_in_the_pages_language(lang, words):
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["lang"] = lang
    at.query_params["text"] = "狗追猫。"
    at.run()
    assert not at.exception
    shown = " ".join(w.value for w in at.warning).replace("\\", "")  # notices are inert Markdown
    assert words in shown and "狗 追 猫" in shown, shown
