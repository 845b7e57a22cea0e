"""The installed packages are the locked ones, the lock lies inside what pyproject.toml supports, and a version
outside it is named with what to run (tests/support/versions.py; conftest stops the session on it)."""

from __future__ import annotations

import pytest
import subprocess
import sys

from packaging.version import Version

from versions import CHECKED_AT_START, FIX, LOCK, ROOT, declared, installed, locked, out_of_range


def test_every_direct_requirement_is_locked_inside_its_supported_range():
    requirements, pins = declared(), locked()
    for name, requirement in requirements.items():
        if name == "torch":  # installed by the Makefile's own line (a CPU or GPU build), never from the lock
            assert name not in pins
            continue
        assert name in pins, f"{name} is missing from {LOCK.name}: run `make lock`"
        assert requirement.specifier.contains(pins[name]), f"{LOCK.name} pins {name} {pins[name]} outside {requirement}"


def test_the_installed_packages_are_the_locked_ones():
    pins = locked()
    found = installed(pins)
    differ = {name: (str(found[name]), str(pin)) for name, pin in pins.items() if found[name] != pin}
    assert not differ, f"installed (got, locked): {differ}; {FIX}"


def test_transformers_and_streamlit_outside_the_supported_range_are_named_with_what_to_run():
    requirements = declared()
    assert out_of_range(installed(CHECKED_AT_START), requirements) == []
    # The versions the code cannot run on: transformers 4 (no attention interface) and the Streamlit before 1.67.
    old = {"transformers": Version("4.57.1"), "streamlit": Version("1.66.0")}
    problems = out_of_range(old, requirements)
    assert len(problems) == 2
    for problem, name in zip(problems, old):
        assert problem.startswith(
            f"{name} {old[name]} is installed, but attnviz supports {name}{requirements[name].specifier}"
        )
        assert problem.endswith("run `make install` (it installs the versions in requirements.lock)")
    missing = out_of_range({"streamlit": None}, requirements)
    assert missing == [
        f"streamlit is not installed; attnviz needs streamlit{requirements['streamlit'].specifier}: {FIX}"
    ]


@pytest.mark.slow  # several seconds: make test runs it, make test-fast does not
def test_a_session_on_an_unsupported_transformers_stops_at_once_with_the_reason(tmp_path):
    """conftest's check, run as pytest runs it: a fake transformers 4 first on the path stops the session before
    any test, with exit code 3 and the line to run."""
    fake = tmp_path / "site" / "transformers-4.57.1.dist-info"
    fake.mkdir(parents=True)
    (fake / "METADATA").write_text("Metadata-Version: 2.1\nName: transformers\nVersion: 4.57.1\n", encoding="utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            str(ROOT / "tests" / "test_versions.py"),
            "-k",
            "lock_inside",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        timeout=300,
    )
    assert result.returncode == 3, result.stdout + result.stderr
    supported = declared()["transformers"].specifier
    assert (
        f"transformers 4.57.1 is installed, but attnviz supports transformers{supported}"
        in result.stdout + result.stderr
    )
    assert "make install" in result.stdout + result.stderr
