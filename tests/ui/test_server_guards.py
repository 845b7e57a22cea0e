"""Streamlit's own doors obey the class password (ui/gate.guard_the_server), on a real server started with a
password as `make class` starts it, driven over Streamlit's websocket protocol and HTTP as a hostile client would.

Before the password: an upload to /_stcore/upload_file is refused and nothing is stored; Streamlit's clear_cache
message (which clears every shared cache and the sender's session) is ignored. After it: a session uploads, up to a
bound on the files it holds; clear_cache still changes nothing, so the student stays in. XSRF protection is off
on this server, so the guard alone is what refuses.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

from streamlit.proto.BackMsg_pb2 import BackMsg  # noqa: E402

from harness.app_server import AppServer  # noqa: E402
from harness.st_client import GateClient, PageClient, StreamlitClient, opened, put_file  # noqa: E402
from ui.gate import SESSION_UPLOAD_FILES  # noqa: E402


pytestmark = pytest.mark.slow  # a real server with a password

PASSWORD = "otters-2026"  # the class password this test's server is started with
TEXT_FILE = b"the cat sat on the mat"  # what each upload sends


@pytest.fixture(scope="module")
def server():
    mp = pytest.MonkeyPatch()
    mp.setenv("ATTNVIZ_PASSWORD", PASSWORD)
    mp.setenv("HF_HUB_OFFLINE", "1")
    try:
        with AppServer(extra_args=["--server.maxUploadSize", "1", "--server.enableXsrfProtection", "false"]) as running:
            yield running
    finally:
        mp.undo()


def run(coroutine):
    """asyncio.run in a thread of its own: tests before this one (Playwright's sync API) may leave an event loop
    running in the main thread, where asyncio.run() refuses to start."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def clear_cache(client: GateClient) -> None:
    msg = BackMsg()
    msg.clear_cache = True
    await client.ws.send(msg.SerializeToString())


async def log_in(client: GateClient) -> None:
    runs = len(client.runs_started)
    await client.submit(PASSWORD)
    await client.wait_for(StreamlitClient.chart_after("head_heatmap", runs), 180)
    await client.wait_for(lambda c: "text" in c.widgets, 60)  # the sentence box comes after the map


def test_before_the_password_no_upload_and_no_clear_cache(server):
    async def scenario():
        client = await opened(server.url, "127.0.0.1")
        try:
            statuses = [put_file(server.url, client.session_id, f"file-{i}", TEXT_FILE) for i in range(3)]
            await clear_cache(client)
            await client.rerun()  # the session is still at the form, and the server is still serving
            await client.wait_for(StreamlitClient.run_finished(len(client.runs_started) - 1), 60)
            return statuses, "class_password" in client.widgets
        finally:
            await client.close()

    statuses, at_the_form = run(scenario())
    assert statuses == [403, 403, 403] and at_the_form
    assert "clear_cache request was ignored" in server.log()


def test_after_the_password_uploads_are_bounded_and_clear_cache_does_not_log_anyone_out(server):
    async def scenario():
        client = await opened(server.url, "127.0.0.2")
        try:
            await log_in(client)
            statuses = [
                put_file(server.url, client.session_id, f"file-{i}", TEXT_FILE) for i in range(SESSION_UPLOAD_FILES + 1)
            ]
            again = put_file(
                server.url, client.session_id, "file-0", TEXT_FILE
            )  # replacing a held file is not one more
            await clear_cache(client)
            runs = len(client.runs_started)
            await client.rerun()
            await client.wait_for(StreamlitClient.chart_after("head_heatmap", runs), 180)  # still in: the main page
            return statuses, again
        finally:
            await client.close()

    statuses, again = run(scenario())
    assert statuses == [204] * SESSION_UPLOAD_FILES + [413] and again == 204


def test_a_text_longer_than_the_box_takes_is_cut_on_the_server(server):
    """A client speaking the protocol need not respect the browser's max_chars: the session keeps at most MAX_CHARS
    of what it sent (the box's value comes back cut to that), and the main page still draws. (Without max_chars on
    the box, the server kept all 230,000 characters.)"""
    from attnviz.text import MAX_CHARS

    async def scenario():
        client = await opened(server.url, "127.0.0.3")
        try:
            await log_in(client)
            runs = len(client.runs_started)
            await client.rerun({"text": "the cat sat on the mat " * (MAX_CHARS // 10)})  # 2.3 × the limit
            await client.wait_for(StreamlitClient.chart_after("head_heatmap", runs), 180)
            await client.wait_for(StreamlitClient.run_finished(runs), 60)
            return client.widgets["text"].value, client.errors
        finally:
            await client.close()

    value, errors = run(scenario())
    assert value is not None and len(value) == MAX_CHARS and not errors


def test_metrics_say_nothing_while_a_password_is_set(server):
    """/_stcore/metrics answered anyone with session counts, cache names and hit counts."""

    async def visit():  # a session exists, so there is something to count
        client = await opened(server.url, "127.0.0.5")
        await client.close()

    run(visit())
    with urllib.request.urlopen(f"{server.url}_stcore/metrics", timeout=30) as response:
        text = response.read().decode()
    assert "session" not in text and "cache" not in text and "st_" not in text, text[:300]


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="PNG export renders with Chromium")
def test_one_session_clicking_png_ten_times_at_once_gets_one_image_and_nine_refusals(server):
    """The renderer's line holds one image per session: ten clicks at once from one student render one PNG (the
    others are answered 'failed' at once instead of each holding a server thread), and the next click, after the
    first image is done, renders again."""

    async def scenario():
        client = PageClient(server.url, source="127.0.0.6")
        await client.connect()
        try:
            await client.rerun()
            await client.wait_for(lambda c: c.buttons and "class_password_enter" in c.buttons, 60)
            await log_in(client)
            runs = len(client.runs_started)
            client.popovers = {
                element_id: element_id.endswith("head_heatmap__export") for element_id in client.popovers
            }
            await client.rerun()
            await client.wait_for(
                lambda c: "head_heatmap__png" in c.downloads and StreamlitClient.run_finished(runs)(c), 60
            )
            file_id = client.downloads["head_heatmap__png"]
            burst = [f"burst-{i}" for i in range(10)]
            for request_id in burst:
                await client.ask_for_file(file_id, request_id)
            await client.wait_for(lambda c: all(i in c.responses for i in burst), 120)
            await client.ask_for_file(file_id, "later")
            await client.wait_for(lambda c: "later" in c.responses, 120)
            return [client.responses[i] for i in burst], client.responses["later"]
        finally:
            await client.close()

    burst, later = run(scenario())
    images = [r.deferred_file.url for r in burst if r.deferred_file.url]
    assert len(images) == 1 and images[0].endswith(".png")
    assert all(r.error_msg for r in burst if not r.deferred_file.url)
    assert later.deferred_file.url.endswith(".png")
    assert "Your previous export is still being prepared" in server.log()
