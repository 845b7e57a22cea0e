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
    return (
        path.with_suffix(".py")
        if path.with_suffix(".py").exists()
        else (path / "__init__.py" if path.is_dir() else None)
    )


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
                    base = ".".join(
                        package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else [])
                    )
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
    assert not {name for name in reached if name.split(".")[0] == "torch" or name.startswith("attnviz.models")}, (
        path.name
    )


# ------------------------------------------------------------------------------------------ every import, one way
PACKAGES = ("attnviz", "ui")
MODULES = {
    ".".join(
        path.relative_to(ROOT).with_suffix("").parts[:-1]
        if path.name == "__init__.py"
        else path.relative_to(ROOT).with_suffix("").parts
    ): path
    for package in PACKAGES
    for path in sorted((ROOT / package).rglob("*.py"))
}


def _imports_of(module: str) -> set[str]:
    """The attnviz/ui modules ``module`` imports anywhere in its file: at the top, inside functions, under
    TYPE_CHECKING too (a function-level import is still a dependency; it only runs later). ``from X import name``
    counts as importing ``X.name`` when that is a module, else ``X``; a package's ``__init__`` is its own node."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        for name in names:
            while name and name not in MODULES:  # attnviz.models.base.hook_name -> attnviz.models.base
                name = name.rpartition(".")[0]
            if name and name != module and name != "attnviz":  # the root __init__ gathers the public API
                found.add(name)
    return found


GRAPH = {module: _imports_of(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle_anywhere_in_the_library_or_the_ui():
    """capture -> models -> seq2seq -> capture and hf <-> hf_encdec made a five-module circle, hidden from a test
    that read top-level imports only."""
    assert _cycles(GRAPH) == []


CAPTURE_LAYER = ("attnviz.capture", "attnviz.tiles", "attnviz.decoding")


@pytest.mark.parametrize("module", CAPTURE_LAYER)
def test_the_capture_layer_imports_nothing_above_it(module):
    """Captures are made below the analyses, figures and pages that read them."""
    above = ("attnviz.analysis", "attnviz.figures", "attnviz.teaching", "attnviz.i18n", "ui")
    assert not {name for name in GRAPH[module] if name.startswith(above)}, sorted(GRAPH[module])


def test_the_compose_kernel_stands_alone():
    """DCMHA's compose is a kernel: the model and the capture layer's map rebuilding both call it."""
    assert GRAPH["attnviz.compose"] == set()


def test_the_attention_kernel_sits_below_the_models():
    """BERT's and the Hugging Face adapters' one recorded-attention kernel reads hook points and the user's score
    modifications (masks), nothing else."""
    assert GRAPH["attnviz.recorded_attention"] <= {"attnviz.hooks", "attnviz.masks"}


ADAPTERS = (
    "attnviz.models.bert",
    "attnviz.models.hf",
    "attnviz.models.hf_encdec",
    "attnviz.models.seq2seq",
    "attnviz.models.char_lm",
)


@pytest.mark.parametrize("module", ADAPTERS)
def test_no_adapter_imports_another_adapter(module):
    """What two adapters share lives in a module of its own (models/base, hf_attention, hf_families)."""
    assert not set(GRAPH[module]) & (set(ADAPTERS) - {module}), sorted(GRAPH[module])


@pytest.mark.parametrize("module", [m for m in MODULES if m.startswith("attnviz.models")])
def test_models_import_nothing_above_them(module):
    """A model computes tensors; captures, analyses and figures are made from them above."""
    assert not {
        name for name in GRAPH[module] if name.startswith(CAPTURE_LAYER + ("attnviz.analysis", "attnviz.figures"))
    }


def _top_level_imports(path: Path) -> set[str]:
    return {name.split(".")[0] for name in imported_modules(path)}


def _path_insertions(path: Path) -> list[str]:
    """The source of every sys.path.insert / append call in the file."""
    calls = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.path.insert", "sys.path.append"):
            calls.append(ast.unparse(node))
    return calls


BENCHMARKS = sorted((ROOT / "benchmarks").glob("*.py"))
TESTS = sorted((ROOT / "tests").rglob("*.py"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.name)
def test_a_benchmark_never_imports_a_test(path):
    """What both need (a server, a protocol client, a browser drag) lives in harness/; test helpers in tests/support."""
    test_modules = {p.stem for p in TESTS}
    assert not _top_level_imports(path) & test_modules, path.name
    assert not [call for call in _path_insertions(path) if "tests" in call], path.name


@pytest.mark.parametrize("path", TESTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_test_never_imports_a_benchmark(path):
    assert not _top_level_imports(path) & {p.stem for p in BENCHMARKS}, path.relative_to(ROOT)
    assert not [call for call in _path_insertions(path) if "benchmarks" in call], path.relative_to(ROOT)


def test_the_pre_commit_hooks_are_make_lints_checks():
    """.pre-commit-config.yaml runs what `make lint` and CI run, from the locked .venv: nothing fetched."""
    import yaml

    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    assert [repo["repo"] for repo in config["repos"]] == ["local"]
    hooks = [hook["entry"].split() for hook in config["repos"][0]["hooks"]]
    lint = (ROOT / "Makefile").read_text(encoding="utf-8").split("\nlint:", 1)[1].split("\n\n", 1)[0]
    commands = [line.split() for line in lint.splitlines()[1:]]  # "$(BIN)/ruff check ." ...
    assert [[word.replace("$(BIN)/", ".venv/bin/") for word in command if word != "."] for command in commands] == hooks


def test_the_architecture_docs_import_tables_are_what_the_code_imports():
    """docs/architecture.md's pages -> modules tables are read from the import lines, never kept by hand."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("import_tables", ROOT / "scripts" / "import_tables.py")
    assert spec is not None and spec.loader is not None
    import_tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(import_tables)
    assert import_tables.documented() == import_tables.tables(), "run: python scripts/import_tables.py --write"
