"""Long context (issue 11 §5): capture memory, typed -> drawn and payload from 20 to 8,192 tokens; zoom to a tile.

Run:  .venv/bin/python benchmarks/long_context.py [--repeats 5] [--sizes 20 128 512 2048 8192] [--models all-MiniLM-L6-v2] [--skip-browser]

Models: ``mistral-char`` (4 layers, 4 query / 2 K/V heads, a 64-token window; one character is one token, plus
<s>) at every size, and MiniLM (the default model, at most 512 tokens) at the sizes up to 512. It measures, it
never asserts; the issue's bars are printed beside the numbers (✓/✗), with ratios against the 20-token run of
the same model in the same run (absolute times depend on this shared 2-core machine: the load is printed).

1. Capture memory: one fresh subprocess per (model, size), with the server's allocator settings. It loads the
   model as the app does (its threads, ``gc.freeze``), runs one 20-token capture (every server has), then
   captures the text exactly as the main page does: ``ui.session.view_hooks`` picks the hooks (the linear state
   above ``attnviz.capture.WHOLE_MAPS_UP_TO_MB`` of maps, else the patterns and masks, plus every layer's scores while small), and
   ``run_capture`` runs it as ``ui.session.captures_for`` does; a page that has no scores in that capture asks for
   the head's layer's scores in a second one (``View.scores``), so that one is taken too. Memory: VmRSS before,
   and the peak (VmHWM, reset through ``/proc/self/clear_refs`` right before) while capturing: "peak Δ" is the
   growth for a capture; "kept Δ" what stays while the capture is held. For a long text, the page's block maps
   (the head's 128 × 128, every head's 48 × 48 thumbnails; every text over 256 tokens) are computed next, and their peak is reported too.
   "capture" is the capture's own arrays (``sum(a.nbytes)``); "whole maps" is ``Capture.full_bytes()``.
2. Typed -> drawn: one app (``_app_server.AppServer``), one Chromium page (Playwright), timed as
   ``browser_latency.py`` does (its ``Bench.measure``: Enter keydown -> first animation frame whose live Plotly
   data is the new map; to idle: the script run finished). Every edit is a new text (one character or word
   varied), so every rerun is a new forward pass. Payload: the bytes of the websocket frames the browser
   received during that rerun. Server: the streamlit process's RSS before the first rerun at that size and its
   peak (VmHWM) during it (the shared capture cache keeps what it captured).
3. Zoom on 8k: drag a box over the head's map as ``tests/browser/test_long_text.py`` does: a ~1,500-token
   region (still blocks), then a box of 160-250 tokens inside it (the exact tile, cell by cell); mouse-up ->
   first frame with the new map. Each repeat shifts both boxes, so no block map comes from the page's memo.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))

from harness.app_server import CHROMIUM, CHROMIUM_ARGS, AppServer  # noqa: E402
from harness.browser import drag, wait_zoom  # noqa: E402  (a box over the head's map, in token positions; its zoom)
import browser_latency  # noqa: E402
from browser_latency import FILLER, GD, JS_HEATMAP_READY, WORDS, Bench, pct, repeat  # noqa: E402

from ui.long_maps import LONG_MAP_BLOCKS, THUMB_BLOCKS  # noqa: E402  (the page's block sizes)

# Bench.measure gives a change up after SAMPLE_TIMEOUT_MS (30 s) to draw and again to finish the run; an 8k text's
# run draws its map in seconds but then computes 16 thumbnails for the overview (20-30 s on this machine under
# load): such a sample is not lost, only slow to finish. Its module global, read at every call.
browser_latency.SAMPLE_TIMEOUT_MS = 180_000

MISTRAL = "mistral-char"
MINILM = "all-MiniLM-L6-v2"
MODEL_SIZES = {MISTRAL: (20, 128, 512, 2048, 8192), MINILM: (20, 128, 512)}
MB = 2**20

# the issue's bars: (model, tokens) -> value
BAR_MEMORY_MB = {(MISTRAL, 8192): 500}
BAR_DRAWN_MS = {(MISTRAL, 8192): 2000, (MINILM, 512): 400, (MINILM, 20): 120}
WAS_DRAWN_MS = {(MINILM, 512): 800, (MINILM, 20): 160}  # the issue's "was about"
BAR_PAYLOAD = {(MISTRAL, 8192): 2 * MB}
BAR_ZOOM_MS = 500

# the text of the long-text browser test, repeated: one character per token
PROSE = "The quick brown fox jumps over the lazy dog while the cat sleeps by the warm fire. "
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def text_for(model: str, tokens: int, variant: int) -> str:
    """A text of exactly ``tokens`` tokens (special tokens included); ``variant`` changes its first one or two
    characters (mistral-char) or words (MiniLM: single-token words), so that every variant is a new text."""
    if model == MISTRAL:  # <s> + one token per character
        body = (PROSE * (tokens // len(PROSE) + 1))[: tokens - 2] + "."  # never ending in a space: the page strips it
        head = LETTERS[variant % 26] + LETTERS[(variant // 26) % 26].lower()
        return head[: len(body)] + body[2:]
    words = [WORDS[variant % len(WORDS)], WORDS[(variant // len(WORDS)) % len(WORDS)]]  # [CLS] ... [SEP]
    words += [FILLER[i % len(FILLER)] for i in range(tokens - 2 - len(words))]
    return " ".join(words)


def median_or_none(values):
    return statistics.median(values) if values else None


def mark(value, bar) -> str:
    if bar is None or value is None:
        return ""
    return "✓" if value <= bar else "✗"


def fmt(value, spec=".0f", none="-") -> str:
    return none if value is None else format(value, spec)


# ------------------------------------------------------------------------------------------------------------
# 1. capture memory, in a fresh process per (model, size)
# ------------------------------------------------------------------------------------------------------------

CHILD_ENV = {
    "MALLOC_ARENA_MAX": "2",
    "MALLOC_MMAP_THRESHOLD_": "8388608",
    "MKL_DISABLE_FAST_MM": "1",
    "HF_HUB_OFFLINE": "1",
    "PYTHONUNBUFFERED": "1",
}  # what AppServer and app.py give the server


def _status(pid="self") -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    out = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def _reset_peak(pid="self") -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where that is not allowed."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as refs:
            refs.write("5")
        return True
    except OSError:
        return False


def child_memory(model_name: str, tokens: int) -> dict:
    """Run inside the fresh subprocess: see the module docstring, part 1."""
    import gc
    import logging

    sys.path.insert(0, str(REPO))
    logging.disable(logging.WARNING)  # Streamlit's "no runtime" warnings: ui.session is used without a server
    import numpy as np  # noqa: F401
    import torch

    from attnviz import tiles
    from attnviz.capture import WHOLE_MAPS_UP_TO_MB, run_capture
    from attnviz.device import app_threads, torch_threads
    from attnviz.masks import MaskSpec
    from attnviz.models import load_model
    from attnviz.models.base import hook_name
    from attnviz.text import clean_text
    from ui import offered, session
    from ui.long_maps import BLOCKS_ABOVE

    if not _reset_peak():
        raise SystemExit("cannot reset VmHWM through /proc/self/clear_refs")
    rss_imports = _status()["VmRSS"]
    torch.set_num_threads(app_threads())  # as ui.offered._load_offered
    model = load_model(model_name)
    offered.freeze_loaded_objects()
    rss_model = _status()["VmRSS"]
    spec = MaskSpec()  # the page's defaults: no causal box ticked, no window, no chunk

    def page_capture(text: str):
        texts = (clean_text(text).text,)
        hooks = session.view_hooks(model, texts)
        with torch_threads(session.forward_threads(model, texts)):  # as ui.session.captures_for
            caps = run_capture(model, list(texts), spec, hooks=hooks)
        extra = []
        if not caps[0].holds_scores(0):  # View.scores(layer 0): its own capture
            extra = run_capture(model, list(texts), spec, hooks=session.scores_hooks(0))
        return texts, hooks, caps, extra

    warm = page_capture(text_for(model_name, 20, 999))  # every running server has captured a short sentence
    del warm
    gc.collect()

    text = text_for(model_name, tokens, 0)
    before = _status()["VmRSS"]
    _reset_peak()
    started = time.perf_counter()
    texts, hooks, caps, extra = page_capture(text)
    capture_ms = (time.perf_counter() - started) * 1000
    after = _status()
    cap = caps[0]
    linear = cap.is_linear(0)
    result = dict(
        model=model_name,
        asked=tokens,
        tokens=len(cap.tokens),
        linear=linear,
        threads=torch.get_num_threads(),
        would_store_mb=session.capture_bytes(model, texts, session.VIEW_HOOKS) / MB,
        linear_above_mb=WHOLE_MAPS_UP_TO_MB,
        rss_imports=rss_imports / MB,
        rss_model=rss_model / MB,
        rss_before=before / MB,
        peak_delta=(after["VmHWM"] - before) / MB,
        kept_delta=(after["VmRSS"] - before) / MB,
        capture_mb=sum(a.nbytes for a in cap.values()) / MB,
        scores_mb=sum(a.nbytes for c in extra for a in c.values()) / MB,
        full_mb=cap.full_bytes() / MB,
        capture_ms=capture_ms,
        maps_peak_delta=None,
        maps_ms=None,
        hooks=len(hooks),
    )
    # What the page does next for the head's map, before anything is sent: timed, for the decomposition of typed -> drawn
    from attnviz.figures import attention as plots

    if (
        len(cap.tokens) > BLOCKS_ABOVE
    ):  # the page's block maps of a long text (ui.long_maps): the head's, then the thumbnails
        _reset_peak()
        started = time.perf_counter()
        blocks = tiles.block_map(cap, 0, 0, LONG_MAP_BLOCKS)
        result["head_map_ms"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        fig = plots.block_heatmap(blocks, title="Layer 0 · head 0", lang="en")
        result["figure_json_kb"] = len(fig.to_json()) / 1024
        result["figure_ms"] = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        thumbs = [tiles.layer_block_means(cap, layer, THUMB_BLOCKS) for layer in range(cap.n_layers)]
        result["thumbs_ms"] = (time.perf_counter() - started) * 1000
        result["maps_ms"] = result["head_map_ms"] + result["thumbs_ms"]
        result["maps_peak_delta"] = (_status()["VmHWM"] - before) / MB
        del thumbs
    else:  # the head's whole map, as show_head draws it (its scores from the capture or the scores capture)
        scores = (cap if cap.holds_scores(0) else extra[0])[hook_name("scores", 0)]
        started = time.perf_counter()
        fig = plots.map_heatmap(
            cap.pattern(0)[0], cap.tokens, scores=scores[0], allowed=cap.mask(0), title="Layer 0 · head 0", lang="en"
        )
        result["figure_json_kb"] = len(fig.to_json()) / 1024
        result["figure_ms"] = (time.perf_counter() - started) * 1000
        result["head_map_ms"] = 0.0
    return result


def run_memory(pairs: list[tuple[str, int]]) -> list[dict]:
    rows = []
    for model, tokens in pairs:
        env = {**os.environ, **CHILD_ENV}
        proc = subprocess.run(
            [sys.executable, __file__, "--child-memory", model, str(tokens)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if proc.returncode != 0:
            print(f"memory child {model} {tokens} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(f"  memory {model:<18} {tokens:>5} tokens: peak +{rows[-1]['peak_delta']:.0f} MB", flush=True)
    return rows


# ------------------------------------------------------------------------------------------------------------
# 2. typed -> drawn, 3. zoom: one app, one Chromium page
# ------------------------------------------------------------------------------------------------------------

# Before an action: remember the map on screen (its live z object and a fingerprint of its values).
JS_SNAPSHOT = f"""() => {{
  window.__lcFp = z => {{
    let s = 0;
    for (let i = 0; i < z.length; i++) {{
      const row = z[i];
      for (let j = 0; j < row.length; j++) {{ const v = row[j]; if (v !== null && v === v) s += v * (1 + ((i * 7 + j) % 13)); }}
    }}
    return s + z.length * 1e6 + (z.length ? z[0].length : 0);
  }};
  const gd = {GD};
  const z = gd && gd._fullData && gd._fullData.length ? gd._fullData[0].z : null;
  window.__lcOld = {{z: z, fp: z ? window.__lcFp(z) : null}};
  window.__lcSeen = null;
  window.__lcFresh = false;
}}"""

# Checked every animation frame by browser_latency's JS_ARM: a new map object (cheap identity test), of the
# expected shape, whose values differ from the old map's (fingerprinted once per new map object).
COND_NEW_MAP = f"""(arg) => {{
  const gd = {GD};
  if (!gd || !gd._fullData || !gd._fullData.length) return false;
  const z = gd._fullData[0].z;
  if (!z || !z.length || z === window.__lcOld.z) return false;
  if (arg.rows && (z.length !== arg.rows || z[0].length !== arg.cols)) return false;
  if (arg.maxSide && (z.length > arg.maxSide || z[0].length > arg.maxSide)) return false;
  if (window.__lcSeen !== z) {{ window.__lcSeen = z; window.__lcFresh = window.__lcFp(z) !== window.__lcOld.fp; }}
  return window.__lcFresh;
}}"""

# JS_ARM starts its clock on a key or a click; for a drag the clock starts at mouse-up (capture phase).
JS_ON_MOUSEUP = """() => document.addEventListener('mouseup', () => {
  if (window.__bench && window.__bench.t0 === null) window.__bench.t0 = performance.now();
}, {capture: true, once: true})"""

JS_SHAPE = f"() => {{ const t = {GD}._fullData[0]; return [t.z.length, t.z[0].length, t.x ? t.x[0] : null, t.y ? t.y[0] : null]; }}"
JS_ZOOM = "() => new URLSearchParams(location.search).get('zoom')"


class ServerMemory:
    """The streamlit process's RSS, and its peak (VmHWM) since the last ``reset``."""

    def __init__(self, pid: int):
        self.pid = pid

    def reset(self) -> float:
        _reset_peak(self.pid)
        return _status(self.pid)["VmRSS"] / MB

    def peak(self) -> float:
        return _status(self.pid)["VmHWM"] / MB

    def children(self) -> int:
        try:
            import psutil

            return len(psutil.Process(self.pid).children(recursive=True))
        except Exception:  # noqa: BLE001 - informative only
            return -1


def py_spy_summary(raw_path: Path, top: int = 14) -> list[str]:
    """The functions with the most samples in a ``py-spy record --format raw`` file (collapsed stacks, one per
    line, "frame;frame;... count"): inclusive (on the stack) and self (the innermost frame), as % of samples."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw_path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [
            frame.rsplit(":", 1)[0] + ")" if ":" in frame else frame for frame in stack.split(";")
        ]  # drop line numbers
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        own[frames[-1]] = own.get(frames[-1], 0) + n
    short_ = lambda f: f.replace(str(REPO) + "/", "").replace(sys.prefix + "/", "")  # noqa: E731
    lines = [f"{total} samples (all threads, active only)", "inclusive:"]
    lines += [
        f"  {100 * n / total:5.1f}%  {short_(f)}" for f, n in sorted(inclusive.items(), key=lambda x: -x[1])[:top]
    ]
    lines += ["self:"] + [
        f"  {100 * n / total:5.1f}%  {short_(f)}" for f, n in sorted(own.items(), key=lambda x: -x[1])[: top // 2]
    ]
    return lines


def run_browser(
    pairs: list[tuple[str, int]], repeats: int, zoom: bool, spy_seconds: float = 0.0
) -> tuple[list[dict], list[dict], dict]:
    from playwright.sync_api import sync_playwright

    rows, zoom_rows, info = [], [], {}
    frames: list[int] = []
    with AppServer() as server, sync_playwright() as playwright:
        memory = ServerMemory(server.proc.pid)
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})  # the long-text test's: the whole map in view
        page.set_default_timeout(120_000)
        page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(len(payload))))
        bench = Bench(page)
        app = SimpleNamespace(page=page, wait_idle=bench.wait_idle)

        def timed(act, arg) -> tuple | None:
            """browser_latency's measure of one action, plus the websocket bytes its rerun brought."""
            page.evaluate(JS_SNAPSHOT)
            frames.clear()
            if act is None:  # the text box was filled: Enter sends it (JS_ARM's clock starts at that keydown)
                kind, action = "enter", lambda: page.locator(".st-key-text input").press("Enter")
            else:  # a drag: JS_ARM listens for no key ("mouseup" names none); the clock starts at mouse-up
                kind, action = "mouseup", lambda: (page.evaluate(JS_ON_MOUSEUP), act())
            sample = bench.measure(kind, COND_NEW_MAP, arg, action)
            page.wait_for_timeout(200)  # a last frame after the run's end (the URL, the status)
            if sample is None:
                return None
            return (*sample, sum(frames))

        for model in dict.fromkeys(m for m, _ in pairs):
            page.goto(server.url + f"?model={model}")
            page.wait_for_function(JS_HEATMAP_READY, timeout=180_000)
            bench.wait_idle(timeout=180_000)
            for tokens in [t for m, t in pairs if m == model]:
                box = page.locator(".st-key-text input")
                shape: dict = {}
                server_mem: dict = {}

                def new_text(i):
                    box.fill(text_for(model, tokens, i + 1))
                    if i == 0:
                        server_mem["before"] = memory.reset()
                    sample = timed(None, dict(shape) if i else {})
                    if i == 0:
                        server_mem["peak"] = memory.peak()
                        if sample is not None:
                            rows_, cols_, _, _ = page.evaluate(JS_SHAPE)
                            shape.update(rows=rows_, cols=cols_)
                    return sample

                result = repeat(repeats, new_text)
                if spy_seconds and tokens == max(t for m, t in pairs if m == model):  # one more edit, recorded
                    info.setdefault("py_spy", {})[(model, tokens)] = spy_on_edit(
                        server.proc.pid,
                        spy_seconds,
                        lambda: (box.fill(text_for(model, tokens, repeats + 2)), timed(None, dict(shape)))[1],
                    )
                body = page.locator("body").inner_text()
                rows.append(
                    dict(
                        model=model,
                        tokens=tokens,
                        shape=(shape.get("rows"), shape.get("cols")),
                        long=f"A long text ({tokens} tokens)" in body,
                        server=server_mem,
                        **result,
                    )
                )
                r = rows[-1]
                print(
                    f"  browser {model:<18} {tokens:>5} tokens: median {fmt(median_or_none([s[0] for s in r['samples']]))} ms, "
                    f"lost {r['lost']}",
                    flush=True,
                )

            if model == MISTRAL and zoom and 8192 in [t for m, t in pairs if m == model]:
                spy = (lambda edit: spy_on_edit(server.proc.pid, spy_seconds, edit)) if spy_seconds else None
                zoom_rows = run_zoom(page, bench, app, timed, repeats, spy)
                if zoom_rows and "py_spy" in zoom_rows[-1]:
                    info.setdefault("py_spy", {})[(MISTRAL, "zoom to tile")] = zoom_rows[-1].pop("py_spy")
        info["server_children"] = memory.children()
        info["server_rss_end"] = _status(server.proc.pid)["VmRSS"] / MB
        browser.close()
    return rows, zoom_rows, info


def spy_on_edit(pid: int, seconds: float, edit) -> dict:
    """py-spy on the server for the first ``seconds`` after an edit's Enter (non-blocking sampling): what the
    server does between the key and the map drawn. The edit's own timing is returned, not counted."""
    import math
    import tempfile

    out = Path(tempfile.mkstemp(prefix="attnviz-long-pyspy-", suffix=".txt")[1])
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "100",
            "--duration",
            str(math.ceil(seconds)),
            "--format",
            "raw",
            "--nonblocking",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(0.3)  # attached
    sample = edit()
    _, err = spy.communicate(timeout=seconds + 60)
    summary = py_spy_summary(out) if out.stat().st_size else [f"py-spy wrote nothing: {err.strip()[-500:]}"]
    return dict(sample=sample, summary=summary, path=str(out))


def run_zoom(page, bench, app, timed, repeats: int, spy=None) -> list[dict]:
    """On the 8k text: whole map -> a ~1,500-token region (blocks) -> a ≤ 250-token box inside it (exact tile).
    ``spy``: one more such zoom, its second box recorded by py-spy (not counted)."""
    regions = []

    def whole_map():
        if page.evaluate(JS_ZOOM):
            page.get_by_role("button", name="Whole map").click()
            page.wait_for_function("() => !new URLSearchParams(location.search).has('zoom')")
            page.wait_for_function("() => document.body.innerText.includes('A long text (8192 tokens)')")
            page.wait_for_timeout(200)
            bench.wait_idle()

    def step(i, spied=None):
        whole_map()
        k0, q0 = 1900 + 60 * i, 2000 + 60 * i
        side = 1500 + 20 * i
        first = timed(
            lambda: drag(app, (k0, q0), (k0 + side, q0 + side)),
            {"rows": LONG_MAP_BLOCKS, "cols": LONG_MAP_BLOCKS},
        )
        if first is None:
            return None
        (a, b), (c, d) = wait_zoom(app, None)
        if i:
            regions.append(first)
        tq, tk = 160 + 18 * (i % 5), 170 + 16 * (i % 5)  # 160..250 tokens a side
        k1, q1 = c + 300 + 25 * i, a + 320 + 25 * i
        zoom_in = lambda: timed(lambda: drag(app, (k1, q1), (k1 + tk, q1 + tq)), {"maxSide": 256})  # noqa: E731
        if spied is not None:
            spied.update(spy(zoom_in))
            second = spied["sample"]
        else:
            second = zoom_in()
        if second is None:
            return None
        (a2, b2), (c2, d2) = wait_zoom(app, f"{a}-{b},{c}-{d}")
        rows_, cols_, x0, y0 = page.evaluate(JS_SHAPE)
        exact = (rows_, cols_, x0, y0) == (b2 - a2, d2 - c2, c2, a2) and max(rows_, cols_) <= 256
        return (*second, (rows_, cols_), exact)

    result = repeat(repeats, step)
    spied: dict = {}
    if spy is not None:
        n = len(regions)
        step(repeats + 1, spied)
        del regions[n:]  # the spied zoom's first box is not counted either
    whole_map()
    rows = [
        dict(name=f"box -> ~1,500² region ({LONG_MAP_BLOCKS}² blocks)", samples=regions, lost=0),
        dict(
            name="box -> exact tile (≤ 256²)",
            samples=[s[:4] for s in result["samples"]],
            lost=result["lost"],
            tiles=[s[4] for s in result["samples"]],
            exact=[s[5] for s in result["samples"]],
        ),
    ]
    if spied:
        rows[-1]["py_spy"] = spied
    return rows


# ------------------------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------------------------


def short(model: str) -> str:
    return "MiniLM" if model == MINILM else model


def print_memory(rows: list[dict]) -> None:
    base = {r["model"]: r["peak_delta"] for r in rows if r["asked"] == 20}
    print("\n1. Capture memory (fresh process per row; MB; peak Δ = VmHWM during the capture − VmRSS before)")
    head = (
        f"{'model':<13} {'tokens':>6} {'stored':>7} {'model RSS':>9} {'peak Δ':>7} {'kept Δ':>7} {'capture':>8} {'+scores':>7} "
        f"{'whole maps':>10} {'capture ms':>10} {'head map ms':>11} {'figure ms':>9} {'+block maps peak Δ':>18} {'thumbs ms':>9} "
        f"{'× 20 tok':>8} {'bar':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        bar = BAR_MEMORY_MB.get((r["model"], r["asked"]))
        ratio = r["peak_delta"] / base[r["model"]] if base.get(r["model"]) else None
        print(
            f"{short(r['model']):<13} {r['tokens']:>6} {'linear' if r['linear'] else 'whole':>7} {r['rss_model']:>9.0f} "
            f"{r['peak_delta']:>7.1f} {r['kept_delta']:>7.1f} {r['capture_mb']:>8.1f} {r['scores_mb']:>7.1f} {r['full_mb']:>10.1f} "
            f"{r['capture_ms']:>10.0f} {fmt(r.get('head_map_ms')):>11} {fmt(r.get('figure_ms')):>9} {fmt(r['maps_peak_delta'], '.1f'):>18} "
            f"{fmt(r.get('thumbs_ms')):>9} {fmt(ratio, '.1f'):>8} "
            f"{(f'≤{bar} ' + mark(r['peak_delta'], bar)) if bar else '':>9}"
        )
    print(
        "stored: 'linear' = q, k, v, z and row normalisers (the maps above WHOLE_MAPS_UP_TO_MB = "
        f"{rows[0]['linear_above_mb'] if rows else '?'} MB are computed from them); 'whole' = patterns + masks (+ scores)."
    )
    print(
        "capture: the capture's arrays; +scores: the head layer's scores capture the page adds; whole maps: Capture.full_bytes()."
    )
    print(
        f"capture ms / head map ms ({LONG_MAP_BLOCKS}² block map) / figure ms (the head's Plotly figure + to_json): the server's work before"
    )
    print(
        "the head's map is sent, timed in that process; thumbs ms: the 16 thumbnails (48²) the overview and layer grid draw after it."
    )
    print(
        f"+block maps peak Δ: peak above 'before' while the page's block maps ({LONG_MAP_BLOCKS}² head, {THUMB_BLOCKS}² thumbnails) are computed after it."
    )


def print_browser(rows: list[dict]) -> None:
    print(
        "\n2. Typed -> drawn in Chromium (ms; in-page: Enter keydown -> first frame with the new map; payload per rerun)"
    )
    head = (
        f"{'model':<13} {'tokens':>6} {'drawn':>9} {'n':>2} {'lost':>4} {'in-page med':>11} {'p90':>6} {'wall med':>8} {'to idle':>7} "
        f"{'× 20 tok':>8} {'bar':>12} {'payload KB':>10} {'max KB':>7} {'server RSS':>10} {'peak Δ':>7}"
    )
    print(head)
    print("-" * len(head))
    base = {}
    for r in rows:
        drawn = [s[0] for s in r["samples"]]
        if r["tokens"] == 20 and drawn:
            base[r["model"]] = statistics.median(drawn)
    for r in rows:
        drawn, wall, idle, payload = ([s[k] for s in r["samples"]] for k in range(4))
        med = median_or_none(drawn)
        bar = BAR_DRAWN_MS.get((r["model"], r["tokens"]))
        ratio = med / base[r["model"]] if med and base.get(r["model"]) else None
        shape = f"{r['shape'][0]}×{r['shape'][1]}" if r["shape"][0] else "?"
        srv = r["server"]
        print(
            f"{short(r['model']):<13} {r['tokens']:>6} {shape + ('b' if r['long'] else ''):>9} {len(drawn):>2} {r['lost']:>4} "
            f"{fmt(med):>11} {fmt(pct(drawn, 0.9) if drawn else None):>6} {fmt(median_or_none(wall)):>8} {fmt(median_or_none(idle)):>7} "
            f"{fmt(ratio, '.1f'):>8} {(f'≤{bar} ' + mark(med, bar)) if bar else '':>12} {fmt(median_or_none(payload) and median_or_none(payload) / 1024):>10} "
            f"{fmt(max(payload) / 1024 if payload else None):>7} {fmt(srv.get('before')):>10} {fmt(srv.get('peak', 0) - srv.get('before', 0), '+.0f'):>7}"
        )
    print(
        "drawn: the head map's z as drawn (b = block map of a long text). wall: Python around press -> drawn (adds CDP round"
    )
    print(
        "trips); to idle: the script run finished. server RSS: the streamlit process before the size's first rerun; peak Δ:"
    )
    print("its VmHWM during that first rerun − that (the shared capture cache keeps the capture).")


def print_zoom(rows: list[dict]) -> None:
    if not rows:
        return
    print("\n3. Zoom on 8,192 tokens (mistral-char; ms; mouse-up -> first frame with the new map)")
    head = f"{'step':<38} {'n':>2} {'lost':>4} {'in-page med':>11} {'p90':>6} {'wall med':>8} {'to idle':>7} {'payload KB':>10} {'bar':>9}"
    print(head)
    print("-" * len(head))
    for r in rows:
        drawn, wall, idle, payload = ([s[k] for s in r["samples"]] for k in range(4))
        med = median_or_none(drawn)
        bar = BAR_ZOOM_MS if "exact" in r["name"] else None
        print(
            f"{r['name']:<38} {len(drawn):>2} {r['lost']:>4} {fmt(med):>11} {fmt(pct(drawn, 0.9) if drawn else None):>6} "
            f"{fmt(median_or_none(wall)):>8} {fmt(median_or_none(idle)):>7} {fmt(max(payload) / 1024 if payload else None):>10} "
            f"{(f'≤{bar} ' + mark(med, bar)) if bar else '':>9}"
        )
        if "tiles" in r:
            print(
                f"  tiles drawn: {', '.join(f'{a}×{b}' for a, b in r['tiles'])}; exact (shape and first query/key = the URL's zoom): "
                f"{sum(r['exact'])}/{len(r['exact'])}"
            )
    print("payload KB: the largest rerun.")


def print_bars(memory: list[dict], browser: list[dict], zoom: list[dict]) -> list[str]:
    lines = []
    mem = {(r["model"], r["asked"]): r for r in memory}
    web = {(r["model"], r["tokens"]): r for r in browser}
    if (MISTRAL, 8192) in mem:
        v = mem[(MISTRAL, 8192)]["peak_delta"]
        lines.append(f"{mark(v, 500)} mistral-char 8,192 tokens: capture memory peak Δ {v:.0f} MB (bar ≤ 500 MB)")
    if (MISTRAL, 8192) in web and web[(MISTRAL, 8192)]["samples"]:
        r = web[(MISTRAL, 8192)]
        med = statistics.median(s[0] for s in r["samples"])
        pay = max(s[3] for s in r["samples"])
        lines.append(
            f"{mark(med, 2000)} mistral-char 8,192 tokens: typed -> drawn median {med:.0f} ms (bar ≤ 2,000 ms)"
        )
        zmax = max([pay] + [s[3] for z in zoom for s in z["samples"]])
        lines.append(
            f"{mark(zmax, 2 * MB)} mistral-char 8,192 tokens: payload ≤ {zmax / MB:.2f} MB per rerun, typing and zooming (bar ≤ 2 MB)"
        )
    for z in zoom:
        if "exact" in z["name"] and z["samples"]:
            med = statistics.median(s[0] for s in z["samples"])
            lines.append(
                f"{mark(med, BAR_ZOOM_MS)} mistral-char 8,192 tokens: box -> exact tile drawn median {med:.0f} ms (bar ≤ 500 ms; "
                f"{sum(z['exact'])}/{len(z['exact'])} exact)"
            )
    for tokens in (512, 20):
        if (MINILM, tokens) in web and web[(MINILM, tokens)]["samples"]:
            med = statistics.median(s[0] for s in web[(MINILM, tokens)]["samples"])
            bar, was = BAR_DRAWN_MS[(MINILM, tokens)], WAS_DRAWN_MS[(MINILM, tokens)]
            lines.append(
                f"{mark(med, bar)} MiniLM {tokens} tokens: typed -> drawn median {med:.0f} ms (goal ≤ {bar} ms, was ~{was} ms)"
            )
    if (MINILM, 20) in mem:
        r = mem[(MINILM, 20)]
        lines.append(
            f"  MiniLM 20 tokens: capture memory peak Δ {r['peak_delta']:.1f} MB, kept {r['kept_delta']:.1f} MB, "
            f"its arrays {r['capture_mb']:.2f} MB"
        )
    print("\nBars (issue 11 §5)")
    for line in lines:
        print(line)
    return lines


def print_readme(memory: list[dict], browser: list[dict], repeats: int) -> None:
    mem = {(r["model"], r["asked"]): r for r in memory}
    web = {(r["model"], r["tokens"]): r for r in browser}
    sizes = sorted({t for _, t in list(mem) + list(web)})
    print("\ndocs/benchmarks.md table (markdown)\n")
    print(
        "| tokens | mistral-char: capture memory | typed → drawn | payload | MiniLM: capture memory | typed → drawn | payload |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for tokens in sizes:
        cells = []
        for model in (MISTRAL, MINILM):
            m, w = mem.get((model, tokens)), web.get((model, tokens))
            if m is None and w is None:
                cells += ["–"] * 3
                continue
            cells.append(f"{m['peak_delta']:.0f} MB" + (" (linear)" if m["linear"] else "") if m else "–")
            drawn = [s[0] for s in w["samples"]] if w else []
            cells.append(f"{statistics.median(drawn) / 1000:.2f} s" if drawn else "–")
            pay = [s[3] for s in w["samples"]] if w else []
            cells.append(f"{statistics.median(pay) / MB:.2f} MB" if pay else "–")
        print(f"| {tokens:,} | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per size (after one warm-up)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 128, 512, 2048, 8192], help="token counts")
    parser.add_argument(
        "--models", nargs="+", choices=list(MODEL_SIZES), default=list(MODEL_SIZES), help="models to measure"
    )
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--skip-browser", action="store_true")
    parser.add_argument(
        "--py-spy",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="after the largest size of each model, record the server with py-spy (from 0.3 s before one more edit's Enter, for SECONDS)",
    )
    parser.add_argument("--child-memory", nargs=2, metavar=("MODEL", "TOKENS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        print(json.dumps(child_memory(args.child_memory[0], int(args.child_memory[1]))))
        return
    pairs = [
        (model, t) for model, sizes in MODEL_SIZES.items() if model in args.models for t in args.sizes if t in sizes
    ]
    started, load_start = time.perf_counter(), os.getloadavg()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in load_start)} ({os.cpu_count()} cores)", flush=True)
    memory = [] if args.skip_memory else run_memory(pairs)
    browser, zoom, info = [], [], {}
    if not args.skip_browser:
        if not Path(CHROMIUM).exists():
            sys.exit(f"{CHROMIUM} is missing; install Debian's chromium package")
        browser, zoom, info = run_browser(pairs, args.repeats, zoom=True, spy_seconds=args.py_spy)
        print(
            f"  server: {info['server_children']} child processes, RSS at the end {info['server_rss_end']:.0f} MB",
            flush=True,
        )
    if memory:
        print_memory(memory)
    if browser:
        print_browser(browser)
        print_zoom(zoom)
    for (model, tokens), spy in (info.get("py_spy") or {}).items():
        drawn = f"{spy['sample'][0]:.0f} ms to drawn, {spy['sample'][2]:.0f} ms to idle" if spy["sample"] else "lost"
        what = f"{tokens} tokens" if isinstance(tokens, int) else f"8192 tokens, {tokens}"
        print(
            f"\npy-spy on the server, {args.py_spy:g} s from 0.3 s before Enter / mouse-up, {short(model)} {what} "
            f"(one extra edit, not counted: {drawn}; raw stacks: {spy['path']})"
        )
        print("\n".join(spy["summary"]))
    print_bars(memory, browser, zoom)
    print_readme(memory, browser, args.repeats)
    load_end = os.getloadavg()
    print(
        f"\nload average at start {' '.join(f'{x:.2f}' for x in load_start)}, at end {' '.join(f'{x:.2f}' for x in load_end)}; "
        f"{os.cpu_count()} cores; {args.repeats} repeats after one warm-up; total {time.perf_counter() - started:.0f} s"
    )


if __name__ == "__main__":
    main()
