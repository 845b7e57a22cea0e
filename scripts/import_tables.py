"""docs/architecture.md's two import tables (pages -> modules, ui/ -> attnviz/), read from the import lines.

    python scripts/import_tables.py           # print them
    python scripts/import_tables.py --write   # rewrite them in docs/architecture.md, between their markers

tests/test_layering.py fails when the docs' tables differ from what this reads, naming this command.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
START, END = "<!-- import tables: scripts/import_tables.py -->", "<!-- end of import tables -->"
# ui/ modules nearly every page uses: named once above the table, not in each row
SHARED = ("controls", "errors", "figures", "lang", "nav", "offered", "session", "state", "url_state")


def imports(path: Path) -> tuple[set[str], set[str]]:
    """(ui modules, attnviz modules) a file imports, as names relative to their package."""
    ui, library = set(), set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = ("ui." if node.level == 1 and path.parent.name == "ui" else "") + (node.module or "")
            if node.level in (0, 1) and base:  # a name imported from a package is its submodule when there is one
                names = [f"{base}.{a.name}" if _module(f"{base}.{a.name}") else base for a in node.names]
        for name in names:
            if name.startswith("ui.") and _module(name.split(".", 2)[0] + "." + name.split(".")[1]):
                ui.add(name.split(".")[1])
            elif name.startswith("attnviz.") and _module(name):
                library.add(name.removeprefix("attnviz."))
    return ui, library


def _module(dotted: str) -> bool:
    """A module or package of this repository."""
    path = ROOT / Path(*dotted.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def listed(names) -> str:
    return ", ".join(f"`{name}`" for name in sorted(names)) or "—"


def tables() -> str:
    rows = [
        "| file | shared `ui/` modules | its own `ui/` modules | `attnviz/` modules |",
        "|---|---|---|---|",
    ]
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        ui, library = imports(path)
        shared, own = [m for m in ui if m in SHARED], [m for m in ui if m not in SHARED]
        rows.append(f"| `{path.relative_to(ROOT)}` | {listed(shared)} | {listed(own)} | {listed(library)} |")
    rows += [
        "",
        "The `ui/` modules reach the rest of the library:",
        "",
        "| `ui/` module | `attnviz/` modules it imports |",
    ]
    rows.append("|---|---|")
    quiet = []
    for path in sorted((ROOT / "ui").glob("*.py")):
        if path.name == "__init__.py":
            continue
        library = imports(path)[1]
        if library:
            rows.append(f"| `{path.name}` | {listed(library)} |")
        else:
            quiet.append(f"`{path.name}`")
    rows.append(f"| {', '.join(quiet)} | — |")
    return "\n".join(rows)


def documented() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text.split(START, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the tables in docs/architecture.md")
    args = parser.parse_args(argv)
    if not args.write:
        print(tables())
        return 0
    text = DOC.read_text(encoding="utf-8")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    DOC.write_text(f"{before}{START}\n{tables()}\n{END}{after}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
