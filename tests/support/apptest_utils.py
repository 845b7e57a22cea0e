"""Reading Plotly figures out of Streamlit's AppTest element tree."""

import base64
import json

import numpy as np


def figures(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]


def title_of(spec: dict) -> str:
    """A figure's title as written: its second line is drawn as the subtitle (figures.style), read back after "<br>"."""
    title = spec["layout"].get("title") or {}
    subtitle = (title.get("subtitle") or {}).get("text")
    return title.get("text", "") + (f"<br>{subtitle}" if subtitle else "")


def figure_with_title(at, fragment: str) -> dict:
    for spec in figures(at):
        if fragment in title_of(spec):
            return spec
    raise AssertionError(f"no figure titled like {fragment!r}")


def array(value) -> np.ndarray:
    """Plotly encodes NumPy arrays as {'dtype', 'bdata', 'shape'}; plain lists stay lists."""
    if isinstance(value, dict) and "bdata" in value:
        data = np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
        shape = value.get("shape")
        if shape:
            data = data.reshape([int(n) for n in str(shape).split(",")])
        return data
    return np.array(value, dtype=float)
