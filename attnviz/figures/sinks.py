"""The attention-sink experiment's figure: a language model's loss at every position as trained, with a window, and
with the window plus sinks. A :class:`attnviz.analysis.sinks.SinkExperiment` in, a ``go.Figure`` out."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..analysis.sinks import SinkExperiment, moving_mean
from .attention import _translator
from .style import finish

SMOOTHING = 16  # positions averaged per point
LINES = (  # (which losses, the catalogue key of its name, colour, dash)
    ("trained", "sinks.trained", "#404040", "solid"),
    ("windowed", "sinks.windowed", "#d6604d", "solid"),
    ("with_sinks", "sinks.with_sinks", "#2166ac", "dash"),
)


def sink_losses_figure(experiment: SinkExperiment, *, title: str | None = None, lang: str = "en") -> go.Figure:
    """Each run's loss per position (a moving mean of SMOOTHING positions) after the window's reach, where the window
    has cut something (before it the three runs see the same keys and agree)."""
    T = _translator(lang)
    fig = go.Figure()
    for attribute, key, colour, dash in LINES:
        losses = getattr(experiment, attribute)
        name = T(key, w=experiment.window, s=experiment.sinks)
        start = min(experiment.window, len(losses))
        fig.add_trace(
            go.Scatter(
                x=np.arange(start + 1, len(losses) + 1),
                y=moving_mean(losses[start:], SMOOTHING),
                mode="lines",
                name=name,
                line=dict(color=colour, dash=dash, width=2),
                hovertemplate=T("sinks.hover", name=name) + "<extra></extra>",
            )
        )
    text = title if title is not None else T("sinks.title", w=experiment.window, s=experiment.sinks)
    fig.update_layout(
        title=dict(text=text),
        xaxis=dict(title=T("sinks.position")),
        yaxis=dict(title=T("sinks.loss", k=SMOOTHING)),
        legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0),
        height=420,
    )
    return finish(fig)
