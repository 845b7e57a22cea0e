"""Named hook points, TransformerLens style.

A ``HookPoint`` is an identity module placed at every intermediate worth seeing
(``blocks.3.attn.hook_pattern``).  Recording is scoped to one forward call through a
``ContextVar``: each thread (each Streamlit session runs in its own) sees only the
recorder it opened itself, so two users capturing different sentences at once can
never write into each other's results.  Ordinary ``register_forward_hook`` calls on a
HookPoint keep working for anyone who prefers PyTorch's own mechanism.

Editing works the same way (TransformerLens's ``run_with_hooks``): inside ``editing({name: fn})`` the HookPoint
of that name returns ``fn(x)`` instead of ``x``, so the forward goes on with the edited tensor (a head ablation
edits ``blocks.{l}.attn.hook_z``).  Edits are scoped per thread by a ``ContextVar`` like recording; a recorder
active at the same time sees the EDITED tensor, so a capture under an ablation shows the ablated state.  An edit
changes the forward only where the model goes on with what the HookPoint returns: every family does for
``hook_z`` (it feeds the output projection) and the residual-stream points; DCFormer's recorded maps (scores,
pattern ...) are copies made for viewing, so editing those changes nothing there.
"""

from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import types
from collections.abc import Callable, Iterable, Iterator, Mapping

import torch
from torch import nn

_active_recorder: contextvars.ContextVar[Recorder | None] = contextvars.ContextVar(
    "attnviz_active_recorder", default=None
)


# hook name -> the edit functions applied there, outermost ``editing`` block first
Edit = Callable[[torch.Tensor], "torch.Tensor | None"]
_active_edits: contextvars.ContextVar[Mapping[str, tuple[Edit, ...]]] = contextvars.ContextVar(
    "attnviz_active_edits",
    default=types.MappingProxyType({}),  # read-only: a block sets a new mapping, never edits one
)


def is_pattern(name: str) -> bool:
    """Whether a hook name is an fnmatch pattern (``blocks.*.attn.hook_pattern``) rather than one exact name."""
    return bool(set(name) & set("*?["))


class StopForward(Exception):
    """Raised through the model by a recorder that ``stop_when_done`` once it holds every name it wants."""


class Recorder:
    """Collects the tensors passing through hook points during one forward call."""

    def __init__(self, patterns: Iterable[str] | None = None, stop_when_done: bool = False):
        # fnmatch patterns such as "blocks.*.attn.hook_pattern"; None records everything.
        self.patterns = None if patterns is None else tuple(patterns)
        self.tensors: dict[str, torch.Tensor] = {}
        # Only exact names (no wildcard) say when everything is recorded: then the rest of the forward is skipped.
        exact = self.patterns is not None and not any(map(is_pattern, self.patterns))
        self.stop_when_done = stop_when_done and exact
        self._names = frozenset(self.patterns or ()) if exact else None  # exact names: a set lookup per hook point

    def wants(self, name: str) -> bool:
        if self.patterns is None:
            return True
        if self._names is not None:
            return name in self._names
        return any(fnmatch.fnmatchcase(name, p) for p in self.patterns)

    def save(self, name: str, value: torch.Tensor) -> None:
        self.tensors[name] = value.detach()
        if self.stop_when_done and all(p in self.tensors for p in self.patterns or ()):
            raise StopForward


class HookPoint(nn.Module):
    """Identity module (unless an ``editing`` block edits its name) that hands its tensor to the active recorder."""

    def __init__(self, name: str):
        super().__init__()
        self.name = name

    def wanted(self) -> bool:
        """True when someone will see this point's tensor (the active recorder keeps it, an edit replaces it, or a
        PyTorch hook is registered on it): a model computes an expensive intermediate (a whole (heads, q, k) map)
        only then."""
        if self._forward_hooks or self._forward_pre_hooks or self.name in _active_edits.get():
            return True
        recorder = _active_recorder.get()
        return recorder is not None and recorder.wants(self.name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for edit in _active_edits.get().get(self.name, ()):
            edited = edit(x)
            x = x if edited is None else edited  # None: the edit changed x in place (TransformerLens's convention)
        recorder = _active_recorder.get()
        if recorder is not None and recorder.wants(self.name):
            recorder.save(self.name, x)  # after the edits: a capture under an ablation shows the ablated state
        return x

    def extra_repr(self) -> str:
        return self.name


@contextlib.contextmanager
def recording(patterns: Iterable[str] | None = None, stop_when_done: bool = False) -> Iterator[Recorder]:
    """Record every hook point (or those matching ``patterns``) inside the block. ``stop_when_done``: when
    ``patterns`` are exact names, the hook point that records the last of them raises :class:`StopForward`."""
    recorder = Recorder(patterns, stop_when_done)
    token = _active_recorder.set(recorder)
    try:
        yield recorder
    finally:
        _active_recorder.reset(token)


@contextlib.contextmanager
def editing(edits: Mapping[str, Edit]) -> Iterator[None]:
    """Inside the block, the HookPoint named ``name`` returns ``edits[name](x)`` instead of ``x`` (exact names, as
    ``hook_name`` spells them; an edit returning None is taken to have changed ``x`` in place).

    Nested blocks add up: at a name both edit, the outer block's function runs first and the inner one gets its
    result. Scoped to this thread (a ``ContextVar``), so another session's forward never sees these edits.
    """
    outer = _active_edits.get()
    combined = dict(outer)
    for name, edit in edits.items():
        combined[name] = (*outer.get(name, ()), edit)
    token = _active_edits.set(combined)
    try:
        yield
    finally:
        _active_edits.reset(token)


def to_numpy(tensor: torch.Tensor):
    """A recorded tensor as NumPy: bool, float32 and int64 kept, other floats (bf16, fp16) as float32."""
    tensor = tensor.detach()
    if tensor.dtype not in (torch.bool, torch.float32, torch.int64):
        tensor = tensor.float()
    return tensor.cpu().numpy()
