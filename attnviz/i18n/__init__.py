"""Interface text in English and Chinese: one catalogue shape, one lookup.

Every user-facing string has a key, ``"<page>.<name>"`` → ``{"en": ..., "zh": ...}``, in the file of the page that
shows it (``common`` for what every page shares). :func:`translate` is the only way to read one; the parity test
(tests/test_i18n.py) checks that every text has both languages with the same ``{placeholders}``.
"""

from __future__ import annotations

from . import analysis, attention, common, compare, dcmha, generation, order, presenter, seq2seq, steps
from . import importance  # pages/8_Head_importance.py
from . import models  # attnviz/models: why a model cannot be loaded or recorded
from . import images  # pages/9_Images.py and the figures over image patches

LANGUAGE_NAMES = {"en": "English", "zh": "中文"}
CATALOGUES = {
    module.__name__.rsplit(".", 1)[-1]: module.TEXT
    for module in (
        common,
        attention,
        compare,
        steps,
        order,
        dcmha,
        seq2seq,
        presenter,
        generation,
        analysis,
        importance,
        models,
        images,
    )
}


def _merge() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for name, catalogue in CATALOGUES.items():
        for key, entry in catalogue.items():
            if key in merged:
                raise ValueError(f"interface text {key!r} is defined twice (again in i18n/{name}.py)")
            merged[key] = entry
    return merged


MESSAGES: dict[str, dict[str, str]] = _merge()


def translate(key: str, lang: str = "en", **values) -> str:
    """``key``'s text in ``lang`` (English when that language lacks it), formatted with ``values`` when given
    (without values, the template itself: a caller may format it later, per item)."""
    entry = MESSAGES.get(key)
    if entry is None:
        raise KeyError(f"no interface text for {key!r}")
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text
