"""The class gate's limiter (ui/gate.py): one line for every password try on the server, whatever tab or address
it comes from. Time is virtual here (the limiter takes its clock and sleep), so what is checked is the schedule the
limiter gives, not how fast this machine is; the students-arriving-together test runs real threads."""

from __future__ import annotations

import logging
import threading

import pytest

from ui.gate import GateSettings, GuessLimiter


class Virtual:
    """A clock that moves only when someone sleeps; each try is run from its own arrival time."""

    def __init__(self):
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def tries(limiter, clock, arrivals, right=False):
    """Run tries (arrival time, address) in arrival order; (outcome, when it was looked at, when it was answered)."""
    results = []
    for arrival, address in arrivals:
        clock.now = arrival
        looked = {}

        def check():
            looked["at"] = clock.now
            return right

        outcome = limiter.attempt(address, check)
        results.append((outcome, looked.get("at"), clock.now))
    return results


def test_many_addresses_guessing_at_once_get_about_one_answer_a_second():
    """20 addresses (100 sessions) guess together, again and again: after each address's first try, the server
    compares no more than burst + rate·t wrong guesses by time t (the old gate slept one second per session: 100
    guesses a second)."""
    clock = Virtual()
    settings = GateSettings(max_wait=10_000)
    limiter = GuessLimiter(settings, clock.clock, clock.sleep)
    addresses = [f"10.0.0.{i}" for i in range(20)]
    results = tries(limiter, clock, [(0.0, address) for _ in range(5) for address in addresses])
    assert all(outcome == "wrong" for outcome, _, _ in results)
    looked = sorted(at for _, at, _ in results)
    for t in (0.5, 5, 20, 60, 79):
        assert sum(at <= t for at in looked) <= len(addresses) + settings.burst + 1 + settings.rate * t
    assert looked[-1] >= len(looked) - len(addresses) - settings.burst - 1  # the last waited its turn


def test_a_student_gets_in_at_once_while_others_guess():
    clock = Virtual()
    limiter = GuessLimiter(GateSettings(max_wait=10_000), clock.clock, clock.sleep)
    tries(limiter, clock, [(0.0, f"10.0.0.{i}") for _ in range(3) for i in range(10)])  # a long line of guessers
    ((outcome, looked, answered),) = tries(limiter, clock, [(1.0, "10.0.0.200")], right=True)
    assert outcome == "ok" and looked == 1.0 and answered == 2.0  # not behind the line: one second, as always
    ((outcome, looked, _),) = tries(limiter, clock, [(3.0, "10.0.0.201")], right=False)
    ((outcome, looked, _),) = tries(limiter, clock, [(5.0, "10.0.0.201")], right=True)
    assert outcome == "ok" and looked > 5.0  # who mistyped waits in the line like everyone who guessed wrong


def test_a_right_and_a_wrong_answer_take_the_same_time():
    clock = Virtual()
    limiter = GuessLimiter(GateSettings(), clock.clock, clock.sleep)
    ((wrong, looked_wrong, answered_wrong),) = tries(limiter, clock, [(0.0, "a")])
    ((right, looked_right, answered_right),) = tries(limiter, clock, [(100.0, "b")], right=True)
    assert (wrong, right) == ("wrong", "ok")
    assert (
        answered_wrong - looked_wrong == pytest.approx(answered_right - looked_right) == GateSettings().answer_seconds
    )


def test_one_address_gets_one_try_a_second_however_many_tabs_it_opens():
    clock = Virtual()
    limiter = GuessLimiter(GateSettings(burst=100, max_wait=1_000), clock.clock, clock.sleep)
    looked = sorted(at for _, at, _ in tries(limiter, clock, [(0.0, "10.0.0.9")] * 10))
    assert all(b - a >= 1.0 - 1e-9 for a, b in zip(looked, looked[1:]))


def test_many_wrong_tries_lock_an_address_out_and_the_teacher_sees_it(caplog):
    clock = Virtual()
    settings = GateSettings(lockout_after=5)
    limiter = GuessLimiter(settings, clock.clock, clock.sleep)
    with caplog.at_level(logging.WARNING, logger="attnviz.gate"):
        outcomes = [o for o, _, _ in tries(limiter, clock, [(float(10 * i), "10.0.0.7") for i in range(6)])]
    assert outcomes == ["wrong"] * 5 + ["locked"]
    assert any("10.0.0.7 locked out" in record.getMessage() for record in caplog.records)
    (other,) = tries(limiter, clock, [(60.0, "10.0.0.8")], right=True)  # another computer is not locked out
    assert other[0] == "ok"
    (later,) = tries(limiter, clock, [(50.0 + settings.lockout_seconds + 1, "10.0.0.7")], right=True)
    assert later[0] == "ok"  # and the lockout ends


def test_a_line_longer_than_the_longest_wait_is_told_to_come_back():
    clock = Virtual()
    limiter = GuessLimiter(GateSettings(burst=0, max_wait=5), clock.clock, clock.sleep)
    tries(limiter, clock, [(0.0, f"a{i}") for i in range(12)])  # every address's first try: wrong, at once
    outcomes = [o for o, _, _ in tries(limiter, clock, [(0.0, f"a{i}") for i in range(12)])]  # the line
    assert outcomes[:5] == ["wrong"] * 5 and outcomes.count("busy") >= 6


def test_the_addresses_it_remembers_are_bounded():
    clock = Virtual()
    limiter = GuessLimiter(GateSettings(max_addresses=3, max_wait=1_000), clock.clock, clock.sleep)
    tries(limiter, clock, [(float(i), f"a{i}") for i in range(10)])
    assert len(limiter._addresses) == 3


def test_a_class_arriving_together_all_get_in():
    """30 students type the right password at once (real threads, a fast schedule): every one is let in, none is
    told to come back, because a right answer hands its turn back."""
    limiter = GuessLimiter(GateSettings(rate=20, burst=5, answer_seconds=0.01, per_address_seconds=0.01, max_wait=30))
    outcomes = []

    def student(i):
        outcomes.append(limiter.attempt(f"10.0.1.{i}", lambda: True))

    threads = [threading.Thread(target=student, args=(i,)) for i in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes == ["ok"] * 30
