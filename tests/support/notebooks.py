"""The tutorial notebook run in a real kernel, for the notebook tests (tests/test_notebook.py) and its offline
drawing in Chromium (tests/browser/test_notebook_offline.py).

The kernel is this interpreter (the venv that ``make install`` fills from ``.[dev]``): a kernel spec pointing at
``sys.executable`` is written to a temporary directory named by ``JUPYTER_PATH``, which Jupyter searches before
the user's own kernels, and every directory Jupyter or IPython would write to is a temporary one too, so the test
touches nothing in the home directory and runs the same on a developer's machine and in CI.
"""

from __future__ import annotations

import html
import time
from pathlib import Path

import numpy as np
import pytest

from attnviz.capture import Capture
from attnviz.masks import MaskSpec
from attnviz.models.base import hook_name

HOSTILE = "<img src=x onerror=alert(1)>"
TUTORIAL = Path(__file__).resolve().parents[2] / "examples" / "tutorial.ipynb"
PLOTLY_MIME = "application/vnd.plotly.v1+json"


@pytest.fixture(scope="module")
def executed_tutorial(tmp_path_factory):
    """The tutorial run top to bottom by nbclient on this interpreter; (notebook, seconds)."""
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    kernelspec = pytest.importorskip("ipykernel.kernelspec")
    home = tmp_path_factory.mktemp("jupyter")
    kernelspec.write_kernel_spec(
        home / "data" / "kernels" / "attnviz-test", overrides={"display_name": "attnviz tests"}
    )
    nb = nbformat.read(TUTORIAL, as_version=4)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("JUPYTER_PATH", str(home / "data"))  # searched before the user's kernels
        env.setenv("JUPYTER_DATA_DIR", str(home / "data"))
        env.setenv("JUPYTER_CONFIG_DIR", str(home / "config"))  # no user configuration changes the run
        env.setenv("JUPYTER_RUNTIME_DIR", str(home / "runtime"))  # connection files
        env.setenv("IPYTHONDIR", str(home / "ipython"))  # the kernel's history database
        env.setenv("HF_HUB_OFFLINE", "1")
        client = nbclient.NotebookClient(
            nb,
            kernel_name="attnviz-test",
            timeout=180,
            startup_timeout=120,
            resources={"metadata": {"path": str(TUTORIAL.parent)}},
        )
        start = time.perf_counter()
        client.execute()
        seconds = time.perf_counter() - start
    return nb, seconds


def outputs(nb) -> list[dict]:
    return [output for cell in nb.cells if cell.cell_type == "code" for output in cell.outputs]


def outputs_page(nb) -> str:
    """The executed notebook as one HTML page, as an export shows it: each output's richest representation a
    browser can show without Jupyter (HTML, else an image, else text); notebook text escaped."""
    parts = [
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>attnviz tutorial</title></head><body style="max-width: 1100px">'
    ]
    for cell in nb.cells:
        parts.append(f'<pre class="{cell.cell_type}">{html.escape(cell.source)}</pre>')
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.output_type == "stream":
                parts.append(f"<pre>{html.escape(output.text)}</pre>")
            elif output.output_type == "error":
                parts.append(f'<pre class="error">{html.escape(output.evalue)}</pre>')
            elif "text/html" in data:
                parts.append(data["text/html"])
            elif "image/png" in data:
                parts.append(f'<img src="data:image/png;base64,{data["image/png"]}">')
            elif "text/plain" in data:
                parts.append(f"<pre>{html.escape(data['text/plain'])}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def synthetic_capture(tokens: list[str], n_layers: int = 2, n_heads: int = 3) -> Capture:
    """A causal capture of random patterns over ``tokens``, without a model: labels under test, not numbers."""
    rng = np.random.default_rng(0)
    n = len(tokens)
    allowed = np.tril(np.ones((n, n), dtype=bool))
    arrays = {"tokens": np.array(tokens, dtype=str), "token_ids": np.arange(n)}
    for layer in range(n_layers):
        scores = rng.normal(size=(n_heads, n, n)).astype(np.float32)
        weights = np.where(allowed, np.exp(scores), 0.0)
        arrays[hook_name("scores", layer)] = scores
        arrays[hook_name("mask", layer)] = allowed
        arrays[hook_name("pattern", layer)] = (weights / weights.sum(-1, keepdims=True)).astype(np.float32)
    return Capture(
        arrays,
        model_name="synthetic",
        n_layers=n_layers,
        n_heads=n_heads,
        spec=MaskSpec(causal=True),
        special=np.zeros(n, bool),
        truncated=False,
        full_length=n,
        notices=[f"a notice about {HOSTILE}"],
    )
