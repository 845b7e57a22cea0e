"""Server load of attnviz: N simultaneous sessions speaking Streamlit's websocket protocol (no browser).

Run:  .venv/bin/python benchmarks/load_sessions.py [--sessions 10 30 60] [--tokens 512] [--timeout 180]

Starts one fresh app (``streamlit run app.py`` on a free port, ``harness/app_server.py``), warms
it up with one session (the model loads once per server), then, for each N in ``--sessions`` in turn,
starts N sessions at once (asyncio) with ``harness/sessions.py``. Each session is what a browser
tab is to the server:

1. it opens ``ws://127.0.0.1:PORT/_stcore/stream`` and sends ``rerun_script`` with the query string
   ``text=<its own sentence>``; every sentence holds ``zebra <k>`` where the number k is unique to the
   session (a number below 342 is one token of MiniLM's vocabulary, so it is one tick label of the
   heatmap; "zebra17" would be split into "zebra" + "##17");
2. it reads ForwardMsgs until the main page's head heatmap arrives (the ``st.plotly_chart`` whose
   element id carries the key ``head_heatmap``): **connect -> heatmap**; then until the run finishes;
3. it "ticks a mask": a rerun whose widget states set the sidebar checkbox ``causal`` (its widget id is
   read from the checkbox element it received) to true, and reads until the next run's heatmap:
   **tick -> heatmap**; that map must be causal (every cell above the diagonal masked, NaN), the first
   one not;
4. it stays connected until every session is done, so the peak memory is that of N live sessions.

Cross-talk: every frame a session receives is searched for ``zebra <number>`` (widget values, the
query string, tick labels, hover text), and both heatmaps' all-digit tick labels must be its own
number only; any other session's number counts. Errors: exception elements, ``st.error`` alerts, a
run that fails to compile, timeouts (``--timeout`` per step), disconnects, a heatmap without the
session's own word or a tick whose heatmap is not causal.

Memory: VmRSS (``/proc/PID/status``) of the streamlit process and its children, before each N, peak
while the N sessions run (sampled every 0.1 s) and after they disconnected (plus ``--settle`` s).

The client shares this machine's cores with the server, as the browsers did in browser_latency.py;
it records the time a frame was parsed, before decoding any figure. It measures; it never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: harness, attnviz


from harness.app_server import AppServer  # noqa: E402
from harness.sessions import FIRST_NUMBER, LAST_NUMBER, Result, run_sessions, sentence  # noqa: E402,F401


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def pss_kb(pid: int) -> int:
    """Proportional set size: pages shared by n processes count 1/n to each (Chromium's dozen processes share
    most of theirs, so their summed RSS is about twice what they hold)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return _rss_kb(pid)


def tree_rss_mb(pid: int, per_process=_rss_kb) -> float:
    """VmRSS of ``pid`` and all its descendants, MB (``per_process=pss_kb``: their proportional set size)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        total += per_process(current)
        stack.extend(children.get(current, []))
    return total / 1024


class PeakSampler(threading.Thread):
    """Samples :func:`tree_rss_mb` every ``interval`` s until stopped; ``peak`` is the largest sample."""

    def __init__(self, pid: int, interval: float = 0.1, per_process=_rss_kb):
        super().__init__(daemon=True)
        self.pid, self.interval, self.per_process = pid, interval, per_process
        self.peak = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak = max(self.peak, tree_rss_mb(self.pid, self.per_process))
            self._stop_event.wait(self.interval)

    def stop(self) -> float:
        self._stop_event.set()
        self.join(timeout=5)
        self.peak = max(self.peak, tree_rss_mb(self.pid, self.per_process))
        return self.peak


# --- reporting --------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def summarize(
    n: int, results: list[Result], memory: tuple[float, float, float], wall: float, log_problems: int
) -> dict:
    connect = [r.connect_heatmap for r in results if r.connect_heatmap is not None]
    tick = [r.tick_heatmap for r in results if r.tick_heatmap is not None]
    ids = [r.session_id for r in results if r.session_id]
    return dict(
        n=n,
        complete=sum(r.complete for r in results),
        errors=sum(len(r.errors) for r in results),
        sessions_with_errors=sum(bool(r.errors) for r in results),
        crosstalk=sum(len(r.crosstalk) for r in results),
        duplicate_ids=len(ids) - len(set(ids)),
        tokens=sorted({r.n_tokens for r in results if r.n_tokens}),
        connect=(pct(connect, 0.5), pct(connect, 0.95)),
        connect_idle=pct([r.connect_idle for r in results if r.connect_idle is not None], 0.95),
        tick=(pct(tick, 0.5), pct(tick, 0.95)),
        tick_idle=pct([r.tick_idle for r in results if r.tick_idle is not None], 0.95),
        memory=memory,
        wall=wall,
        mb_received=sum(r.bytes for r in results) / 1e6,
        log_problems=log_problems,
        details=[(r.k, e) for r in results for e in r.errors],
        crosstalk_details=[(r.k, sorted(r.crosstalk)) for r in results if r.crosstalk],
    )


def print_table(rows: list[dict], header_note: str) -> None:
    print()
    print(f"attnviz server load: N sessions at once over Streamlit's websocket protocol (no browser); {header_note}")
    header = (
        f"{'N':>4} {'ok':>4} {'errors':>6} {'x-talk':>6} {'tokens':>7} "
        f"{'conn->map p50':>13} {'p95':>6} {'->idle p95':>10} "
        f"{'tick->map p50':>13} {'p95':>6} {'->idle p95':>10} "
        f"{'RSS MB before':>13} {'peak':>6} {'after':>6} {'MB recv':>7} {'wall s':>6}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        before, peak, after = row["memory"]
        tokens = ",".join(str(t) for t in row["tokens"]) or "-"
        print(
            f"{row['n']:>4} {row['complete']:>4} {row['errors']:>6} {row['crosstalk']:>6} {tokens:>7} "
            f"{ms(row['connect'][0]):>13} {ms(row['connect'][1]):>6} {ms(row['connect_idle']):>10} "
            f"{ms(row['tick'][0]):>13} {ms(row['tick'][1]):>6} {ms(row['tick_idle']):>10} "
            f"{before:>13.0f} {peak:>6.0f} {after:>6.0f} {row['mb_received']:>7.1f} {row['wall']:>6.1f}"
        )
    print()
    print("times in ms. conn->map: websocket connect started -> head heatmap frame parsed; ->idle: to that run's")
    print("script_finished. tick->map: rerun with causal=true sent -> the new run's heatmap frame parsed.")
    print("ok: sessions with both heatmaps, no error; x-talk: other sessions' words seen (frames or ticks).")
    print("RSS: streamlit process + children (/proc VmRSS): before the N sessions, peak while they ran")
    print("(0.1 s samples), after they disconnected (+ settle time).")
    for row in rows:
        if row["duplicate_ids"]:
            print(f"N={row['n']}: {row['duplicate_ids']} duplicate session ids")
        if row["log_problems"]:
            print(f"N={row['n']}: {row['log_problems']} 'Traceback'/'ERROR' lines in the server log during the run")
        shown: dict[str, int] = {}
        for _, error in row["details"]:
            shown[error] = shown.get(error, 0) + 1
        for error, count in list(shown.items())[:8]:
            print(f"N={row['n']}: {count} x {error}")
        for k, words in row["crosstalk_details"][:8]:
            print(f"N={row['n']}: session {k} saw other sessions' words {words}")


def log_problems(text: str) -> int:
    return sum(1 for line in text.splitlines() if "Traceback" in line or " ERROR " in line or line.startswith("ERROR"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sessions", type=int, nargs="+", default=[10, 30, 60], help="session counts, run in turn against one server"
    )
    parser.add_argument(
        "--tokens", type=int, default=0, help="about this many tokens per sentence (default: a ~20-token sentence)"
    )
    parser.add_argument(
        "--timeout", type=float, default=180.0, help="seconds per step of a session (connect, heatmap, run end, tick)"
    )
    parser.add_argument(
        "--settle", type=float, default=3.0, help="seconds to wait after each N before reading the memory"
    )
    parser.add_argument("--no-warmup", action="store_true", help="let the first N pay for the model load")
    args = parser.parse_args()
    if args.tokens and not 12 <= args.tokens <= 512:
        sys.exit("--tokens must be between 12 and 512")
    needed = sum(args.sessions) + (0 if args.no_warmup else 1)
    if needed > LAST_NUMBER - FIRST_NUMBER + 1:
        sys.exit(
            f"at most {LAST_NUMBER - FIRST_NUMBER + 1} sessions in one invocation (each needs its own one-token number)"
        )

    started = time.perf_counter()
    rows = []
    next_number = FIRST_NUMBER
    with AppServer() as server:
        pid = server.proc.pid
        note = f"text {'~20 tokens' if not args.tokens else f'~{args.tokens} tokens'}, timeout {args.timeout:.0f} s/step, server pid {pid}"
        if not args.no_warmup:
            t0 = time.perf_counter()
            warm = asyncio.run(run_sessions(server.url, [next_number], args.tokens, args.timeout))
            next_number += 1
            status = "ok" if warm[0].complete else f"errors: {warm[0].errors}"
            print(
                f"warm-up session (model load): {time.perf_counter() - t0:.1f} s, {status}; RSS {tree_rss_mb(pid):.0f} MB",
                flush=True,
            )
        for n in args.sessions:
            numbers = list(range(next_number, next_number + n))
            next_number += n
            log_start = len(server.log())
            before = tree_rss_mb(pid)
            sampler = PeakSampler(pid)
            sampler.start()
            t0 = time.perf_counter()
            results = asyncio.run(run_sessions(server.url, numbers, args.tokens, args.timeout))
            wall = time.perf_counter() - t0
            peak = sampler.stop()
            time.sleep(args.settle)
            after = tree_rss_mb(pid)
            row = summarize(n, results, (before, peak, after), wall, log_problems(server.log()[log_start:]))
            rows.append(row)
            print(
                f"N={n}: {row['complete']}/{n} ok, {row['errors']} errors, {row['crosstalk']} cross-talk, "
                f"connect->heatmap p50 {ms(row['connect'][0])} ms, tick->heatmap p50 {ms(row['tick'][0])} ms, {wall:.1f} s",
                flush=True,
            )
        if server.proc.poll() is not None:
            print(f"the server exited with code {server.proc.returncode}")
    print_table(rows, note)
    print(f"Total benchmark time {time.perf_counter() - started:.0f} s.")


if __name__ == "__main__":
    main()
