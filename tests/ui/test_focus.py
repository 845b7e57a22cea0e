"""ui.focus: a run that has sent its map in focus waits while other runs have not sent theirs, within bounds."""

import threading
import time
from types import SimpleNamespace

import pytest

from ui.focus import FocusFirst


def until(condition) -> None:
    """Poll until ``condition()`` holds (a sequencing aid, not a timing check: a bug shows as a hang)."""
    while not condition():
        time.sleep(0.001)


def test_alone_a_run_never_waits():
    focus = FocusFirst(max_wait=3600)
    with focus.run() as turn:
        assert focus.pending == 1
        assert turn.sent() is False
        assert focus.pending == 0


def test_alone_a_run_gives_the_browser_a_moment_to_draw_its_map_unless_it_holds_a_heavy_slot(monkeypatch):
    import ui.focus

    pauses = []
    monkeypatch.setattr(ui.focus, "time", SimpleNamespace(sleep=pauses.append))  # this module's clock only
    focus = FocusFirst(max_wait=3600, draw_first=0.02)
    with focus.run() as turn:
        assert turn.sent() is False and pauses == [0.02]  # the overview and the grid follow after the pause
        assert turn.wait() is False and pauses == [0.02]  # once, after the map
    with focus.run() as turn:
        assert turn.sent(wait=False) is False and pauses == [0.02]  # a long text's run holds a slot: no pause
    other_sent, other_may_end = threading.Event(), threading.Event()

    def other():  # another session's run, past its map, still drawing the rest
        with focus.run() as other_turn:
            other_turn.sent(wait=False)
            other_sent.set()
            other_may_end.wait()

    thread = threading.Thread(target=other)
    thread.start()
    other_sent.wait()
    with focus.run() as turn:
        assert focus.running == 2 and turn.sent() is False and pauses == [0.02]  # not alone: no pause
    other_may_end.set()
    thread.join()
    assert focus.running == 0


def test_a_run_that_sent_its_map_waits_until_the_others_have_sent_theirs(monkeypatch):
    import ui.focus

    pauses = []
    monkeypatch.setattr(ui.focus, "time", SimpleNamespace(sleep=pauses.append))
    focus = FocusFirst(max_wait=3600, draw_first=0.02)
    other_started, other_may_send, waited = threading.Event(), threading.Event(), []

    def other():
        with focus.run() as turn:
            other_started.set()
            other_may_send.wait()
            turn.sent()

    thread = threading.Thread(target=other)
    thread.start()
    other_started.wait()

    def this():
        with focus.run() as turn:
            waited.append(turn.sent())

    this_run = threading.Thread(target=this)
    this_run.start()
    until(lambda: focus.waiting == 1)
    assert this_run.is_alive() and not waited  # held back while the other run's map is not out
    other_may_send.set()
    this_run.join()
    thread.join()
    assert waited == [True] and focus.pending == 0 and focus.waiting == 0
    assert pauses == []  # this run's map was drawn while it waited; the other was not alone when it sent its own


class StopLike(BaseException):
    """What st.stop() and st.rerun() raise: not an Exception."""


@pytest.mark.parametrize("error", [RuntimeError, StopLike])
def test_a_run_leaves_however_it_ends_and_once(error):
    focus = FocusFirst(max_wait=3600)
    with pytest.raises(error):
        with focus.run():
            raise error("the run ended before its map")
    assert focus.pending == 0
    with focus.run() as turn:
        turn.sent()
        turn.sent()
        turn.leave()
    assert focus.pending == 0


def test_the_wait_is_bounded_and_can_be_skipped():
    focus, off = FocusFirst(max_wait=0.01), FocusFirst(max_wait=0)
    entered, release = threading.Event(), threading.Event()

    def stuck():  # a run that does not send its map
        with focus.run(), off.run():
            entered.set()
            release.wait()

    thread = threading.Thread(target=stuck)
    thread.start()
    entered.wait()
    try:
        with focus.run() as turn:
            assert turn.sent() is True  # waited, then went on
        with focus.run() as turn:
            assert turn.sent(wait=False) is False
        with off.run() as turn:
            assert off.pending == 2 and turn.sent() is False  # max_wait 0: never waits
    finally:
        release.set()
        thread.join()
    assert focus.pending == 0 and off.pending == 0


def test_a_run_inside_a_run_of_the_same_thread_is_the_outer_one():
    # the page's fragment opens a run inside the page's own during a full run, and alone on a fragment rerun
    focus = FocusFirst(max_wait=3600)
    with focus.run() as page:
        with focus.run() as fragment:
            assert fragment is page and focus.pending == 1
            fragment.sent()
            assert focus.pending == 0
        assert focus.pending == 0
    with focus.run() as fragment:
        assert focus.pending == 1
    assert focus.pending == 0


def test_a_run_that_sent_its_map_waits_again_for_runs_that_started_since():
    focus = FocusFirst(max_wait=3600)
    newcomer_started, newcomer_may_send, resumed = threading.Event(), threading.Event(), threading.Event()

    def newcomer():
        with focus.run() as turn:
            newcomer_started.set()
            newcomer_may_send.wait()
            turn.sent()

    def this():
        with focus.run() as turn:
            assert turn.wait() is False  # still pending itself: nothing to wait for
            assert turn.sent() is False  # alone so far
            threading.Thread(target=newcomer).start()
            newcomer_started.wait()
            assert turn.wait() is True
            resumed.set()

    this_run = threading.Thread(target=this)
    this_run.start()
    until(lambda: focus.waiting == 1)
    assert not resumed.is_set()
    newcomer_may_send.set()
    this_run.join()
    assert resumed.is_set()
    until(lambda: focus.pending == 0)
