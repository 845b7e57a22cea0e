"""Plotly's redraw of the main page's live figures in Chromium: the browser's share of an edit, figure by figure.

Run:  .venv/bin/python benchmarks/plotly_redraw.py [--repeats 15] [--tokens 20 128]

The main page's three figures (the head's map, the overview of every head, the layer's grid), built by the page's
own functions from a MiniLM capture of two sentences that differ in one word, are drawn once in a bare Chromium
page (plotly.js from the plotly package) and then redrawn alternately with ``Plotly.react``, as the page does on
every edit. Each redraw is timed from the call to its promise; the median is printed.

Baseline in the same run: the same figures with Plotly's default tick-label overflow ("hide past div", which
measures every tick label against the figure's edge) instead of the ``"allow"`` that ``figures.style.fixed_layout``
sets, the ratio beside it. The app's own timing (Enter -> drawn, with Streamlit around it) is
``browser_latency.py`` / ``long_context.py``; this isolates what each figure costs Plotly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import plotly
import plotly.io as pio

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from harness.app_server import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
WORDS = "the quick brown fox jumps over the lazy dog while the cat sleeps by the warm fire at night and the owl".split()
WIDTHS = {"head": 800, "overview": 520, "grid": 1300}  # px, about the page's columns at a 1,400 px window

# Redraw figure ``name`` alternately from its two versions; ``baseline`` drops every axis's ticklabeloverflow.
JS_REDRAW = """async ([a, b, width, repeats, baseline]) => {
  const div = document.createElement("div"); div.style.width = width + "px"; document.body.appendChild(div);
  const copy = fig => { const f = JSON.parse(JSON.stringify(fig));
    if (baseline) for (const k in f.layout) if (/^[xy]axis/.test(k)) delete f.layout[k].ticklabeloverflow;
    return f; };
  const first = copy(a); await Plotly.newPlot(div, first.data, first.layout);
  const times = [];
  for (let r = 0; r < repeats + 2; r++) {
    const f = copy(r % 2 ? a : b), t = performance.now();
    await Plotly.react(div, f.data, f.layout);
    if (r >= 2) times.push(performance.now() - t);  // two warm-up redraws
  }
  Plotly.purge(div); div.remove();
  times.sort((x, y) => x - y);
  return times[Math.floor(times.length / 2)];
}"""


def sentence(tokens: int, variant: int) -> str:
    """``tokens`` MiniLM tokens with [CLS] and [SEP] (single-token words); the variant changes the first word."""
    words = (WORDS * (tokens // len(WORDS) + 1))[: tokens - 2]
    return " ".join(["a" if variant else "the", *words[1:]])


def page_figures(tokens: int) -> list[dict]:
    """The three figures as the main page builds them (layer 0, head 0), for both sentences, as JSON."""
    from attnviz.capture import capture
    from attnviz.figures import attention as plots

    versions = []
    for variant in (0, 1):
        cap = capture(sentence(tokens, variant))
        layers = [cap.pattern(layer) for layer in range(cap.n_layers)]
        figures = {
            "head": plots.map_heatmap(layers[0][0], cap.tokens, allowed=cap.mask(0), title="layer 0 · head 0"),
            "overview": plots.maps_overview(layers, selected=(0, 0)),
            "grid": plots.map_grid(layers[0], cap.tokens, allowed=cap.mask(0), layer=0, selected_head=0),
        }
        versions.append({name: json.loads(pio.to_json(fig, validate=False)) for name, fig in figures.items()})
    return versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--tokens", type=int, nargs="+", default=[20, 128])
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.set_content("<html><body></body></html>")
        page.add_script_tag(path=str(PLOTLY_JS))
        print(f"Plotly.react, median of {args.repeats} redraws (ms); baseline: Plotly's default tick-label overflow")
        print(f"{'tokens':>6} {'figure':>9} {'shipped':>8} {'baseline':>9} {'ratio':>6}")
        for tokens in args.tokens:
            a, b = page_figures(tokens)
            for name, width in WIDTHS.items():
                # alternate shipped and baseline rounds, so that drift of the machine hits both alike
                rounds = {True: [], False: []}
                for _ in range(3):
                    for baseline in (False, True):
                        rounds[baseline].append(
                            page.evaluate(JS_REDRAW, [a[name], b[name], width, args.repeats, baseline])
                        )
                shipped, base = sorted(rounds[False])[1], sorted(rounds[True])[1]
                print(f"{tokens:>6} {name:>9} {shipped:8.1f} {base:9.1f} {shipped / base:6.2f}")
        browser.close()


if __name__ == "__main__":
    main()
