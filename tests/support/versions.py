"""What the code supports (pyproject.toml's ranges) against what is installed and what requirements.lock pins.

One source for the ranges: the ``dependencies`` and ``dev`` extra of pyproject.toml, read as written (not the
metadata of the last install, which can be older than the file).
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
FIX = "run `make install` (it installs the versions in requirements.lock)"


def declared() -> dict[str, Requirement]:
    """Every direct requirement of the app and its tests, by canonical name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    lines = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def locked() -> dict[str, Version]:
    """requirements.lock's pins, by canonical name."""
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
        if match:
            pins[canonicalize_name(match[1])] = Version(match[2])
    return pins


def installed(names) -> dict[str, Version | None]:
    found = {}
    for name in names:
        try:
            found[name] = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def out_of_range(versions: dict[str, Version | None], requirements: dict[str, Requirement]) -> list[str]:
    """One line per package whose version lies outside what the code supports, saying what to run."""
    problems = []
    for name, version in versions.items():
        requirement = requirements[name]
        if version is None:
            problems.append(f"{name} is not installed; attnviz needs {name}{requirement.specifier}: {FIX}")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{name} {version} is installed, but attnviz supports {name}{requirement.specifier}: {FIX}")
    return problems


# The two whose internals the code leans on (the attention interface; widget state and query parameters).
CHECKED_AT_START = ("transformers", "streamlit")


def startup_problems() -> list[str]:
    requirements = declared()
    return out_of_range(installed(CHECKED_AT_START), {n: requirements[n] for n in CHECKED_AT_START})
