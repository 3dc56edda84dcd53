"""The hot path runs compiled: each module with a .pxd is loaded as a C extension built from
its sources as they are now (a stale build would run old code)."""
from __future__ import annotations

import importlib
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

import scanner
from scanner.exchanges import NAMES

PACKAGE = Path(scanner.__file__).parent
HOT = sorted(PACKAGE.rglob("*.pxd"))


def test_the_hot_path_has_compiled_modules():
    names = {".".join(pxd.relative_to(PACKAGE).with_suffix("").parts) for pxd in HOT}
    feeds = {f"exchanges.{name}.feed" for name in NAMES}
    assert {"book", "feeds.base", "feeds.runner", "engine.spread", *feeds} <= names


@pytest.mark.parametrize("pxd", HOT, ids=lambda path: path.relative_to(PACKAGE).with_suffix("").as_posix())
def test_module_is_a_current_c_extension(pxd: Path):
    name = ".".join(pxd.relative_to(PACKAGE.parent).with_suffix("").parts)
    module = importlib.import_module(name)
    built = Path(module.__file__)
    assert built.name.endswith(tuple(EXTENSION_SUFFIXES)), f"{name} is not compiled: run `make test`"
    sources = [pxd, *(path for path in (pxd.with_suffix(".pyx"), pxd.with_suffix(".py")) if path.exists())]
    newest = max(sources, key=lambda path: path.stat().st_mtime)
    assert built.stat().st_mtime >= newest.stat().st_mtime, (
        f"{name} was built before {newest.name} last changed: run `make test` (it rebuilds)")
