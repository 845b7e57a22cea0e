"""Simulated students: N sessions at once speaking Streamlit's websocket protocol (:mod:`harness.st_client`), each
typing its own sentence on the main page, ticking a mask, and checking that every map it receives is its own
(``zebra <k>``, a number unique to the session) and causal after the tick. ``benchmarks/load_sessions.py`` measures
them at large N; ``tests/ui/test_load.py`` checks them at small N. Nothing here times or asserts."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field

import numpy as np

MARKER = re.compile(rb'zebra(?:\s+|\+|%20|","|\\",\\")(\d+)')
FIRST_NUMBER = 100  # numbers 0..341 are single tokens of the (uncased BERT) vocabulary
LAST_NUMBER = 341
SHORT = "The zebra {k} quietly ate purple carrots near the old red barn while the farmer watched."  # ~20 tokens
# single-token words, so that a sentence of n words is n tokens (+ [CLS], [SEP])
FILLER = "students watch attention heads move across long sentences in the browser".split()
HEATMAP = "head_heatmap"


def sentence(k: int, tokens: int = 0) -> str:
    """The session's sentence: the short one, or about ``tokens`` tokens with ``k`` on the first ticks."""
    if not tokens:
        return SHORT.format(k=k)
    # [CLS] zebra k k k k k k k k k filler ... [SEP]: position 8 (a tick when every 8th is labelled) holds k
    words = ["zebra"] + [str(k)] * 9
    words += [FILLER[i % len(FILLER)] for i in range(max(0, tokens - 2 - len(words)))]
    return " ".join(words)


@dataclass
class Result:
    k: int
    connect_heatmap: float | None = None  # s
    connect_idle: float | None = None
    tick_heatmap: float | None = None
    tick_idle: float | None = None
    n_tokens: int | None = None
    session_id: str = ""
    errors: list = field(default_factory=list)
    crosstalk: set = field(default_factory=set)
    frames: int = 0
    bytes: int = 0

    @property
    def complete(self) -> bool:
        return self.connect_heatmap is not None and self.tick_heatmap is not None and not self.errors


def check_heatmap(chart, k: int, result: Result, what: str):
    """The map's all-digit tick labels must be exactly this session's number; returns its z."""
    digits = {t for axis in ("yaxis", "xaxis") for t in chart.ticktext(axis) if t.isdigit()}
    if str(k) not in digits:
        result.errors.append(f"{what}: heatmap lacks the session's word {k} (digit ticks {sorted(digits)[:5]})")
    result.crosstalk |= {int(d) for d in digits - {str(k)}}
    return chart.z()


async def simulate(base_url: str, k: int, text: str, timeout: float, gate: "Gate") -> Result:
    """One browser-like session: load the page with ?text=..., then tick the causal mask."""
    from websockets.exceptions import ConnectionClosed

    from harness.st_client import StreamlitClient, query_string

    result = Result(k)
    client = StreamlitClient(base_url, query=query_string(text=text), watch=MARKER)
    step = "connect"
    started = time.perf_counter()
    try:
        await client.connect(timeout)
        await client.rerun()
        step = "first heatmap"
        first = await client.wait_for(StreamlitClient.chart_after(HEATMAP, 0), timeout)
        result.connect_heatmap = first.received - started
        step = "first run to finish"
        await client.wait_for(idle_after(0), timeout)
        result.connect_idle = time.perf_counter() - started
        z0 = check_heatmap(first, k, result, "first")
        if str(k) not in client.seen:  # its own sentence comes back in the text box and the URL
            result.errors.append("the frame scan never saw the session's own word: the cross-talk check would be blind")
        result.n_tokens = int(z0.shape[0])
        if "causal" not in client.widgets:
            raise LookupError("no checkbox with key 'causal' received")
        runs = len(client.runs_started)
        step = "causal heatmap"
        sent = await client.rerun({"causal": True})
        tick = await client.wait_for(StreamlitClient.chart_after(HEATMAP, runs), timeout)
        result.tick_heatmap = tick.received - sent
        step = "causal run to finish"
        await client.wait_for(idle_after(runs), timeout)
        result.tick_idle = time.perf_counter() - sent
        z1 = check_heatmap(tick, k, result, "causal")
        upper = np.triu(np.ones(z1.shape, dtype=bool), 1)
        if z1.shape != z0.shape:
            result.errors.append(f"causal heatmap shape {z1.shape} != first {z0.shape}")
        elif not (np.isnan(z1[upper]).all() and np.isfinite(z1[~upper]).all()):
            result.errors.append("causal heatmap is not causal (upper triangle not all masked)")
        elif not np.isfinite(z0[upper]).all():
            result.errors.append("first heatmap already masked above the diagonal")
    except asyncio.TimeoutError:
        result.errors.append(f"timeout ({timeout:.0f} s) waiting for {step}")
    except ConnectionClosed as error:
        result.errors.append(f"disconnected while waiting for {step}: {error}")
    except (OSError, LookupError, KeyError, ValueError) as error:
        result.errors.append(f"{type(error).__name__} at {step}: {error}")
    finally:
        result.errors[:0] = client.errors
        result.crosstalk |= {int(m) for m in client.seen if m.isdigit()} - {k}
        result.session_id = client.session_id
        result.frames, result.bytes = client.frames, client.bytes_received
        gate.arrive()
        await gate.wait(5 * timeout)  # stay connected until every session is done
        await client.close()
    return result


def idle_after(runs_before: int):
    """The last run started after the first ``runs_before`` has finished (not for a rerun)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    def check(client) -> bool:
        runs = client.runs_started[runs_before:]
        return (
            bool(runs)
            and client.finished.get(runs[-1], ForwardMsg.FINISHED_EARLY_FOR_RERUN)
            != ForwardMsg.FINISHED_EARLY_FOR_RERUN
        )

    return check


class Gate:
    """Opens when every one of ``n`` sessions has arrived (done or failed): then they all disconnect."""

    def __init__(self, n: int):
        self.n, self.arrived = n, 0
        self.open = asyncio.Event()

    def arrive(self) -> None:
        self.arrived += 1
        if self.arrived >= self.n:
            self.open.set()

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self.open.wait(), timeout)
        except asyncio.TimeoutError:
            pass


async def run_sessions(base_url: str, numbers: list[int], tokens: int, timeout: float) -> list[Result]:
    """All sessions at once (each with its own number); each stays connected until the last one is done."""
    gate = Gate(len(numbers))
    sessions = [simulate(base_url, k, sentence(k, tokens), timeout, gate) for k in numbers]
    # a session takes at most 4 steps of ``timeout`` plus its wait at the gate (bounded the same way)
    return await asyncio.wait_for(asyncio.gather(*sessions), 9 * timeout + 60)


# --- process memory ---------------------------------------------------------------------------
