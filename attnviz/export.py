"""Static and standalone exports of figures and captures (PNG/SVG through kaleido, HTML, NPZ)."""

from __future__ import annotations

import atexit
import io
import os
import shutil
import threading
import warnings

import numpy as np
import plotly.graph_objects as go

EXPORT_WIDTH = 1100  # the page's column width is not known on the server; exports use a fixed size


def _point_kaleido_at_chromium() -> None:
    # kaleido drives a Chrome-like browser; use the system Chromium when the user has not chosen one.
    if "BROWSER_PATH" not in os.environ:
        for candidate in ("/usr/bin/chromium", "/usr/bin/chromium-browser", shutil.which("chromium") or ""):
            if candidate and os.path.exists(candidate):
                os.environ["BROWSER_PATH"] = candidate
                break


_renderer_lock = threading.Lock()


def _shared_renderer() -> None:
    """One Chromium for every image export of this process (kaleido's sync server, one tab): concurrent exports
    wait in its line instead of each starting a browser (about 12 processes and 460 MB apiece); stopped at exit."""
    import kaleido

    with _renderer_lock:
        if not kaleido._global_server.is_running():
            kaleido.start_sync_server(n=1, silence_warnings=True)
            atexit.register(kaleido.stop_sync_server, silence_warnings=True)


def figure_image(fig: go.Figure, fmt: str = "png", scale: float = 2.0) -> bytes:
    """PNG or SVG bytes of exactly this figure (same data, layout and colours as on the page)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"image format must be png or svg, not {fmt!r}")
    _point_kaleido_at_chromium()
    _shared_renderer()
    height = fig.layout.height or 500
    with warnings.catch_warnings():  # plotly passes browser options the shared renderer already has
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        return fig.to_image(format=fmt, width=EXPORT_WIDTH, height=height, scale=scale if fmt == "png" else 1)


def figure_html(fig: go.Figure) -> str:
    """A standalone interactive page: plotly.js inlined, works offline."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})


def capture_npz(arrays: dict) -> bytes:
    """NPZ bytes of named arrays (a Capture or any mapping of names to arrays)."""
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **{name: np.asarray(value) for name, value in arrays.items()})
    return buffer.getvalue()
