"""Numbers computed from captures: no Plotly, no Streamlit. One module per page that needs more than a map:
``stats`` (Compare heads), ``steps`` (Step by step), ``positions`` (Word order), ``dcmha`` (DCMHA),
``seq2seq`` (Encoder-decoder), ``generation`` (Generation)."""
