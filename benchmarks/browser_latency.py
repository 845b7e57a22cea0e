"""Browser latency of attnviz: from a user action to the updated heatmap drawn, in real Chromium.

Run:  .venv/bin/python benchmarks/browser_latency.py [--repeats 10]

Starts a fresh app (``streamlit run app.py`` on a free port), drives Debian's /usr/bin/chromium
with Playwright and prints a table.  It measures, it never asserts.

How the time is taken (two clocks, both printed):

* in-page (primary): a capture-phase listener records ``performance.now()`` when the browser
  receives the Enter keydown / the click; a ``requestAnimationFrame`` loop then checks, every
  frame, whether the heatmap's live Plotly data (``gd._fullData[0].z`` and the tick labels)
  already shows the change, and records ``performance.now()`` in the first frame where it does.
  rAF callbacks run just before a paint, so this is "input event -> first frame drawn with the
  new heatmap", without Playwright's round trips.
* wall: ``time.perf_counter()`` in Python around ``press``/``click`` -> ``wait_for_function``
  returning; includes the DevTools-protocol round trips (a few ms to tens of ms).

"to idle" is the in-page time until Streamlit reports the script run finished
(``data-test-script-state=notRunning``): the heatmap is streamed before the overview and the
layer grid are built, so "heatmap drawn" comes first.

Baselines in the same run: (a) a rerun that changes nothing (Streamlit's "r" shortcut; the
capture is memoised, so this is the app's fixed per-rerun cost: script, figure building,
websocket, Plotly redraw) and (b) a full page reload to the heatmap drawn.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: harness, attnviz

from harness.app_server import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402

# One single-token word per repeat, so each changed sentence is recognisable in the tick labels.
WORDS = "cat dog bird fish horse cow sheep goat lion tiger bear wolf fox deer duck frog mouse rabbit owl bee".split()
SHORT = "The {w} quietly ate purple carrots near the old red barn while the farmer watched."  # ~20 tokens
FILLER = "students watch attention heads move across long sentences in the browser".split()

JS_ARM = """([kind, check, arg]) => {
  const cond = eval('(' + check + ')');
  const st = {t0: null, t1: null, t2: null, sawRunning: false};
  window.__bench = st;
  const evName = kind === 'click' ? 'click' : 'keydown';
  const key = {enter: 'Enter', r: 'r', right: 'ArrowRight', left: 'ArrowLeft'}[kind];
  const onStart = e => {
    if (kind !== 'click' && e.key !== key) return;
    st.t0 = performance.now();
    document.removeEventListener(evName, onStart, true);
  };
  document.addEventListener(evName, onStart, true);
  const frame = () => {
    if (st.t0 !== null) {
      const state = document.querySelector('[data-testid=stApp]').getAttribute('data-test-script-state');
      if (state === 'running' || state === 'rerunRequested') st.sawRunning = true;
      const now = performance.now();
      if (st.t1 === null && cond(arg, st)) st.t1 = now;
      if (st.t2 === null && st.sawRunning && state === 'notRunning') st.t2 = now;
    }
    if (st.t1 === null || st.t2 === null) requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
}"""

SAMPLE_TIMEOUT_MS = 30_000  # a change that has not shown by then was lost (the click or key never arrived)
JS_DRAWN = "() => window.__bench && window.__bench.t1 !== null"
JS_DONE = "() => window.__bench && window.__bench.t1 !== null && window.__bench.t2 !== null"

# Conditions, evaluated every animation frame: cheap reads of the live figure.
GD = "document.querySelector('.st-key-head_heatmap .js-plotly-plot')"
COND_WORD = f"""(arg) => {{
  const gd = {GD};
  if (!gd || !gd._fullData || !gd._fullData.length) return false;
  const z = gd._fullData[0].z;
  if (!z || z.length !== arg.n) return false;
  const ticks = Array.from(document.querySelectorAll('.st-key-head_heatmap .ytick text'), t => t.textContent);
  return ticks.includes(arg.word) && !ticks.includes(arg.old);
}}"""
# A long text's map is drawn in blocks with its axes in text positions (no token on a tick): a new sentence is
# recognised by the live figure's data revision (figures.style.live_figure: a digest of its arrays) moving on from the
# one drawn before the key press.
COND_NEW_DATA = f"""(arg) => {{
  const gd = {GD};
  if (!gd || !gd._fullData || !gd._fullData.length) return false;
  const z = gd._fullData[0].z;
  if (!z || z.length !== arg.n) return false;
  return gd.layout.datarevision !== arg.revision;
}}"""
JS_REVISION = f"() => {GD}?.layout?.datarevision ?? null"
COND_CAUSAL = f"""(arg) => {{
  const gd = {GD};
  if (!gd || !gd._fullData || !gd._fullData.length) return false;
  const z = gd._fullData[0].z;
  if (!z || z.length !== arg.n) return false;
  const v = z[0][1];
  const masked = v === null || Number.isNaN(v);
  return masked === arg.causal;
}}"""
COND_WINDOW = f"""(arg) => {{
  const gd = {GD};
  if (!gd || !gd._fullData || !gd._fullData.length) return false;
  const row = gd._fullData[0].z[0];
  if (!row || row.length !== arg.n) return false;
  return Array.from(row).filter(v => v !== null && !Number.isNaN(v)).length === arg.w;
}}"""
COND_TITLE = f"""(arg) => {{
  const gd = {GD};
  const title = document.querySelector('.st-key-head_heatmap .gtitle');
  return !!(gd && gd._fullData && gd._fullData.length && title && title.textContent === arg.title);
}}"""
COND_NONE = "(arg, st) => st.sawRunning && document.querySelector('[data-testid=stApp]').getAttribute('data-test-script-state') === 'notRunning'"

JS_HEATMAP_READY = f"""() => {{
  const gd = {GD};
  const app = document.querySelector('[data-testid=stApp]');
  if (!(gd && gd._fullData && gd._fullData.length && document.querySelector('.st-key-head_heatmap .ytick text'))) return false;
  return performance.now();
}}"""
JS_IDLE = "() => document.querySelector('[data-testid=stApp]')?.getAttribute('data-test-script-state') === 'notRunning'"


def long_text(word: str) -> str:
    # a different word first, 24 times, in every repeat: the map's data change (COND_NEW_DATA)
    return " ".join([word] * 24 + [FILLER[i % len(FILLER)] for i in range(700)])


def repeat(repeats: int, step) -> dict:
    """``step(i)`` for i = 0..repeats; the first run is a warm-up, lost samples (None) are counted."""
    samples, lost = [], 0
    for i in range(repeats + 1):
        sample = step(i)
        if sample is None:
            lost += 1
        elif i:
            samples.append(sample)
    return dict(samples=samples, lost=lost)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class Bench:
    def __init__(self, page):
        self.page = page

    def wait_idle(self, timeout=120_000):
        self.page.wait_for_function(JS_IDLE, timeout=timeout)

    def z_len(self) -> int:
        return self.page.evaluate(f"() => {GD}._fullData[0].z.length")

    def measure(self, kind: str, check: str, arg: dict, act) -> tuple[float, float, float] | None:
        """One sample, or None when the change never showed (a lost click or key press): counted, not waited for."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        self.page.evaluate(JS_ARM, [kind, check, arg])
        start = time.perf_counter()
        act()
        try:
            self.page.wait_for_function(JS_DRAWN, polling="raf", timeout=SAMPLE_TIMEOUT_MS)
            wall = (time.perf_counter() - start) * 1000
            self.page.wait_for_function(JS_DONE, polling="raf", timeout=SAMPLE_TIMEOUT_MS)
        except PlaywrightTimeout:
            self.wait_idle()
            return None
        st = self.page.evaluate("() => window.__bench")
        return st["t1"] - st["t0"], wall, st["t2"] - st["t0"]

    def checked(self, key: str) -> bool:
        return self.page.locator(f".st-key-{key} input[type=checkbox]").is_checked()

    def slider(self, key: str) -> int:
        return int(self.page.locator(f".st-key-{key} input[type=range]").input_value())

    def set_text(self, text: str):
        box = self.page.locator(".st-key-text input")
        box.fill(text)
        box.press("Enter")
        self.page.wait_for_timeout(300)
        self.wait_idle()

    def step_slider(self, key: str, kind: str, check: str, arg: dict) -> tuple[float, float, float]:
        """Focus a slider's thumb and press an arrow key: how a keyboard user moves it one step."""
        self.page.locator(f".st-key-{key}").get_by_role("slider").focus()
        return self.measure(
            kind, check, arg, lambda: self.page.keyboard.press("ArrowRight" if kind == "right" else "ArrowLeft")
        )

    def set_checkbox(self, key: str, on: bool):
        box = self.page.locator(f".st-key-{key} input[type=checkbox]")
        if box.is_checked() != on:
            self.page.locator(f".st-key-{key} label").first.click()
            self.page.wait_for_timeout(300)
            self.wait_idle()

    def set_causal(self, on: bool):
        box = self.page.locator(".st-key-causal input[type=checkbox]")
        if box.is_checked() != on:
            self.page.locator(".st-key-causal label").first.click()
            self.page.wait_for_timeout(300)
            self.wait_idle()


def run(repeats: int) -> list[dict]:  # noqa: C901
    from playwright.sync_api import sync_playwright

    rows = []
    with AppServer() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(server.url)
        page.wait_for_function(JS_HEATMAP_READY, timeout=180_000)
        bench = Bench(page)
        bench.wait_idle()

        # --- baselines -------------------------------------------------------------------
        bench.set_text(SHORT.format(w="cat"))

        def noop(i):
            page.evaluate("() => document.activeElement && document.activeElement.blur()")
            return bench.measure("r", COND_NONE, {}, lambda: page.keyboard.press("r"))

        rows.append(dict(name="baseline: no-op rerun ('r'), ~20 tok", target=None, **repeat(repeats, noop)))

        def reload(i):
            start = time.perf_counter()
            page.reload()
            in_page = page.wait_for_function(JS_HEATMAP_READY, polling="raf", timeout=120_000).json_value()
            wall = (time.perf_counter() - start) * 1000
            page.wait_for_function(JS_IDLE, polling="raf", timeout=120_000)
            return in_page, wall, page.evaluate("() => performance.now()")

        rows.append(dict(name="baseline: page reload -> heatmap", target=None, **repeat(max(5, repeats // 2), reload)))

        # --- (b) ~20 tokens, (c) 512 tokens ------------------------------------------------
        for label, make_text, target_ms in (
            ("~20 tok", lambda w: SHORT.format(w=w), 300),
            ("512 tok", long_text, 1500),
        ):
            bench.set_causal(False)
            shown = {"word": WORDS[-1]}
            bench.set_text(make_text(shown["word"]))
            n = bench.z_len()

            def new_sentence(i):
                word = WORDS[i % (len(WORDS) - 1)]
                page.locator(".st-key-text input").fill(make_text(word))
                labelled = label == "~20 tok"  # a sentence's map labels its tokens; a long text's, its positions
                sample = bench.measure(
                    "enter",
                    COND_WORD if labelled else COND_NEW_DATA,
                    {"word": word, "old": shown["word"], "n": n, "revision": page.evaluate(JS_REVISION)},
                    lambda: page.locator(".st-key-text input").press("Enter"),
                )
                shown["word"] = word
                return sample

            rows.append(
                dict(name=f"(b/c) new sentence, {label} (n={n})", target=target_ms, **repeat(repeats, new_sentence))
            )

            def toggle_causal(i):
                want = not bench.checked("causal")
                return bench.measure(
                    "click",
                    COND_CAUSAL,
                    {"causal": want, "n": n},
                    lambda: page.locator(".st-key-causal label").first.click(),
                )

            rows.append(
                dict(name=f"(b/c) causal toggle, {label} (n={n})", target=target_ms, **repeat(repeats, toggle_causal))
            )
            bench.wait_idle()
            if label != "~20 tok":
                continue
            bench.set_causal(False)

            # The window slider (a mask): one step right or left, w = 3 <-> 4.
            bench.set_checkbox("use_window", True)

            def step_window(i):
                kind, w = ("right", 4) if bench.slider("window") == 3 else ("left", 3)
                return bench.step_slider("window", kind, COND_WINDOW, {"w": w, "n": n})

            rows.append(
                dict(name=f"(b) window slider step, {label} (n={n})", target=target_ms, **repeat(repeats, step_window))
            )
            bench.wait_idle()
            bench.set_checkbox("use_window", False)

            # Another head: the head slider one step (not a target of the issue; the same redraw path).
            def step_head(i):
                kind, head = ("right", 1) if bench.slider("head") == 0 else ("left", 0)
                return bench.step_slider("head", kind, COND_TITLE, {"title": f"Layer 0 · head {head}"})

            rows.append(dict(name=f"head slider step, {label} (n={n})", target=None, **repeat(repeats, step_head)))
            bench.wait_idle()
        browser.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed repeats per scenario (after one warm-up)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} is missing; install Debian's chromium package")
    started = time.perf_counter()
    rows = run(args.repeats)
    base = statistics.median(s[0] for s in rows[0]["samples"])
    header = f"{'scenario':<44} {'n':>3} {'lost':>4} {'in-page med':>11} {'p90':>7} {'wall med':>9} {'p90':>7} {'to idle med':>11} {'x no-op':>7} {'target':>7}"
    print()
    print("attnviz browser latency (ms): action -> updated heatmap drawn, headless Chromium, this machine")
    print(header)
    print("-" * len(header))
    for row in rows:
        in_page = [s[0] for s in row["samples"]]
        wall = [s[1] for s in row["samples"]]
        idle = [s[2] for s in row["samples"]]
        med = statistics.median(in_page)
        target = "-" if row["target"] is None else f"<={row['target']}"
        flag = "" if row["target"] is None else ("  ok" if med <= row["target"] else "  OVER")
        print(
            f"{row['name']:<44} {len(in_page):>3} {row['lost']:>4} {med:>11.0f} {pct(in_page, 0.9):>7.0f} {statistics.median(wall):>9.0f} "
            f"{pct(wall, 0.9):>7.0f} {statistics.median(idle):>11.0f} {med / base:>7.1f} {target:>7}{flag}"
        )
    print()
    print("in-page: performance.now() from the input event (capture phase) to the first animation frame whose")
    print("live Plotly data shows the change; wall: time.perf_counter() around press/click -> wait_for_function;")
    print("to idle: input event -> Streamlit script run finished. Reload row: in-page is since navigation start.")
    print(
        f"lost: actions whose change never showed within {SAMPLE_TIMEOUT_MS // 1000} s (a click or key press that did not arrive); left out."
    )
    print(
        f"x no-op: in-page median / no-op rerun median ({base:.0f} ms). Total benchmark time {time.perf_counter() - started:.0f} s."
    )


if __name__ == "__main__":
    main()
