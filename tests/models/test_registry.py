"""The model registry (attnviz/models/__init__.py): every family file declares one FolderFormat and the registry
offers each folder to them in order. A folder's kind comes from the same entry that loads it, so a model menu's
kind and the loaded model's kind never disagree."""

from __future__ import annotations

import importlib
import json
import shutil

import pytest

from attnviz import models
from attnviz.models import FOLDER_FORMATS, REGISTRY, ModelNotFound, kind_of, load_model
from attnviz.models.base import AttentionModel, FolderFormat

FAMILY_FILES = ("char_lm", "seq2seq", "hf_encdec", "bert", "hf_vision", "hf")


def test_each_family_file_declares_one_entry_and_the_registry_holds_exactly_those():
    entries = [importlib.import_module(f"attnviz.models.{name}").FOLDER_FORMAT for name in FAMILY_FILES]
    assert all(isinstance(entry, FolderFormat) for entry in entries)
    assert list(FOLDER_FORMATS) == entries
    assert len({entry.name for entry in entries}) == len(entries)


@pytest.mark.parametrize("name", list(REGISTRY))
def test_a_shipped_models_kind_is_what_its_loaded_model_says(name):
    model = load_model(name, device="cpu")
    assert isinstance(model, AttentionModel)
    assert REGISTRY[name].kind == kind_of(name) == model.kind
    assert model.name == name


def test_a_copied_shipped_folder_loads_by_path_with_the_same_kind(tmp_path):
    """A user's copy of a DCFormer checkpoint (no model_type in its config) is a decoder; it was called an encoder
    because the kind was read from model_type alone."""
    folder = tmp_path / "my-dcformer"
    shutil.copytree(REGISTRY["dcformer-tiny"].folder(), folder)
    assert kind_of(str(folder)) == "decoder"
    model = load_model(str(folder), device="cpu")
    assert (model.kind, model.name, model.use_dcmha) == ("decoder", "my-dcformer", True)


@pytest.mark.parametrize(
    ("config", "problem"),
    [(None, "no config.json"), ("{not json", "config.json cannot be read"), ("[1, 2]", "cannot be read")],
)
def test_a_folder_that_is_not_a_model_is_refused_in_a_sentence(tmp_path, config, problem):
    if config is not None:
        (tmp_path / "config.json").write_text(config, encoding="utf-8")
    with pytest.raises(ModelNotFound, match=problem):
        load_model(str(tmp_path), device="cpu")


def test_a_refused_family_comes_out_as_model_not_found(tmp_path):
    """hf.py's one-line refusal reaches the pages as ModelNotFound, the error they show as it is."""
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mamba"}), encoding="utf-8")
    with pytest.raises(ModelNotFound, match="mamba"):
        load_model(str(tmp_path), device="cpu")
    assert kind_of(str(tmp_path)) == "decoder"


def test_only_shipped_folders_that_exist_are_offered():
    assert models.DEFAULT_MODEL in REGISTRY
    assert all(
        entry.name == models.DEFAULT_MODEL or (entry.folder() / "config.json").exists() for entry in REGISTRY.values()
    )
    assert models.available_models(("encoder-decoder",)) == [
        n for n in REGISTRY if REGISTRY[n].kind == "encoder-decoder"
    ]
