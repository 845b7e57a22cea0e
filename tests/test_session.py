"""The app's model session: a loaded model is moved out of the per-rerun garbage collection."""

import gc

import pytest

from ui import session


class FakeModel:
    """Stands in for a loaded model: a container the GC tracks, with a cycle like torch modules have."""

    def __init__(self):
        self.parts = [self]


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()  # leave the process as the other tests expect it


def tracked(obj) -> bool:
    return any(o is obj for o in gc.get_objects())


def test_freeze_moves_live_objects_out_of_the_collectors_reach(unfrozen):
    model = FakeModel()
    assert tracked(model)
    session.freeze_loaded_objects()
    assert gc.get_freeze_count() > 0
    assert not tracked(model)  # gc.collect() after every rerun no longer walks it
    later = FakeModel()
    assert tracked(later)  # what a rerun creates is still collected


def test_get_model_freezes_what_it_loaded(unfrozen, monkeypatch):
    loaded = FakeModel()
    monkeypatch.setattr(session, "load_model", lambda name: loaded)
    session.get_model.clear()
    try:
        assert session.get_model("fake-model-for-test") is loaded
        assert not tracked(loaded)
    finally:
        session.get_model.clear()
