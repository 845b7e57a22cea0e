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


def _module_path(module: str) -> Path | None:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py") if path.with_suffix(".py").exists() else (path / "__init__.py" if path.is_dir() else None)


def _reached_modules(path: Path) -> set[str]:
    """Every module a file imports at its top level, following attnviz's own modules through (package __init__
    files of subpackages included, the root ``attnviz/__init__`` not: it gathers the public API)."""
    seen, todo, reached = set(), [path], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        tree = ast.parse(current.read_text(encoding="utf-8"))
        package = ".".join(current.relative_to(ROOT).with_suffix("").parts)
        if current.name != "__init__.py":
            package = package.rsplit(".", 1)[0]
        for node in tree.body:  # top level only: an import inside a function runs when it is called
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                names = [base] + [f"{base}.{alias.name}" for alias in node.names]
            for name in names:
                reached.add(name)
                target = _module_path(name) if name.startswith("attnviz.") else None
                if target is not None:
                    todo.append(target)
    return reached


@pytest.mark.parametrize("path", sorted((ROOT / "attnviz" / "figures").glob("*.py")), ids=lambda p: p.name)
def test_figures_reach_no_model_and_no_torch_through_other_modules(path):
    """Not directly and not through what they import (masks, text, i18n): a figure draws arrays, never a forward."""
    reached = _reached_modules(path)
    assert not {name for name in reached if name.split(".")[0] == "torch" or name.startswith("attnviz.models")}, path.name
