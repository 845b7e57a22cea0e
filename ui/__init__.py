"""Streamlit glue shared by the pages: URL state, cached models, shared controls.

The attnviz library never imports Streamlit; everything that does lives here or in the pages.
"""
