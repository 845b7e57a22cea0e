"""Pure Plotly figure builders: arrays in, ``go.Figure`` out; no model is run here, no Streamlit.

One module per page that draws (``attention`` for the main and Compare pages and shared map helpers, ``dcmha``,
``steps``, ``seq2seq``). Colours, fonts and sizes shared by all of them are in ``attention`` (MASKED_COLOR,
SEQUENTIAL, DIVERGING, FONT, MAX_DRAWN_TOKENS).
"""
