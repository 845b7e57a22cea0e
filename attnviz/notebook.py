"""attnviz in a Jupyter or VS Code notebook, with no network: ``attnviz.show(text)`` draws the views inline.

Viewers whose JavaScript comes from a CDN (BertViz, CircuitsVis) draw nothing offline, and so do Plotly's own
notebook renderers, which fetch MathJax from one. Here every figure is one output with two representations:

* ``application/vnd.plotly.v1+json``: JupyterLab (through the jupyterlab-plotly extension that the plotly
  package installs) and VS Code draw it with the Plotly.js they ship;
* ``text/html``: a ``<div>`` and a script that draws it with the Plotly.js of the installed plotly package,
  for every frontend that runs output scripts (classic Notebook, VS Code) and for the notebook saved as HTML.

That Plotly.js (about 5 MB) goes into the notebook once: ahead of the figures of the first ``show`` of a kernel
session, and again only when the cell that holds it runs again (its old output, and Plotly.js with it, is being
replaced). Choosing a head or a layer is a Plotly slider inside the figure, so it works without a kernel too.
"""

from __future__ import annotations

import html
import json
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

# Nothing heavy at import time: ``import attnviz`` brings this module along, and a script that never calls
# show() should not pay for Plotly's figure code or IPython. They are imported on first use.

DEFAULT_VIEWS = ("head", "grid", "overview", "compare")  # "similarity" on request: a figure about all heads at once
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
PLOTLYJS_MARKER = "data-attnviz-plotlyjs"  # on the one <script> that carries Plotly.js: tests count it
FIGURE_CLASS = "attnviz-figure"


def _head_view(capture, layer, head, lang):
    from .figures.capture_views import head_heatmap_slider

    return head_heatmap_slider(capture, layer, head, lang=lang)


def _grid_view(capture, layer, head, lang):
    from .figures.capture_views import layer_grid_slider

    return layer_grid_slider(capture, layer, head, lang=lang)


def _overview_view(capture, layer, head, lang):
    from .figures.capture_views import overview

    return overview(capture, layer=layer, head=head, lang=lang)


def _compare_view(capture, layer, head, lang):
    """The chosen head against the next one of its layer: neighbours are where near-copies are usually found."""
    from .figures.capture_views import compare

    return compare(capture, (layer, head), (layer, (head + 1) % capture.n_heads), lang=lang)


def _similarity_view(capture, layer, head, lang):
    """Every head against every head (Jensen–Shannon distance), clustered so that heads that attend alike sit together."""
    from .analysis.redundancy import cluster_order, head_labels, head_similarity
    from .figures.heads import similarity_matrix

    distance = head_similarity(capture, metric="js")
    return similarity_matrix(
        distance,
        head_labels(capture.n_layers, capture.n_heads),
        is_distance=True,
        order=cluster_order(distance, is_distance=True),
        lang=lang,
    )


# show()'s views, by name: builder(capture, layer, head, lang) -> go.Figure. A new view is one entry here.
VIEWS = {
    "head": _head_view,
    "grid": _grid_view,
    "overview": _overview_view,
    "compare": _compare_view,
    "similarity": _similarity_view,
}


def show(
    text_or_capture,
    model=None,
    causal: bool = False,
    window: int | None = None,
    chunk: int | None = None,
    layer: int = 0,
    head: int = 0,
    views: Iterable[str] | str = DEFAULT_VIEWS,
    lang: str = "en",
    *,
    inline: bool | None = None,
):
    """Draw a sentence's attention inline in a notebook; outside one, return the figures.

    ``text_or_capture``: a text (captured with ``model``, default ``attnviz.DEFAULT_MODEL``, and the
    ``causal``/``window``/``chunk`` mask) or an ``attnviz.Capture`` (which carries its own model and mask).
    ``layer``, ``head``: what the views open on; the head view's slider moves over the layer's heads, the
    grid's over the layers. ``views``: names from :data:`VIEWS`, in order. ``lang``: "en" or "zh".
    ``inline``: draw in the notebook (default: when running in a Jupyter kernel) and return None;
    otherwise return ``{view name: plotly Figure}``.

    A figure made directly (``attnviz.figures.head_heatmap(cap, 3, 5)``) is drawn with :func:`show_figure`.
    """
    capture = _as_capture(text_or_capture, model, causal, window, chunk)
    names = (views,) if isinstance(views, str) else tuple(views)
    unknown = [name for name in names if name not in VIEWS]
    if unknown:
        raise ValueError(f"unknown view(s) {unknown}: choose from {list(VIEWS)}")
    figures = {name: VIEWS[name](capture, layer, head, lang) for name in names}
    if not (in_notebook() if inline is None else inline):
        return figures
    _display_raw({"text/html": caption_html(capture, lang), "text/plain": caption_text(capture, lang)})
    for fig in figures.values():
        show_figure(fig)
    return None


def _as_capture(text_or_capture, model, causal, window, chunk):
    if isinstance(text_or_capture, str):
        from .capture import capture
        from .models import DEFAULT_MODEL

        return capture(
            text_or_capture, DEFAULT_MODEL if model is None else model, causal=causal, window=window, chunk=chunk
        )
    if not all(hasattr(text_or_capture, name) for name in ("pattern", "mask", "tokens", "n_layers", "n_heads")):
        raise TypeError(f"show() takes a text or an attnviz.Capture, not {type(text_or_capture).__name__}")
    if (model, causal, window, chunk) != (None, False, None, None):
        # Silently ignoring them would draw a mask other than the one asked for.
        raise ValueError(
            "model, causal, window and chunk apply when show() captures a text; "
            "a Capture already has its own (capture.model_name, capture.spec)"
        )
    return text_or_capture


def in_notebook() -> bool:
    """True inside a Jupyter kernel (Jupyter, JupyterLab, VS Code, Colab): a frontend is there to draw HTML.

    Looked up without importing IPython: a kernel has imported it long before any cell runs.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def caption_text(capture, lang: str = "en") -> str:
    """Model, token count, mask, and what cleaning or truncation changed in the text: one line each."""
    from .i18n import translate

    lines = [
        f"{capture.model_name} · "
        + translate("main.head_caption", lang, n=len(capture.tokens), mask=capture.spec.describe(lang))
    ]
    if capture.truncated:
        lines.append(
            translate(
                "msg.truncated_first", lang, n=capture.full_length, model=capture.model_name, limit=len(capture.tokens)
            )
        )
    lines.extend(str(notice) for notice in capture.notices)
    return "\n".join(lines)


def caption_html(capture, lang: str = "en") -> str:
    lines = (html.escape(line) for line in caption_text(capture, lang).splitlines())
    return f'<div class="attnviz-caption" style="font: 13px sans-serif; color: #555; margin: 4px 0">{"<br>".join(lines)}</div>'


def _script_json(text: str) -> str:
    """JSON made safe inside a <script>: no "</script>", "<!--" or HTML entity can form from the data.

    The \\u escapes mean the same characters to JSON and JavaScript, so the figure is unchanged.
    """
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def figure_html(fig, *, div_id: str | None = None, config: dict | None = None) -> str:
    """A ``<div>`` and the script that draws ``fig`` into it with the page's Plotly.js (:func:`plotlyjs_html`).

    When Plotly.js is further down the page (cells run out of order, then saved as HTML) the figure waits for
    the page to finish loading; when it is nowhere, the div says how to get it back instead of staying blank.
    """
    div_id = div_id or f"attnviz-{uuid.uuid4().hex}"
    height = int(fig.layout.height or 450)
    figure = _script_json(fig.to_json())
    settings = _script_json(json.dumps({**PLOTLY_CONFIG, **(config or {})}))
    return f"""<div id="{div_id}" class="{FIGURE_CLASS}" style="width: 100%; height: {height}px;"></div>
<script type="text/javascript">
(function () {{
  var id = "{div_id}";
  var here = document.currentScript && document.currentScript.previousElementSibling;
  var gd = here && here.id === id ? here : document.getElementById(id);
  if (!gd) return;
  var figure = {figure};
  function draw() {{ window.Plotly.newPlot(gd, figure.data, figure.layout, {settings}); }}
  function explain() {{
    gd.style.height = "auto";
    gd.textContent = "attnviz: Plotly.js is not on this page. Run the notebook again from the top " +
      "(Restart & Run All): the first attnviz.show() output carries it.";
  }}
  if (window.Plotly) {{ draw(); }}
  else if (document.readyState === "loading") {{
    document.addEventListener("DOMContentLoaded", function () {{ if (window.Plotly) {{ draw(); }} else {{ explain(); }} }});
  }}
  else {{ explain(); }}
}})();
</script>"""


def plotlyjs_html() -> str:
    """Plotly.js of the installed plotly package, inline (the same version plotly.py writes its figures for)."""
    from plotly.offline import get_plotlyjs

    # A "</script" inside the library would end the tag early; "<\/" means the same inside any JS string.
    source = get_plotlyjs().replace("</script", "<\\/script")
    return (
        "<script type=\"text/javascript\">window.PlotlyConfig = {MathJaxConfig: 'local'};</script>\n"
        f'<script type="text/javascript" {PLOTLYJS_MARKER}="1">{source}</script>'
    )


def figure_bundle(fig, *, config: dict | None = None) -> dict:
    """The mime bundle of one figure: Plotly's JSON for frontends that draw it themselves, HTML for the rest."""
    title = fig.layout.title.text if fig.layout.title and fig.layout.title.text else "figure"
    return {
        "application/vnd.plotly.v1+json": {**json.loads(fig.to_json()), "config": {**PLOTLY_CONFIG, **(config or {})}},
        "text/html": figure_html(fig, config=config),
        "text/plain": f"<attnviz {html.unescape(title)}>",
    }


@dataclass
class _PlotlyJsState:
    """Where this kernel last put Plotly.js: the frontend's id of that cell (JupyterLab, Notebook 7 and VS Code
    send one) and the id of that execution request."""

    embedded: bool = False
    cell: str | None = None
    request: str | None = None


_plotlyjs = _PlotlyJsState()


def _current_request() -> tuple[str | None, str | None]:
    """(cell id, request id) of the cell now running, as far as the kernel knows them."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    kernel = getattr(shell, "kernel", None)
    try:
        parent = kernel.get_parent() or {}  # type: ignore[union-attr]  # None: caught below, as an old kernel is
    except (AttributeError, TypeError):  # no kernel, or one older than ipykernel 6
        return None, None
    return (parent.get("metadata") or {}).get("cellId"), (parent.get("header") or {}).get("msg_id")


def _plotlyjs_needed() -> bool:
    cell, request = _current_request()
    # Again only when the cell that holds it runs anew: Jupyter then replaces that output, Plotly.js included.
    needed = not _plotlyjs.embedded or (cell is not None and cell == _plotlyjs.cell and request != _plotlyjs.request)
    if needed:
        _plotlyjs.embedded, _plotlyjs.cell, _plotlyjs.request = True, cell, request
    return needed


def _display_raw(bundle: dict) -> None:
    from IPython.display import display

    display(bundle, raw=True)


def show_figure(fig, *, config: dict | None = None) -> None:
    """Draw one Plotly figure inline, offline; Plotly.js goes along when this notebook does not hold it yet.

    For figures of :mod:`attnviz.figures` (or any other): unlike ``fig.show()``, whose notebook renderer
    loads MathJax from a CDN, nothing here leaves the machine.
    """
    if _plotlyjs_needed():
        _display_raw({"text/html": plotlyjs_html(), "text/plain": ""})
    _display_raw(figure_bundle(fig, config=config))
