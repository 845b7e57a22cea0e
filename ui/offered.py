"""Which models this server offers, loaded once per process.

A browser can only *pick* among the models the operator offered: the registry's, those named at start-up
(``streamlit run app.py -- --model DIR_OR_ID``, repeatable) and those listed in ``ATTNVIZ_MODELS``
(separated by ``os.pathsep``). A URL or a lesson naming anything else is refused without touching the file
system, and every spelling of an offered folder (``dir/``, ``dir//``, ``./dir``) maps to one name, so to one
cache entry.
"""

from __future__ import annotations

import gc
import os
import sys

import streamlit as st
import torch

from attnviz.device import app_threads
from attnviz.models import DEFAULT_MODEL, available_models, kind_of, load_model
from attnviz.text import InputError


class ModelNotOffered(InputError):
    """A model name this server does not offer; the message never repeats the name (it may come from a URL)."""


def command_line_models() -> list[str]:
    """The models named after ``--`` in ``streamlit run app.py -- --model A --model B``."""
    args, found = sys.argv[1:], []
    for i, arg in enumerate(args):
        if arg == "--model" and i + 1 < len(args):
            found.append(args[i + 1])
        elif arg.startswith("--model="):
            found.append(arg.split("=", 1)[1])
    return found


def _spelling_key(name: str) -> str:
    """One key for every spelling of a folder (``d/``, ``d//``, ``./d``, ``~/d``); names stay as they are.

    Purely lexical: nothing from a browser ever reaches the file system through this.
    """
    if name in available_models():
        return name
    return os.path.normpath(os.path.abspath(os.path.expanduser(name)))


def offered_models() -> dict[str, str]:
    """key of every spelling -> the one name the app shows and caches, in the order of the model menu."""
    offered: dict[str, str] = {}
    extra = [m for m in os.environ.get("ATTNVIZ_MODELS", "").split(os.pathsep) if m.strip()]
    for name in [*command_line_models(), *extra, *available_models()]:
        name = name.strip()
        key = _spelling_key(name)
        if key not in offered:
            offered[key] = name.rstrip("/") or name
    return offered


ATTENTION_KINDS = ("encoder", "decoder")  # the attention pages' models; encoder-decoders have a page of their own


def model_choices(kinds: tuple[str, ...] = ATTENTION_KINDS) -> list[str]:
    """A model menu: the offered models of these kinds (read without loading them), in the menu's order."""
    return _of_kinds(tuple(dict.fromkeys(offered_models().values())), kinds)


@st.cache_data(show_spinner=False, max_entries=16)
def _of_kinds(names: tuple[str, ...], kinds: tuple[str, ...]) -> list[str]:
    """``names`` of these kinds, each kind read from its folder's config.json once per process and offered list
    (reading them all at every rerun cost more than the rest of the sidebar)."""
    return [name for name in names if kind_of(name) in kinds]


def canonical_model(name: object) -> str | None:
    """The offered model that ``name`` spells, or None."""
    if not isinstance(name, str) or not name.strip() or len(name) > 1024 or "\x00" in name:
        return None
    return offered_models().get(_spelling_key(name.strip()))


def default_model() -> str:
    return model_choices()[0] if command_line_models() else DEFAULT_MODEL


def freeze_loaded_objects() -> None:
    """Move everything alive now (torch, transformers, the weights' Python objects) out of the GC's reach.

    Streamlit runs a full ``gc.collect()`` after every script run; walking the ~400k objects of a loaded
    model stack takes about 200 ms on a 2-core machine and holds the GIL while the browser waits for the
    rerun's last messages. Objects loaded once per process never become garbage, so freezing them is free.
    """
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner="Loading the model (once per server)…", max_entries=6)  # the DCMHA page alone uses 3
def _load_offered(name: str):
    torch.set_num_threads(app_threads())
    model = load_model(name)
    freeze_loaded_objects()
    return model


def get_model(name: str):
    """An offered model, loaded once per process under its one canonical name."""
    canonical = canonical_model(name)
    if canonical is None:
        raise ModelNotOffered("msg.model_refused")
    return _load_offered(canonical)
