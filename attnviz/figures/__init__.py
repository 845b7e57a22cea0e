"""Pure Plotly figure builders: arrays in, ``go.Figure`` out; no model is run here, no Streamlit.

One module per kind of view: ``attention`` (a head's map, a layer's grid, the overview and shared map helpers),
``heads`` (Compare's similarity and ranks), ``flow`` (rollout and flow graphs), ``dcmha``, ``steps``, ``seq2seq``,
``importance``. Colours, fonts, margins and the template policy shared by all of them are in ``style``.

The package's own names are the capture-level figures (``capture_views``): a whole ``attnviz.Capture`` in, the
layer and head by number, e.g. ``attnviz.figures.head_heatmap(cap, layer=3, head=5)``. They draw with the
array-level builders of ``attnviz.figures.attention`` (``map_heatmap``, ``map_grid``, ``maps_overview``): one name
per builder.
"""

from .capture_views import compare, head_heatmap, head_heatmap_slider, layer_grid, layer_grid_slider, overview

__all__ = ["compare", "head_heatmap", "head_heatmap_slider", "layer_grid", "layer_grid_slider", "overview"]
