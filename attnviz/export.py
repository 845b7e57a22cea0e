"""Static and standalone exports of figures and captures (PNG/SVG through kaleido, HTML, NPZ)."""

from __future__ import annotations

import atexit
import collections
import contextlib
import io
import os
import shutil
import threading
import warnings
from collections.abc import Callable, Hashable
from typing import Any

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


class ExportBusy(RuntimeError):
    """The export line is full, or whoever asks already has an export in it: ask again when it is done."""


class ExportLine:
    """The places in the server's export line: at most ``places`` exports (images from the shared renderer, HTML
    pages, NPZ files) are prepared at once, and at most one per owner (a session). An export beyond either bound
    is refused at once rather than queued: a server prepares each click in a thread of its own, so a line without
    an end would let one student who clicks fifty times hold fifty threads and make everyone else's export wait
    behind them."""

    def __init__(self, places: int):
        self.places = max(1, int(places))
        self._lock = threading.Lock()
        self._owners: collections.Counter = collections.Counter()

    @property
    def taken(self) -> int:
        with self._lock:
            return sum(self._owners.values())

    @contextlib.contextmanager
    def place(self, owner: Hashable | None = None):
        """Hold a place while preparing; ``owner=None`` (a notebook, the CLI) is nobody's but still counts."""
        with self._lock:
            if sum(self._owners.values()) >= self.places:
                raise ExportBusy("Other exports are being prepared; try again in a moment.")
            if owner is not None and self._owners[owner]:
                raise ExportBusy("Your previous export is still being prepared; ask again when it is done.")
            self._owners[owner] += 1
        try:
            yield
        finally:
            with self._lock:
                self._owners[owner] -= 1
                if not self._owners[owner]:
                    del self._owners[owner]

    def run(self, owner: Hashable | None, prepare: Callable[[], object]):
        """``prepare()`` in a place of this line (a download button's deferred callable)."""
        with self.place(owner):
            return prepare()


# A server process has one line (fewer places than the threads Streamlit prepares downloads in) and one renderer
# (one Chromium tab) for its images.
EXPORT_LINE = ExportLine(int(os.environ.get("ATTNVIZ_EXPORT_LINE", "4")))


def figure_image(fig: go.Figure, fmt: str = "png", scale: float = 2.0) -> bytes:
    """PNG or SVG bytes of exactly this figure (same data, layout and colours as on the page), rendered by the
    process's one shared renderer (concurrent calls wait in its line)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"image format must be png or svg, not {fmt!r}")
    _point_kaleido_at_chromium()
    height = fig.layout.height or 500
    _shared_renderer()
    with warnings.catch_warnings():  # plotly passes browser options the shared renderer already has
        warnings.filterwarnings("ignore", message="The kopts argument is ignored")
        return fig.to_image(format=fmt, width=EXPORT_WIDTH, height=height, scale=scale if fmt == "png" else 1)


def figure_html(fig: go.Figure) -> str:
    """A standalone interactive page: plotly.js inlined, works offline."""
    return fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})


def capture_npz(arrays: dict) -> bytes:
    """NPZ bytes of named arrays (a Capture or any mapping of names to arrays)."""
    buffer = io.BytesIO()
    named: dict[str, Any] = {str(name): np.asarray(value) for name, value in arrays.items()}
    np.savez_compressed(buffer, **named)
    return buffer.getvalue()
