"""What a few hostile or careless students cost a class server, page by page, and what a student with a short
sentence waits meanwhile. Protocol-level (benchmarks/_st_client.py), against a server started as `make class`
starts it (offline, 1 MB uploads, the Makefile's allocator settings).

Run:  .venv/bin/python benchmarks/class_budget.py [--students 5] [--rows word_order generation ... prepassword]

Each row starts a fresh server, loads the models once (warm-up), then lets ``--students`` sessions do the row's
attack at once, each from its own loopback address and with its own text (so the shared cache cannot serve one
student's work to another), while one more session on the main page types a short sentence
again and again (a new word each time) and measures each edit -> its heatmap:

    word_order   Word order on mistral-char with two 4,000-character texts (a plain link does it)
    generation   Generation on mistral-char with a 5,000-character prompt
    compare      Compare heads on MiniLM with a 512-token text (similarity of every pair of heads, ranks)
    tabs         Compare as above in three more tabs per student, closed after 3 s; then the student's own tab
                 waits for its similarity matrix (what the closed tabs left queued shows in its time)
    dcmha        the DCMHA page with a 1,000-character text
    box          a 2,000,000-character sentence sent to the main page's box (the browser's max_chars bypassed)
    presenter    the Presenter with an uploaded lesson: Word order on mistral-char, 3,000-character text and text2,
                 shown three times (three clicks)
    export       the main page's PNG export, clicked ten times at once and then three times more, 2 s apart, per student
                 (the first export of the server starts its one renderer, Chromium: part of the growth)
    prepassword  a class password set; before typing it, each student PUTs 80 files of 1 MB to Streamlit's upload
                 endpoint and sends Streamlit's clear_cache message 20 times (the short user has typed it)

Printed per row: the server's peak memory growth over its warm state (its process tree's proportional set size:
the export renderer's Chromium processes share most of their pages, and summing their RSS counts those twice), how long the attackers' runs took
(median, longest), what they were shown (refused in words, or drawn), and the short-sentence user's edits -> heatmap
(median, worst). The issue's targets at 5 students: at most 1 GB growth and 1.5 s worst short wait. It measures; it
never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: harness, attnviz

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402

from harness.app_server import AppServer  # noqa: E402
from harness.st_client import GateClient, PageClient, StreamlitClient, put_file, query_string  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: harness, attnviz
from gate_guessing import PASSWORD  # noqa: E402
from load_sessions import PeakSampler, pss_kb, tree_rss_mb  # noqa: E402

HEATMAP = "head_heatmap"
COMPARE_TEXT = " ".join(["attention"] * 510)  # 512 tokens on MiniLM
TABS = 3
LONG = "Once upon a time a small cat sat on a warm mat and watched the rain fall over the quiet town. " * 80
ROWS = {
    # page path, query string, how long the attack may take, the text that says it was refused
    "word_order": (
        "Word_order",
        dict(model="mistral-char", order_a=LONG[:4000], order_b=LONG[1:4001]),
        "too long to compare",
    ),
    "generation": (
        "Generation",
        dict(gen_model="mistral-char", gen_text=LONG[:5000], gen_new="8"),
        "too long to follow",
    ),
    "compare": ("Compare_heads", dict(text=COMPARE_TEXT), None),
    "tabs": ("Compare_heads", dict(text=COMPARE_TEXT), None),
    "dcmha": ("DCMHA", dict(dc_text=LONG[:1000]), None),
    "box": ("", dict(), None),
    "presenter": ("Presenter", dict(), "too long for a slide"),
    "export": ("", dict(text="The animal didn't cross the street because it was too tired."), None),
    "prepassword": ("", dict(), None),
}
LESSON = f"""title: {{en: A long slide, zh: 长幻灯片}}
slides:
  - title: {{en: Two long texts, zh: 两段长文本}}
    view: order
    model: mistral-char
    text: "{LONG[:3000]}"
    text2: "{LONG[1:3001]}"
    explanation: {{en: two texts of 3000 characters, zh: 两段文本}}
""".encode()
UPLOAD_MB, UPLOADS_PER_STUDENT, CLEAR_CACHES = 1, 80, 20


async def attacker(url: str, row: str, k: int, timeout: float) -> dict:
    page, params, refused_phrase = ROWS[row]
    params = {name: (f"{k} {value}" if len(value) > 100 else value) for name, value in params.items()}  # each their own
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
        if row in ACTIONS:
            outcome = await ACTIONS[row](client, k, timeout)
        if refused_phrase and any(refused_phrase in text for text in infos):
            outcome = "refused in words"
    except asyncio.TimeoutError:
        outcome = f"timeout ({timeout:.0f} s)"
    finally:
        await client.close()
    return {"seconds": time.perf_counter() - started, "outcome": outcome, "errors": client.errors}


async def typed_too_much(client: PageClient, k: int, timeout: float) -> str:
    """The main page's box, sent far past max_chars."""
    await client.wait_for(lambda c: "text" in c.widgets, timeout)
    runs = len(client.runs_started)
    await client.rerun({"text": "zebra " * 333_334})
    await client.wait_for(StreamlitClient.run_finished(runs), timeout)
    return f"box kept {len(client.widgets['text'].value or ''):,} characters"


async def long_lesson(client: PageClient, k: int, timeout: float) -> str:
    """Upload the long lesson as the browser's file uploader does, then show its slide three times."""
    await client.wait_for(lambda c: c.uploader_id, timeout)
    status = await asyncio.to_thread(put_file, client.base_url, client.session_id, f"lesson-{k}", LESSON, "long.yaml")
    if status != 204:
        return f"upload refused ({status})"
    client.uploaded = [(f"lesson-{k}", "long.yaml", len(LESSON))]
    for _ in range(3):
        runs = len(client.runs_started)
        await client.rerun()
        await client.wait_for(StreamlitClient.run_finished(runs), timeout)
    return "drawn"


async def many_exports(client: PageClient, k: int, timeout: float) -> str:
    """Open the main map's export menu, click PNG ten times at once, then three times one after another."""
    await client.wait_for(StreamlitClient.chart_after(HEATMAP, 0), timeout)
    await client.wait_for(lambda c: f"{HEATMAP}__export" in "".join(c.popovers), timeout)
    runs = len(client.runs_started)
    client.popovers = {element_id: element_id.endswith(f"{HEATMAP}__export") for element_id in client.popovers}
    await client.rerun()
    await client.wait_for(lambda c: f"{HEATMAP}__png" in c.downloads and StreamlitClient.run_finished(runs)(c), timeout)
    file_id = client.downloads[f"{HEATMAP}__png"]
    answers = collections.Counter()

    async def click(ids):
        for request_id in ids:
            await client.ask_for_file(file_id, request_id)
        await client.wait_for(lambda c: all(i in c.responses for i in ids), timeout)
        for request_id in ids:
            answers["PNG" if client.responses[request_id].deferred_file.url else "refused"] += 1

    await click([f"{k}-burst-{i}" for i in range(10)])
    for i in range(3):  # "Failed to generate": a student tries again a little later
        await asyncio.sleep(2)
        await click([f"{k}-again-{i}"])
    return ", ".join(f"{n} {what}" for what, n in sorted(answers.items()))


async def before_the_password(client: PageClient, k: int, timeout: float) -> str:
    """At the password form: PUT files to the upload endpoint (1 MB each) and send clear_cache, again and again."""
    await client.wait_for(lambda c: c.buttons and "class_password_enter" in c.buttons, timeout)
    data = os.urandom(UPLOAD_MB * 2**20 - 1024)
    statuses = collections.Counter()
    for i in range(UPLOADS_PER_STUDENT):
        statuses[await asyncio.to_thread(put_file, client.base_url, client.session_id, f"flood-{k}-{i}", data)] += 1
        if i % (UPLOADS_PER_STUDENT // CLEAR_CACHES) == 0:
            msg = BackMsg()
            msg.clear_cache = True
            await client.ws.send(msg.SerializeToString())
    return "uploads answered " + ", ".join(f"{n}x {status}" for status, n in sorted(statuses.items()))


async def closed_tabs(client: PageClient, k: int, timeout: float) -> str:
    """Open TABS more tabs on Compare, each with its own 512-token text, close them after 3 s, then wait in this one
    for the similarity of this one's text (its time says how much work the closed tabs left queued)."""
    tabs = []
    for i in range(TABS):
        tab = PageClient(client.base_url, query=query_string(text=f"{k} tab {i} " + COMPARE_TEXT), source=client.source)
        tab.page = "Compare_heads"
        await tab.connect()
        await tab.rerun()
        tabs.append(tab)
    await asyncio.sleep(3)
    for tab in tabs:
        await tab.close()
    await client.wait_for(StreamlitClient.chart_after("similarity", 0), timeout)
    return f"{TABS} tabs closed, then its own map"


ACTIONS = {
    "box": typed_too_much,
    "tabs": closed_tabs,
    "presenter": long_lesson,
    "export": many_exports,
    "prepassword": before_the_password,
}


async def short_user(url: str, stop: asyncio.Event, waits: list) -> None:
    client = GateClient(url, query=query_string(text="The zebra 100 ate purple carrots."), source="127.0.3.1")
    await client.connect()
    try:
        await client.rerun()
        await client.wait_for(StreamlitClient.run_finished(0), 180)
        if os.environ.get("ATTNVIZ_PASSWORD"):  # a class server: type the password first
            await client.wait_for(lambda c: c.buttons and "class_password_enter" in c.buttons, 60)
            runs = len(client.runs_started)
            await client.submit(PASSWORD)
            await client.wait_for(StreamlitClient.chart_after(HEATMAP, runs), 180)
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
    client = PageClient(
        url,
        query=query_string(**{k: (v if len(v) < 100 else "the cat sat on the mat") for k, v in params.items()}),
        source="127.0.4.1",
    )
    client.page = page
    await client.connect()
    await client.rerun()
    await client.wait_for(StreamlitClient.run_finished(0), 300)
    if os.environ.get("ATTNVIZ_PASSWORD"):
        await client.wait_for(lambda c: c.buttons and "class_password_enter" in c.buttons, 60)
        runs = len(client.runs_started)
        await client.submit(PASSWORD)
        await client.wait_for(StreamlitClient.chart_after(HEATMAP, runs), 300)
    await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=5)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"  # as `make class` starts it
    print(f"{args.students} students at once per row; a short-sentence user on the main page meanwhile")
    print(f"{'row':<11} {'growth MB':>9} {'attack s (median/max)':>22}  {'short user s (median/worst)':>28}  shown")
    for row in args.rows:
        os.environ.pop("ATTNVIZ_PASSWORD", None)
        if row == "prepassword":
            os.environ.update(ATTNVIZ_PASSWORD=PASSWORD)
        with AppServer(extra_args=["--server.maxUploadSize", str(UPLOAD_MB)]) as server:
            asyncio.run(warm(server.url, row))
            asyncio.run(warm(server.url, "box"))
            base = tree_rss_mb(server.proc.pid, pss_kb)
            sampler = PeakSampler(server.proc.pid, per_process=pss_kb)
            sampler.start()
            results, waits = asyncio.run(attack(server.url, row, args.students, args.timeout))
            peak = sampler.stop()
        seconds = sorted(r["seconds"] for r in results)
        outcomes = collections.Counter(r["outcome"] for r in results)
        shown = [f"{n}x {outcome}" if n > 1 else outcome for outcome, n in sorted(outcomes.items())]
        refusal = ROWS[row][2]
        errors = sum(1 for r in results for e in r["errors"] if not (refusal and refusal in e.replace("\\", "")))
        short = f"{statistics.median(waits):.2f} / {max(waits):.2f}" if waits else "none"
        print(
            f"{row:<11} {peak - base:>9.0f} {statistics.median(seconds):>10.1f} / {seconds[-1]:<9.1f}  {short:>28}  "
            f"{'; '.join(shown)}{f' ({errors} errors)' if errors else ''}"
        )


if __name__ == "__main__":
    main()
