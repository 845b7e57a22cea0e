"""Named hook points, TransformerLens style.

A ``HookPoint`` is an identity module placed at every intermediate worth seeing
(``blocks.3.attn.hook_pattern``).  Recording is scoped to one forward call through a
``ContextVar``: each thread (each Streamlit session runs in its own) sees only the
recorder it opened itself, so two users capturing different sentences at once can
never write into each other's results.  Ordinary ``register_forward_hook`` calls on a
HookPoint keep working for anyone who prefers PyTorch's own mechanism.
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
from collections.abc import Iterable, Iterator

import torch
from torch import nn

_active_recorder: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "attnviz_active_recorder", default=None
)


class Recorder:
    """Collects the tensors passing through hook points during one forward call."""

    def __init__(self, patterns: Iterable[str] | None = None):
        # fnmatch patterns such as "blocks.*.attn.hook_pattern"; None records everything.
        self.patterns = None if patterns is None else tuple(patterns)
        self.tensors: dict[str, torch.Tensor] = {}

    def wants(self, name: str) -> bool:
        if self.patterns is None:
            return True
        return any(fnmatch.fnmatchcase(name, p) for p in self.patterns)

    def save(self, name: str, value: torch.Tensor) -> None:
        self.tensors[name] = value.detach()


class HookPoint(nn.Module):
    """Identity module that hands its input to the active recorder, if any."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        recorder = _active_recorder.get()
        if recorder is not None and recorder.wants(self.name):
            recorder.save(self.name, x)
        return x

    def extra_repr(self) -> str:
        return self.name


@contextlib.contextmanager
def recording(patterns: Iterable[str] | None = None) -> Iterator[Recorder]:
    """Record every hook point (or those matching ``patterns``) inside the block."""
    recorder = Recorder(patterns)
    token = _active_recorder.set(recorder)
    try:
        yield recorder
    finally:
        _active_recorder.reset(token)


def is_recording() -> bool:
    return _active_recorder.get() is not None
