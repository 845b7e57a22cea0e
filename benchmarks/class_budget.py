"""What a few hostile or careless students cost a class server, page by page, and what a student with a short
sentence waits meanwhile. Protocol-level (benchmarks/_st_client.py), against a server started as `make class`
starts it (offline, 1 MB uploads, the Makefile's allocator settings).

Run:  .venv/bin/python benchmarks/class_budget.py [--students 5] [--rows word_order generation compare dcmha box]

Each row starts a fresh server, loads the models once (warm-up), then lets ``--students`` sessions do the row's
attack at once, each from its own loopback address, while one more session on the main page types a short sentence
again and again (a new word each time) and measures each edit -> its heatmap:

    word_order   Word order on mistral-char with two 4,000-character texts (a plain link does it)
    generation   Generation on mistral-char with a 5,000-character prompt
    compare      Compare heads on MiniLM with a 512-token text (similarity of every pair of heads, ranks)
    dcmha        the DCMHA page with a 1,000-character text
    box          a 2,000,000-character sentence sent to the main page's box (the browser's max_chars bypassed)

Printed per row: the server's peak RSS growth over its warm state (process tree), how long the attackers' runs took
(median, longest), what they were shown (refused in words, or drawn), and the short-sentence user's edits -> heatmap
(median, worst). The issue's targets at 5 students: at most 1 GB growth and 1.5 s worst short wait. It measures; it
never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _app_server import AppServer  # noqa: E402
from _st_client import StreamlitClient, query_string  # noqa: E402
from load_sessions import PeakSampler, tree_rss_mb  # noqa: E402

HEATMAP = "head_heatmap"
LONG = ("Once upon a time a small cat sat on a warm mat and watched the rain fall over the quiet town. " * 80)
ROWS = {
    # page path, query string, how long the attack may take, the text that says it was refused
    "word_order": ("Word_order", dict(model="mistral-char", order_a=LONG[:4000], order_b=LONG[1:4001]), "too long to compare"),
    "generation": ("Generation", dict(gen_model="mistral-char", gen_text=LONG[:5000], gen_new="8"), "too long to follow"),
    "compare": ("Compare_heads", dict(text=" ".join(["attention"] * 510)), None),
    "dcmha": ("DCMHA", dict(dc_text=LONG[:1000]), None),
    "box": ("", dict(), None),
}


class PageClient(StreamlitClient):
    """A tab opened on one page's URL (the browser sends the page's path on its first run)."""

    page = ""

    def _client_state(self, msg, widget_changes, fragment_id=""):
        super()._client_state(msg, widget_changes, fragment_id)
        if not self.page_script_hash and self.page:
            msg.rerun_script.page_name = self.page
        path = f"{self.base_url}{self.page}"
        msg.rerun_script.context_info.url = f"{path}?{self.query}" if self.query else path


async def attacker(url: str, row: str, k: int, timeout: float) -> dict:
    page, params, refused_phrase = ROWS[row]
    query = query_string(**params) if len(query_string(**params)) < 60_000 else ""
    client = PageClient(url, query=query, source=f"127.0.2.{k + 1}")
    client.page = page
    infos: list[str] = []
    original = client._element

    def element(el, now):
        original(el, now)
        if el.WhichOneof("type") == "alert":
            infos.append(el.alert.body)

    client._element = element
    started = time.perf_counter()
    outcome = "drawn"
    try:
        await client.connect()
        await client.rerun()
        await client.wait_for(StreamlitClient.run_finished(0), timeout)
        if row == "box":  # the main page's box, sent far past max_chars
            await client.wait_for(lambda c: "text" in c.widgets, timeout)
            runs = len(client.runs_started)
            await client.rerun({"text": "zebra " * 333_334})
            await client.wait_for(StreamlitClient.run_finished(runs), timeout)
            outcome = f"box kept {len(client.widgets['text'].value or ''):,} characters"
        elif refused_phrase and any(refused_phrase in text for text in infos):
            outcome = "refused in words"
    except asyncio.TimeoutError:
        outcome = f"timeout ({timeout:.0f} s)"
    finally:
        await client.close()
    return {"seconds": time.perf_counter() - started, "outcome": outcome, "errors": client.errors}


async def short_user(url: str, stop: asyncio.Event, waits: list) -> None:
    client = StreamlitClient(url, query=query_string(text="The zebra 100 ate purple carrots."), source="127.0.3.1")
    await client.connect()
    try:
        await client.rerun()
        await client.wait_for(StreamlitClient.chart_after(HEATMAP, 0), 180)
        await client.wait_for(lambda c: "text" in c.widgets, 60)
        n = 101
        while not stop.is_set():
            runs = len(client.runs_started)
            sent = await client.rerun({"text": f"The zebra {n} ate purple carrots."})
            chart = await client.wait_for(StreamlitClient.chart_after(HEATMAP, runs), 180)
            waits.append(chart.received - sent)
            n += 1
            await asyncio.sleep(0.3)
    finally:
        await client.close()


async def attack(url: str, row: str, students: int, timeout: float):
    stop, waits = asyncio.Event(), []
    user = asyncio.create_task(short_user(url, stop, waits))
    await asyncio.sleep(3)  # the short user's first map, before the attack
    results = await asyncio.gather(*(attacker(url, row, k, timeout) for k in range(students)))
    await asyncio.sleep(1)
    stop.set()
    await user
    return results, waits


async def warm(url: str, row: str) -> None:
    """One short run of the row's page and of the main page: models loaded, caches warm."""
    page, params, _ = ROWS[row]
    client = PageClient(url, query=query_string(**{k: (v if len(v) < 100 else "the cat sat on the mat")
                                                  for k, v in params.items()}), source="127.0.4.1")
    client.page = page
    await client.connect()
    await client.rerun()
    await client.wait_for(StreamlitClient.run_finished(0), 300)
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    print(f"{args.students} students at once per row; a short-sentence user on the main page meanwhile")
    print(f"{'row':<11} {'growth MB':>9} {'attack s (median/max)':>22}  {'short user s (median/worst)':>28}  shown")
    for row in args.rows:
        with AppServer(extra_args=["--server.maxUploadSize", "1"]) as server:
            asyncio.run(warm(server.url, row))
            asyncio.run(warm(server.url, "box"))
            base = tree_rss_mb(server.proc.pid)
            sampler = PeakSampler(server.proc.pid)
            sampler.start()
            results, waits = asyncio.run(attack(server.url, row, args.students, args.timeout))
            peak = sampler.stop()
        seconds = sorted(r["seconds"] for r in results)
        shown = sorted({r["outcome"] for r in results})
        errors = sum(len(r["errors"]) for r in results)
        short = f"{statistics.median(waits):.2f} / {max(waits):.2f}" if waits else "none"
        print(f"{row:<11} {peak - base:>9.0f} {statistics.median(seconds):>10.1f} / {seconds[-1]:<9.1f}  {short:>28}  "
              f"{', '.join(shown)}{f' ({errors} errors)' if errors else ''}")


if __name__ == "__main__":
    main()
