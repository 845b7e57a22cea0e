"""How fast can many sessions guess the class password? Protocol-level, against a server started as `make class`
starts it (a password set, offline, 1 MB uploads, the Makefile's allocator settings).

Run:  .venv/bin/python benchmarks/gate_guessing.py [--sessions 20] [--addresses 1] [--seconds 20]

Each of ``--sessions`` websocket sessions (benchmarks/_st_client.py: what a browser tab is to the server) submits
the password form with a wrong guess, waits for the answer, and guesses again, for ``--seconds``. The sessions
connect from ``--addresses`` loopback addresses (127.0.1.1, 127.0.1.2, ...: to the server, that many computers).
Meanwhile a student on another address (127.0.0.50) submits the right password every few seconds in a fresh
session: the time from submitting to the app's first page is what a student waits while the guessing goes on.

Printed: guesses answered per second overall (the issue's target: at most 1), the answers' kinds (wrong / busy /
locked), a right answer's time and a wrong answer's time (the same, or timing tells a guesser when to stop
waiting), and the student's waits. It measures; it never asserts.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository: harness, attnviz


from harness.app_server import AppServer  # noqa: E402
from harness.st_client import GateClient, opened  # noqa: E402

PASSWORD = "otters-2026"
STUDENT = "127.0.0.50"
ANSWERS = {"not the class password": "wrong", "Many people are trying": "busy", "Too many wrong passwords": "locked"}


def answer_of(client: GateClient, errors_before: int, runs_before: int):
    def check(c):
        if not any(run in c.finished for run in c.runs_started[runs_before:]):
            return None
        for body in c.errors[errors_before:]:
            for phrase, kind in ANSWERS.items():
                if phrase in body:
                    return kind
        return "other"

    return check


async def guesser(url: str, source: str, deadline: float, answers: list, times: list) -> None:
    client = await opened(url, source)
    n = 0
    try:
        while time.perf_counter() < deadline:
            runs, errors = len(client.runs_started), len(client.errors)
            sent = await client.submit(f"guess-{id(client)}-{n}")
            kind = await client.wait_for(answer_of(client, errors, runs), 120)
            answers.append((time.perf_counter(), kind))
            times.append(time.perf_counter() - sent)
            n += 1
    finally:
        await client.close()


async def student(url: str, deadline: float, waits: list) -> None:
    while time.perf_counter() < deadline:
        client = await opened(url, STUDENT)
        try:
            runs = len(client.runs_started)
            sent = await client.submit(PASSWORD)
            # in: a new run draws the app's sidebar widgets (the language choice) instead of the form
            await client.wait_for(
                lambda c: (
                    any(run in c.finished for run in c.runs_started[runs:])
                    and "class_password" not in c.widgets
                    or "lang" in c.widgets
                ),
                120,
            )
            waits.append(time.perf_counter() - sent)
        finally:
            await client.close()
        await asyncio.sleep(3)


async def attack(url: str, sessions: int, addresses: int, seconds: float):
    answers, times, waits = [], [], []
    start = time.perf_counter()
    deadline = start + seconds
    await asyncio.gather(
        *(guesser(url, f"127.0.1.{1 + i % addresses}", deadline, answers, times) for i in range(sessions)),
        student(url, deadline, waits),
    )
    return answers, times, waits, time.perf_counter() - start


async def single(url: str, guess: str, source: str) -> float:
    client = await opened(url, source)
    try:
        runs = len(client.runs_started)
        sent = await client.submit(guess)
        await client.wait_for(lambda c: any(run in c.finished for run in c.runs_started[runs:]), 60)
        return time.perf_counter() - sent
    finally:
        await client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--addresses", type=int, default=1, help="how many computers the sessions come from")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    os.environ.update(ATTNVIZ_PASSWORD=PASSWORD, HF_HUB_OFFLINE="1")
    with AppServer(extra_args=["--server.maxUploadSize", "1"]) as server:
        rounds = [
            (
                asyncio.run(single(server.url, PASSWORD, f"127.0.0.{60 + i}")),
                asyncio.run(single(server.url, "not-it", f"127.0.0.{70 + i}")),
            )
            for i in range(5)
        ]
        right, wrong = (sorted(r[k] for r in rounds)[2] for k in (0, 1))  # medians, alternating
        answers, times, waits, wall = asyncio.run(attack(server.url, args.sessions, args.addresses, args.seconds))
    kinds = {kind: sum(1 for _, k in answers if k == kind) for kind in ("wrong", "busy", "locked", "other")}
    looked_at = kinds["wrong"]  # busy and locked answers never compare the password
    print(f"{args.sessions} sessions guessing for {wall:.1f} s from {args.addresses} address(es)")
    print(f"  answers: {len(answers)} ({', '.join(f'{k} {v}' for k, v in kinds.items())})")
    print(f"  passwords compared: {looked_at / wall:.2f} per second overall")
    if times:
        times.sort()
        print(f"  a guess's answer: median {times[len(times) // 2]:.2f} s, longest {times[-1]:.2f} s")
    print(f"  alone (median of 5, alternating): a right answer {right:.2f} s, a wrong answer {wrong:.2f} s")
    print(
        f"  a student with the right password, during the guessing: {', '.join(f'{w:.2f} s' for w in waits) or 'none'}"
    )


if __name__ == "__main__":
    main()
