"""Step by step keeps its query on the same token when the text is read another way (ui.state.follow_token).

Switching from MiniLM to a character model kept the position: "10: it" became "10: l"."""

from __future__ import annotations

from ui.state import follow_token

TEXT = "The animal didn't cross the street because it was too tired."
WORDS = ["[CLS]", "the", "animal", "didn", "'", "t", "cross", "the", "street", "because", "it", "was", "too", "tired"]
WORDS += [".", "[SEP]"]
CHARS = ["<s>", *TEXT]


def test_a_word_is_followed_to_the_characters_that_spell_it():
    at = follow_token(CHARS, 10, "it", len(WORDS))
    assert CHARS[at : at + 2] == ["i", "t"] and CHARS[at - 1] == " "  # the word "it", not the "it" inside a word


def test_a_character_is_followed_to_the_word_it_begins():
    assert WORDS[follow_token(WORDS, CHARS.index("i", 40), "i", len(CHARS))] == "it"


def test_the_same_token_stays_and_a_repeated_one_is_taken_nearest_its_place():
    assert follow_token(WORDS, 10, "it", len(WORDS)) == 10
    longer = ["[CLS]", "the", "cat", "and", "the", "dog", "saw", "the", "owl", "[SEP]"]
    assert follow_token(longer, 7, "the", len(longer)) == 7
    assert follow_token(longer, 6, "the", 12) in (4, 7)  # the "the" nearest where it was along the text
    # a capture's readable tokens: a byte-level model's leading space, a WordPiece continuation mark
    assert follow_token([" the", " cat"], 0, "the", 2) == 0
    assert follow_token(["[CLS]", "play", "‿ing", "[SEP]"], 1, "ing", 4) == 2


def test_a_token_that_is_gone_keeps_its_place_along_the_text():
    assert follow_token(["a", "b", "c", "d"], 10, "zebra", 20) == 2
    assert follow_token([], 3, "x", 5) == 0


def test_step_by_step_keeps_its_query_token_when_the_model_changes_and_then_a_new_choice_sticks():
    """The sequence a student does: pick "it", switch to the character model, pick another query, switch back."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    page = str(Path(__file__).resolve().parents[2] / "pages" / "3_Step_by_step.py")
    at = AppTest.from_file(page, default_timeout=180)
    at.query_params.update({"text": TEXT, "query": "10", "lang": "en"})
    at.run()
    assert not at.exception and at.selectbox(key="query").format_func(10) == "10: it"
    at.selectbox(key="model").set_value("mistral-char").run()
    assert not at.exception
    query = at.selectbox(key="query").value
    labels = [at.selectbox(key="query").format_func(i).split(": ", 1)[1] for i in (query, query + 1, query - 1)]
    assert labels == ["i", "t", "␣"]  # the word "it", its space drawn as every page draws it
    at.selectbox(key="query").set_value(query + 3).run()  # "w" of "was": a choice in the menu is kept as made
    assert at.selectbox(key="query").value == query + 3
    at.selectbox(key="model").set_value("all-MiniLM-L6-v2").run()
    assert not at.exception and at.selectbox(key="query").format_func(at.selectbox(key="query").value) == "11: was"
