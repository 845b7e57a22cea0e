"""The app's model session: a loaded model is moved out of the per-rerun garbage collection."""

import gc

import pytest

from ui import offered, session


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
    offered.freeze_loaded_objects()
    assert gc.get_freeze_count() > 0
    assert not tracked(model)  # gc.collect() after every rerun no longer walks it
    later = FakeModel()
    assert tracked(later)  # what a rerun creates is still collected


def test_get_model_freezes_what_it_loaded(unfrozen, monkeypatch):
    loaded = FakeModel()
    monkeypatch.setattr(offered, "load_model", lambda name: loaded)
    monkeypatch.setenv("ATTNVIZ_MODELS", "fake-model-for-test")
    offered._load_offered.clear()
    try:
        assert offered.get_model("fake-model-for-test") is loaded
        assert not tracked(loaded)
    finally:
        offered._load_offered.clear()


# --- which models a browser may pick ---------------------------------------------------------------


@pytest.fixture
def offered_dir(tmp_path, monkeypatch):
    """A folder the operator offers at start-up (``-- --model DIR``); nothing else is offered."""
    folder = tmp_path / "my-bert"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    monkeypatch.setattr(offered.sys, "argv", ["app.py", "--model", str(folder)])
    monkeypatch.delenv("ATTNVIZ_MODELS", raising=False)
    return folder


@pytest.fixture
def loads(monkeypatch):
    """Record every real load instead of loading."""
    calls = []
    monkeypatch.setattr(offered, "load_model", lambda name: calls.append(name) or FakeModel())
    offered._load_offered.clear()
    yield calls
    offered._load_offered.clear()


def test_offered_models_are_the_registry_and_what_the_operator_named(offered_dir, monkeypatch):
    monkeypatch.setenv("ATTNVIZ_MODELS", "/srv/models/a" + offered.os.pathsep + "/srv/models/b/")
    choices = offered.model_choices()
    assert choices[0] == str(offered_dir)  # named at start-up: first, and the default
    assert "/srv/models/a" in choices and "/srv/models/b" in choices
    assert {"all-MiniLM-L6-v2", "dcformer-tiny", "mha-tiny"} <= set(choices)
    assert offered.default_model() == str(offered_dir)


@pytest.mark.parametrize(
    "name",
    [
        "/etc",
        "/",
        "..",
        "../../etc/passwd",
        "~",
        "bert-base-uncased",
        "meta-llama/Llama-3.1-405B",
        "",
        "   ",
        "x" * 5000,
        "all-MiniLM-L6-v2\x00",
        "[log in again](http://evil.example)",
        None,
        3,
    ],
)
def test_anything_else_is_refused_without_loading(offered_dir, loads, name):
    assert offered.canonical_model(name) is None
    with pytest.raises(offered.ModelNotOffered) as error:
        offered.get_model(name)
    assert loads == []
    assert str(name) not in str(error.value) or name in ("", "   ")  # the refusal never repeats the name


def test_every_spelling_of_an_offered_folder_is_one_model(offered_dir, loads, monkeypatch):
    spellings = [
        str(offered_dir),
        str(offered_dir) + "/",
        str(offered_dir) + "//",
        f"{offered_dir}/./",
        f"{offered_dir.parent}//{offered_dir.name}",
    ]
    monkeypatch.chdir(offered_dir.parent)
    spellings += ["my-bert", "./my-bert/"]
    models = {id(offered.get_model(spelling)) for spelling in spellings}
    assert loads == [str(offered_dir)]  # loaded once, under one name
    assert len(models) == 1
    assert offered.get_model("all-MiniLM-L6-v2") is not None and loads[-1] == "all-MiniLM-L6-v2"


def test_a_texts_token_count_is_asked_of_the_tokenizer_once():
    # a page run sizes its capture twice before the forward pass; under load every tokenizer call costs a GIL wait
    import torch

    class Tokenizing(torch.nn.Module):
        calls = 0

        def encode(self, texts):
            Tokenizing.calls += 1
            return type("Encoding", (), {"input_ids": torch.zeros((len(texts), 3 + len(texts[0])), dtype=torch.long)})()

    model, other = Tokenizing(), Tokenizing()
    assert session.encoded_shape(model, ("ab",)) == (1, 5)
    assert session.encoded_shape(model, ("ab",)) == (1, 5) and Tokenizing.calls == 1
    assert session.encoded_shape(model, ("abc",)) == (1, 6) and Tokenizing.calls == 2
    assert session.encoded_shape(other, ("ab",)) == (1, 5) and Tokenizing.calls == 3  # per model


def test_a_long_texts_forward_uses_every_core_only_while_it_is_the_only_one(monkeypatch):
    import threading

    import torch

    from attnviz.capture import get_model
    from attnviz.device import app_threads, torch_threads

    model = get_model("all-MiniLM-L6-v2")
    short, long = ("The cat sat.",), (" ".join(["word"] * 300),)
    monkeypatch.setattr(session.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(session, "app_threads", lambda: 2)
    cache = session.shared_captures()
    assert cache.running == 0
    assert session.forward_threads(model, long) == 4 and session.forward_threads(model, short) == 2
    seen = []
    # inside the cache's compute (this forward itself running): alone, then beside another session's forward
    cache.get_or_compute(("test", 1), lambda: seen.append(session.forward_threads(model, long)) or 1)
    started, release = threading.Event(), threading.Event()
    other = threading.Thread(
        target=lambda: cache.get_or_compute(("test", 2), lambda: started.set() or release.wait(10) or 2)
    )
    other.start()
    started.wait(10)
    try:
        assert cache.running == 1
        cache.get_or_compute(("test", 3), lambda: seen.append(session.forward_threads(model, long)) or 3)
    finally:
        release.set()
        other.join(10)
    assert seen == [4, 2] and cache.running == 0
    for key in (("test", 1), ("test", 2), ("test", 3)):
        cache._lru.pop(key, None)

    before = torch.get_num_threads()
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    assert app_threads() >= 1
