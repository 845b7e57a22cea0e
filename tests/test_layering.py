"""The architecture's guards: the library never imports Streamlit or the app's glue; pages keep no caches."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = sorted((ROOT / "attnviz").rglob("*.py"))


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_library_never_imports_streamlit_or_the_ui(path):
    bad = {name for name in imported_modules(path) if name.split(".")[0] in ("streamlit", "ui", "pages")}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", sorted((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"], ids=lambda p: p.name)
def test_pages_keep_no_cache_of_their_own(path):
    """One model cache and one memo, in ui/session.py: a page never decorates with st.cache_*."""
    assert "st.cache_" not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", sorted((ROOT / "attnviz" / "figures").glob("*.py")), ids=lambda p: p.name)
def test_figures_never_run_a_model(path):
    """Figure builders take arrays: they import neither torch nor the models."""
    bad = {name for name in imported_modules(path) if name.split(".")[0] == "torch" or "models" in name.split(".")}
    source = path.read_text(encoding="utf-8")
    assert not bad and "from ..models" not in source and "import torch" not in source, path.name
