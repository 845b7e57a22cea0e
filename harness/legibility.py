"""What a class sees, measured from the DOM: text that collides or is cut inside a figure, and a slide against its screen.

``measure(page)`` runs in a loaded Streamlit page and returns plain counts with the offending texts, so the legibility
test (tests/browser/test_legibility.py) can fail with the names of what collides, and ``python -m harness.legibility``
can print a before/after report per page and slide. Every number comes from ``getBoundingClientRect`` of what Chromium
drew: Plotly's SVG text (ticks, titles, colour bars, legends, annotations) and the page's own blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Tolerances, in CSS pixels: anti-aliasing and Plotly's own rounding make touching boxes overlap by a pixel.
OVERLAP_PX = 2.0
CUT_PX = 1.5
SLIDE_TICK_MIN_PX = 14.0

# One figure's texts, each with its role: "tick" (an axis's tick label), "title" (figure or axis title), "colorbar",
# "legend", "annotation", "cell" (a value written inside a heatmap cell); the figure's outer box and its plot areas.
JS_MEASURE = """(args) => {
  const [overlapPx, cutPx] = args;
  const main = document.querySelector('[data-testid=stMain]') || document.body;
  const figures = Array.from(main.querySelectorAll('.js-plotly-plot')).filter(gd => gd.offsetParent !== null);
  const role = (el) => {
    if (el.closest('.colorbar')) return 'colorbar';
    if (el.closest('.legend')) return 'legend';
    if (el.closest('.annotation')) return 'annotation';
    const g = el.parentElement;
    if (g && /(^|\\s)[a-z]\\d*tick(\\s|$)/.test(g.getAttribute('class') || '')) return 'tick';
    if (el.closest('.heatmaplayer, .textpoint, .barlayer, .scatterlayer')) return 'cell';
    return 'title';
  };
  const box = (r) => ({left: r.left, top: r.top, right: r.right, bottom: r.bottom});
  // A text's four corners on screen: its own box through its transform, so a turned tick label is the slanted
  // rectangle it is drawn in (its bounding rectangle would make turned neighbours "overlap").
  // Vertically the box is the font's em square about the line's middle: a fallback font's tall line box (Noto CJK's
  // is 1.45 em) would make labels "overlap" whose letters are a few pixels apart.
  // A text of several lines (Plotly's tspan.line) keeps its whole box: each line is a line of letters.
  const corners = (el, size) => {
    const b = el.getBBox(), m = el.getScreenCTM();
    const lines = el.querySelectorAll('tspan.line').length;
    const h = lines > 1 ? b.height : Math.min(b.height, size), y = b.y + (b.height - h) / 2;
    return [[b.x, y], [b.x + b.width, y], [b.x + b.width, y + h], [b.x, y + h]]
      .map(([x, y]) => new DOMPoint(x, y).matrixTransform(m));
  };
  const bounds = (poly) => ({left: Math.min(...poly.map(p => p.x)), right: Math.max(...poly.map(p => p.x)),
                             top: Math.min(...poly.map(p => p.y)), bottom: Math.max(...poly.map(p => p.y))});
  // Two convex polygons overlap by more than px when no axis of either separates them (separating axes).
  const separated = (a, b, px) => {
    for (const poly of [a, b]) {
      for (let i = 0; i < poly.length; i++) {
        const p = poly[i], q = poly[(i + 1) % poly.length];
        const len = Math.hypot(q.x - p.x, q.y - p.y) || 1;
        const nx = (p.y - q.y) / len, ny = (q.x - p.x) / len;
        const project = (pts) => pts.map(t => t.x * nx + t.y * ny);
        const pa = project(a), pb = project(b);
        if (Math.min(Math.max(...pa), Math.max(...pb)) - Math.max(Math.min(...pa), Math.min(...pb)) <= px) return true;
      }
    }
    return false;
  };
  const meet = (a, b, px) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > px
                          && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > px;
  const out = [];
  figures.forEach((gd, index) => {
    const holder = gd.closest('[class*=st-key-]');
    const key = holder ? (Array.from(holder.classList).find(c => c.startsWith('st-key-')) || '').slice(7) : String(index);
    const frame = box(gd.getBoundingClientRect());
    const texts = Array.from(gd.querySelectorAll('svg text')).map(el => {
      const r = el.getBoundingClientRect();
      const label = (el.textContent || '').trim();
      const visible = label.length > 0 && r.width > 0 && r.height > 0 && getComputedStyle(el).opacity !== '0'
                   && getComputedStyle(el).display !== 'none';
      const size = parseFloat(getComputedStyle(el).fontSize) || 0;
      const poly = visible ? corners(el, size) : [];
      return {el, label, role: role(el), box: visible ? bounds(poly) : box(r), poly, size, visible};
    }).filter(t => t.visible);
    const areas = Array.from(gd.querySelectorAll('.draglayer .nsewdrag')).map(r => box(r.getBoundingClientRect()));
    const overlaps = [], cut = [], overPlot = [];
    for (let i = 0; i < texts.length; i++) {
      const a = texts[i];
      const beyond = Math.max(frame.left - a.box.left, a.box.right - frame.right, frame.top - a.box.top,
                              a.box.bottom - frame.bottom);
      if (beyond > cutPx) cut.push(a.role + ': ' + a.label + ' (' + beyond.toFixed(0) + ' px)');
      if (a.role === 'colorbar' || a.role === 'legend') {
        if (areas.some(area => meet(a.box, area, overlapPx))) overPlot.push(a.role + ': ' + a.label);
      }
      for (let j = i + 1; j < texts.length; j++) {
        const b = texts[j];
        if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
        if (meet(a.box, b.box, overlapPx) && !separated(a.poly, b.poly, overlapPx)) overlaps.push(a.role + ' "' + a.label + '" × ' + b.role + ' "' + b.label + '"');
      }
    }
    const ticks = texts.filter(t => t.role === 'tick').map(t => t.size);
    out.push({key, width: frame.right - frame.left, height: frame.bottom - frame.top, overlaps, cut, overPlot,
              smallestTick: ticks.length ? Math.min(...ticks) : null});
  });
  // The page's content against the screen: the lowest drawn block of the main column.
  const blocks = Array.from(main.querySelectorAll('[data-testid=stMainBlockContainer] [data-testid=stElementContainer]'))
    .map(el => el.getBoundingClientRect()).filter(r => r.height > 0);
  const scroller = main.scrollTop || 0;
  const bottom = blocks.length ? Math.max(...blocks.map(r => r.bottom)) + scroller : 0;
  const failures = Array.from(main.querySelectorAll('[data-testid=stException]'), e => e.innerText.slice(0, 120));
  return {figures: out, contentBottom: bottom, screenHeight: window.innerHeight, screenWidth: window.innerWidth,
          failures};
}"""


@dataclass
class Measure:
    """One screen's defects: each list names what it found, so a failing test says where to look."""

    where: str
    overlaps: list[str] = field(default_factory=list)
    cut: list[str] = field(default_factory=list)
    over_plot: list[str] = field(default_factory=list)
    overflow_px: float = 0.0  # how far the content runs below the screen (slides only)
    smallest_tick: float | None = None
    figures: int = 0
    failures: list[str] = field(default_factory=list)  # a traceback on screen instead of the view

    def counts(self, slide: bool) -> dict[str, float]:
        small = slide and self.smallest_tick is not None and self.smallest_tick < SLIDE_TICK_MIN_PX
        return {
            "overlaps": len(self.overlaps),
            "cut": len(self.cut),
            "over_plot": len(self.over_plot),
            "overflow_px": round(self.overflow_px) if slide else 0,
            "small_ticks": int(small),
            "failures": len(self.failures),
        }

    def defects(self, slide: bool) -> list[str]:
        found = [f"overlap: {o}" for o in self.overlaps] + [f"cut: {c}" for c in self.cut]
        found += [f"over a plot: {o}" for o in self.over_plot] + [f"failed: {f}" for f in self.failures]
        if slide and self.overflow_px > 0:
            found.append(f"runs {self.overflow_px:.0f} px below the screen")
        if slide and self.smallest_tick is not None and self.smallest_tick < SLIDE_TICK_MIN_PX:
            found.append(f"tick labels at {self.smallest_tick:.0f} px")
        return [f"{self.where}: {d}" for d in found]


def measure(page, where: str) -> Measure:
    """Measure the page as it is drawn now (call once its run is idle and its figures are drawn)."""
    raw = page.evaluate(JS_MEASURE, [OVERLAP_PX, CUT_PX])
    result = Measure(where=where, figures=len(raw["figures"]), failures=raw["failures"])
    for fig in raw["figures"]:
        result.overlaps += [f"[{fig['key']}] {o}" for o in fig["overlaps"]]
        result.cut += [f"[{fig['key']}] {c}" for c in fig["cut"]]
        result.over_plot += [f"[{fig['key']}] {o}" for o in fig["overPlot"]]
        if fig["smallestTick"] is not None:
            result.smallest_tick = min(result.smallest_tick or 1e9, fig["smallestTick"])
    result.overflow_px = max(0.0, raw["contentBottom"] - raw["screenHeight"])
    return result


# --- the screens a class sees -----------------------------------------------------------------------------------------

PAGES = [
    "",
    "Compare_heads",
    "DCMHA",
    "Step_by_step",
    "Word_order",
    "Encoder_decoder",
    "Generation",
    "Head_importance",
    "Images",
]
PAGE_SCREENS = [(1400, 1000), (1280, 720)]
SLIDE_SCREENS = [(1280, 720), (1920, 1080)]
LANGS = ["en", "zh"]

# Every figure on the page has been laid out by Plotly (a figure still empty would measure as nothing).
JS_FIGURES_DRAWN = """() => !document.querySelector('[data-testid=stMain] [data-testid=stSkeleton]')
  && Array.from(document.querySelectorAll('[data-testid=stMain] [data-testid=stPlotlyChart]')).every(chart => {
       const gd = chart.querySelector('.js-plotly-plot');
       return gd && gd._fullData && gd._fullLayout && gd.querySelector('svg.main-svg');
     })"""


def settle(page, wait_idle) -> None:
    wait_idle()
    page.wait_for_function(JS_FIGURES_DRAWN)
    page.wait_for_timeout(400)  # Plotly's resize after the last run, and web fonts


def shoot(page, folder, where: str, full_page: bool) -> None:
    """A screenshot of the screen, or (``full_page``) of the whole page: Streamlit scrolls its main block, not the
    document, so the window is made as tall as the content for the shot and given back its size after."""
    if folder is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    path = str(folder / f"{where.replace('/', '_')}.png")
    size = page.viewport_size
    tall = page.evaluate("() => (document.querySelector('[data-testid=stMain]') || document.body).scrollHeight")
    if full_page and size and tall > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": min(int(tall), 12_000)})
        page.wait_for_timeout(300)
        page.screenshot(path=path)
        page.set_viewport_size(size)
        page.wait_for_timeout(300)
    else:
        page.screenshot(path=path)


def page_screens(page, base_url: str, wait_idle, folder=None, pages=PAGES, langs=LANGS, screens=PAGE_SCREENS):
    """Every page in each language at each screen size: one ``Measure`` each (pages scroll, so no overflow check)."""
    for path in pages:
        for lang in langs:
            page.set_viewport_size({"width": screens[0][0], "height": screens[0][1]})
            page.goto(f"{base_url}{path}?lang={lang}")
            for width, height in screens:
                page.set_viewport_size({"width": width, "height": height})
                settle(page, wait_idle)
                where = f"{path or 'Attention'}-{lang}-{width}x{height}"
                measured = measure(page, where)
                shoot(page, folder, where, full_page=True)
                yield measured


# States a page reaches only by a step: a long text (its blocks, a zoom of ~70 rows, its comparison), the DCMHA page's
# other tabs, Head importance with heads ablated and every head ranked. (name, URL path and query, steps): a step is
# ("tab" | "button", catalogue key of its label), clicked in order once the page has drawn. Every query has its "?".
LONG_TEXT = ("The quick brown fox jumps over the lazy dog while the cat sleeps by the warm fire. " * 30)[:2000]
STATE_SCREENS = [(1280, 720)]  # the narrowest: where labels meet first
STATES: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("long-blocks", "?model=mistral-char&text={long}", []),
    ("long-zoom", "?model=mistral-char&text={long}&zoom=1000-1070,1000-1070", []),
    ("long-compare", "Compare_heads?model=mistral-char&text={long}", []),
    *[
        (f"dcmha-{tab}", "DCMHA?", [("tab", f"dcmha.tab_{tab}")])
        for tab in ("stages", "gates", "compare", "redundancy")
    ],
    ("importance-ranked", "Head_importance?ablate=0.1,2.3", [("button", "importance.rank_button")]),
    ("importance-lm", "Head_importance?model=mistral-char&ablate=0.1", []),
    ("images-window", "Images?img_use_window=true&img_window=1&img_query=%283%2C3%29&img_layer=1", []),
]


def state_screens(page, base_url: str, wait_idle, folder=None, states=STATES, langs=LANGS, screens=STATE_SCREENS):
    """Every state of ``STATES`` in each language at each screen size: one ``Measure`` each."""
    from urllib.parse import quote

    from attnviz.i18n import translate

    for name, query, steps in states:
        for lang in langs:
            for width, height in screens:
                page.set_viewport_size({"width": width, "height": height})
                address = query.format(long=quote(LONG_TEXT))
                page.goto(f"{base_url}{address}{'' if address.endswith('?') else '&'}lang={lang}")
                settle(page, wait_idle)
                for kind, key in steps:
                    page.get_by_role(kind, name=translate(key, lang)).click()
                    page.wait_for_timeout(300)
                    settle(page, wait_idle)
                where = f"{name}-{lang}-{width}x{height}"
                measured = measure(page, where)
                shoot(page, folder, where, full_page=True)
                yield measured


def slide_screens(
    page, base_url: str, wait_idle, lessons: dict[str, int], folder=None, langs=LANGS, screens=SLIDE_SCREENS
):
    """Every slide of every lesson (``{lesson: number of slides}``), in each language, on each projector size, as a
    teacher goes through them: the lesson's first slide from its URL, then "Next" for each of the others."""
    from attnviz.i18n import translate

    for width, height in screens:
        page.set_viewport_size({"width": width, "height": height})
        for lang in langs:
            for lesson, count in lessons.items():
                page.goto(f"{base_url}Presenter?lesson={lesson}&slide=1&lang={lang}")
                for number in range(1, count + 1):
                    if number > 1:
                        page.get_by_role("button", name=translate("presenter.next", lang)).click()
                    page.wait_for_function(
                        # the first slide is the default: the page may drop it from the URL
                        "(n) => (new URLSearchParams(location.search).get('slide') || '1') === n",
                        arg=str(number),
                    )
                    settle(page, wait_idle)
                    where = f"{lesson}-{number}-{lang}-{width}x{height}"
                    measured = measure(page, where)
                    shoot(page, folder, where, full_page=False)
                    yield measured


def shipped_lesson_sizes() -> dict[str, int]:
    from attnviz.teaching.lessons import load_lesson, shipped_lessons

    return {name: len(load_lesson(path).slides) for name, path in shipped_lessons().items()}


def main() -> None:  # pragma: no cover - a report for people, run by hand
    """``python -m harness.legibility [--pages] [--states] [--slides] [--shots DIR]``: counts per screen, as a table."""
    import argparse
    from pathlib import Path

    from playwright.sync_api import sync_playwright

    from .app_server import CHROMIUM, CHROMIUM_ARGS, AppServer
    from .browser import JS_IDLE

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--pages", action="store_true", help="only the pages")
    parser.add_argument("--slides", action="store_true", help="only the slides")
    parser.add_argument("--states", action="store_true", help="only the pages' states reached by a step")
    parser.add_argument("--shots", type=Path, default=None, help="write a screenshot of every state here")
    args = parser.parse_args()
    every = not (args.pages or args.slides or args.states)
    with AppServer() as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(120_000)

        def wait_idle() -> None:
            page.wait_for_function(JS_IDLE)

        results: list[tuple[Measure, bool]] = []
        if every or args.pages:
            results += [(m, False) for m in page_screens(page, server.url, wait_idle, args.shots)]
        if every or args.states:
            results += [(m, False) for m in state_screens(page, server.url, wait_idle, args.shots)]
        if every or args.slides:
            lessons = shipped_lesson_sizes()
            results += [(m, True) for m in slide_screens(page, server.url, wait_idle, lessons, args.shots)]
        browser.close()
    columns = ["overlaps", "cut", "over_plot", "overflow_px", "small_ticks", "failures"]
    print("| screen | " + " | ".join(columns) + " | smallest tick |")
    print("|---|" + "---|" * (len(columns) + 1))
    totals = dict.fromkeys(columns, 0.0)
    for m, slide in results:
        counts = m.counts(slide)
        for name in columns:
            totals[name] += counts[name] if name != "overflow_px" else int(counts[name] > 0)
        tick = "" if m.smallest_tick is None else f"{m.smallest_tick:.0f}"
        print(f"| {m.where} | " + " | ".join(str(counts[c]) for c in columns) + f" | {tick} |")
    print("| **total (overflow: slides that scroll)** | " + " | ".join(f"{totals[c]:.0f}" for c in columns) + " | |")
    for m, slide in results:
        for line in m.defects(slide):
            print(line)


if __name__ == "__main__":
    main()
