"""StreamingLLM's observation, measured on a shipped model: run a language model with a sliding window only, then
with the same window plus a few attention sinks (the first tokens kept visible), and compare its loss at every
position with the loss of the model as trained.

Xiao et al. (2024) found that large language models park a large share of every row's attention on the first
tokens; a window that slides past them then breaks the model, and keeping a few "sinks" mends it. Whether a model
shows this is a property of the model: :attr:`SinkExperiment.first_share` measures how much attention it gives the
first tokens, and the losses say what the window and the sinks did to it, both from the real forward.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..masks import MaskSpec

# The capture layer (torch) is imported by sink_experiment alone: the experiment's type and moving_mean are plain
# NumPy, and the figures draw an experiment without a model (tests/test_layering.py).


@dataclass(frozen=True)
class SinkExperiment:
    window: int
    sinks: int
    trained: np.ndarray  # (n - 1,) loss (nats) at each position, the model as trained (causal, its own windows)
    windowed: np.ndarray  # with the window
    with_sinks: np.ndarray  # with the window and the sinks
    first_share: float  # the model as trained: mean share of a row's attention on the first ``sinks`` tokens,
    # over every layer, head and query past the window

    def mean_after_window(self, losses: np.ndarray) -> float:
        """The mean loss over the positions whose context the window cuts (every prediction past the window)."""
        tail = losses[self.window :]
        return float(tail.astype(np.float64).mean()) if len(tail) else float("nan")


def sink_experiment(model, text: str, window: int, sinks: int, capture=None) -> SinkExperiment:
    """The three runs of ``model`` (a decoder) on ``text``: as trained, with a causal ``window``, and with the window
    plus ``sinks`` sink tokens. ``capture``: the model as trained, with every layer's pattern (the caller's cache);
    captured here when not given."""
    if model.kind != "decoder":
        raise ValueError(f"{model.name} is not a language model: the experiment measures next-token loss")
    from ..capture import position_losses, run_capture
    from ..models.base import hook_name

    trained_spec = MaskSpec(causal=True)
    if capture is None:
        (capture,) = run_capture(model, [text], trained_spec, [hook_name("pattern", "*")])
    shares = [capture.pattern(layer)[:, window:, :sinks].sum(-1) for layer in range(model.n_layers)]
    first_share = float(np.mean([share.mean() for share in shares])) if shares[0].size else float("nan")
    return SinkExperiment(
        window,
        sinks,
        position_losses(model, text, trained_spec),
        position_losses(model, text, MaskSpec(causal=True, window=window)),
        position_losses(model, text, MaskSpec(causal=True, window=window, sinks=sinks)),
        first_share,
    )


def moving_mean(values: np.ndarray, width: int) -> np.ndarray:
    """The mean of each position's last ``width`` values (fewer at the start): a character model's loss per position
    is noisy, its trend is what a class reads."""
    sums = np.cumsum(np.concatenate([[0.0], values.astype(np.float64)]))
    positions = np.arange(1, len(values) + 1)
    starts = np.maximum(0, positions - width)
    return ((sums[positions] - sums[starts]) / (positions - starts)).astype(np.float32)
