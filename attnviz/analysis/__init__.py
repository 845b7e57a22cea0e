"""Numbers computed from captures: no Plotly, no Streamlit. One module per page or question that needs more than a
map: ``stats`` and ``redundancy`` (Compare heads), ``flow`` and ``projection`` (the main page's rollout, flow and
query-key map), ``steps`` (Step by step), ``positions`` (Word order), ``dcmha`` (DCMHA), ``seq2seq``
(Encoder-decoder), ``generation`` (Generation), ``importance`` (Head importance). Maps of a long text, region by
region, come from the capture layer (``attnviz.tiles``)."""
