"""Running and driving the app from outside, shared by tests/ and benchmarks/ (neither imports the other):

* :mod:`harness.app_server`: ``streamlit run app.py`` on a free port, as ``make app`` / ``make class`` start it;
* :mod:`harness.st_client`: a websocket client that speaks Streamlit's protocol as a browser tab does (reruns with
  widget states, the password form, uploads, download buttons), for load and abuse tests without a browser;
* :mod:`harness.browser`: what a Playwright test or benchmark does on a head's map (a dragged box).
"""
