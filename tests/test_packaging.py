"""What a plugin author installs: calsync.testing and py.typed are in the wheel and the sdist, calsync.testing is
never auto-loaded into other projects' pytest runs, and the todo.txt plugin is not swallowed by calsync's own
distribution."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

BUILD = """
import sys
from setuptools import build_meta
out = sys.argv[1]
names = build_meta.build_wheel(out), build_meta.build_sdist(out)
print("BUILT", *names)
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[set[str], set[str], str]:
    """calsync built from a copy of the source tree (the checkout stays clean): wheel names, sdist names, and the
    wheel's entry_points.txt."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".venv", "build")
    for name in ("calsync", "plugins"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(out)], cwd=source, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    built_line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith("BUILT "))
    wheel_name, sdist_name = built_line.split()[1:]
    with zipfile.ZipFile(out / wheel_name) as wheel:
        names = set(wheel.namelist())
        entry_points = next(wheel.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt"))
    with tarfile.open(out / sdist_name) as sdist:
        sdist_names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    return names, sdist_names, entry_points


def test_the_wheel_and_the_sdist_ship_the_plugin_kit(built):
    wheel, sdist, _ = built
    kit = ["__init__.py", "contract.py", "harness.py", "memory.py", "samples.py"]
    scaffold = ["provider.py.tmpl", "__init__.py.tmpl", "py.typed.tmpl"]
    for name in [
        *(f"calsync/testing/{n}" for n in kit),
        *(f"calsync/scaffold/template/src/calsync_NAME/{n}" for n in scaffold),
        "calsync/scaffold/template/tests/test_contract.py.tmpl",
        "calsync/py.typed",
        "calsync/api.py",
    ]:
        assert name in wheel, name
        assert name in sdist, name


def test_the_todotxt_plugin_is_a_distribution_of_its_own(built):
    wheel, _, _ = built
    assert not [name for name in wheel if "todotxt" in name]


def test_calsync_testing_is_opt_in(built):
    _, _, entry_points = built
    assert "pytest11" not in entry_points  # an entry point there would load it into every project's pytest run
    assert "[calsync]" in entry_points


def test_a_project_gets_calsync_testing_only_when_it_asks(pytester):
    pytester.makepyfile(test_uses_it="def test_it(sync_harness):\n    pass\n")
    without = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    assert "fixture 'sync_harness' not found" in without.stdout.str()
    pytester.makeconftest('pytest_plugins = ["calsync.testing"]\n')
    pytester.makepyfile(test_uses_it="def test_it(sync_harness):\n    pass\n")
    asked = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    assert "fixture 'provider' not found" in asked.stdout.str()  # the harness is there, asking for a provider
