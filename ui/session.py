"""Models load once per process; captures are remembered per browser session."""

from __future__ import annotations

import gc
import sys

import streamlit as st
import torch

from attnviz.capture import run_capture
from attnviz.device import app_threads
from attnviz.masks import MaskSpec
from attnviz.models import DEFAULT_MODEL, available_models, load_model

# The app only draws these; capturing q, k, v and z too would only cost memory.
VIEW_HOOKS = ("blocks.*.attn.hook_pattern", "blocks.*.attn.hook_scores", "blocks.*.attn.hook_mask")


def command_line_model() -> str | None:
    """The model named after ``--`` in ``streamlit run app.py -- --model NAME_OR_DIR``."""
    args = sys.argv[1:]
    for i, arg in enumerate(args):
        if arg == "--model" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--model="):
            return arg.split("=", 1)[1]
    return None


def model_choices() -> list[str]:
    choices = available_models()
    extra = command_line_model()
    if extra and extra not in choices:
        choices.insert(0, extra)
    return choices


def default_model() -> str:
    return command_line_model() or DEFAULT_MODEL


def freeze_loaded_objects() -> None:
    """Move everything alive now (torch, transformers, the weights' Python objects) out of the GC's reach.

    Streamlit runs a full ``gc.collect()`` after every script run; walking the ~400k objects of a loaded
    model stack takes about 200 ms on a 2-core machine and holds the GIL while the browser waits for the
    rerun's last messages. Objects loaded once per process never become garbage, so freezing them is free.
    """
    gc.collect()
    gc.freeze()


@st.cache_resource(show_spinner="Loading the model (once per server)…", max_entries=4)
def get_model(name: str):
    torch.set_num_threads(app_threads())
    model = load_model(name)
    freeze_loaded_objects()
    return model


def captures_for(model_name: str, texts: tuple[str, ...], spec: MaskSpec, hooks: tuple[str, ...] | None = VIEW_HOOKS):
    """Run (or reuse, within this browser session) the capture of ``texts`` under ``spec``.

    ``hooks=None`` records every hook point (the step-by-step view needs q, k, v, z …).
    """
    key = (model_name, texts, spec, hooks)
    memo = st.session_state.get("_capture_memo")
    if memo is not None and memo[0] == key:
        return memo[1]
    result = run_capture(get_model(model_name), list(texts), spec, hooks=hooks)
    st.session_state["_capture_memo"] = (key, result)
    return result
