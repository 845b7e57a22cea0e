"""Pure Plotly figure builders: arrays in, ``go.Figure`` out; no model is run here, no Streamlit.

One module per page that draws (``attention`` for the main and Compare pages and shared map helpers, ``dcmha``,
``steps``, ``seq2seq``). Colours, fonts and sizes shared by all of them are in ``attention`` (MASKED_COLOR,
SEQUENTIAL, DIVERGING, FONT, MAX_DRAWN_TOKENS).

The package's own names are the capture-level figures (``capture_views``): a whole ``attnviz.Capture`` in, the
layer and head by number, e.g. ``attnviz.figures.head_heatmap(cap, layer=3, head=5)``. The array-level builders
of the same names stay in ``attnviz.figures.attention``.
"""

from .capture_views import compare, head_heatmap, head_heatmap_slider, layer_grid, layer_grid_slider, overview

__all__ = ["compare", "head_heatmap", "head_heatmap_slider", "layer_grid", "layer_grid_slider", "overview"]
