"""The probe reads each distribution's metadata headers once, and gives what a full parse gives."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from types import ModuleType

import pytest

PROBE = Path(__file__).resolve().parents[2] / "repro" / "_probe.py"


@pytest.fixture
def probe() -> ModuleType:
    """_probe.py as the child runs it: a file of its own, not a module of the repro package."""
    spec = importlib.util.spec_from_file_location("_probe_under_test", PROBE)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))


def test_every_installed_distribution_reads_as_a_full_parse_does(probe: ModuleType) -> None:
    found = probe.installed()
    assert found
    for key, (name, dist, headers) in found.items():
        assert name == dist.metadata["Name"] and key == probe._canonical(name)
        assert headers["Version"] == dist.version
        assert probe._requires(found[key]) == list(dist.requires or ())


def test_folded_headers_a_body_and_an_egg_info(probe: ModuleType, site: Path) -> None:
    info = site / "folded-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: folded\nVersion: 1.0\nSummary: one\n  two\n"
        "Requires-Dist: eggy\nRequires-Dist: absent ; extra == 'x'\n\n"
        "A long description.\n\nName: not-a-header\nVersion: 9\n"
    )
    egg = site / "eggy.egg-info"
    egg.mkdir()
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.1\nName: eggy\nVersion: 2.0\n\nbody\n")
    (egg / "requires.txt").write_text("plain>=1\n\n[test]\npytest\n")
    plain = site / "plain-3.dist-info"
    plain.mkdir()
    (plain / "METADATA").write_text("Metadata-Version: 2.1\nName: plain\nVersion: 3\n")
    found = probe.installed()
    for key in ("folded", "eggy", "plain"):
        dist = metadata.distribution(key)
        assert found[key].headers["Version"] == dist.version
        assert found[key].headers["Summary"] == dist.metadata["Summary"]
        assert probe._requires(found[key]) == list(dist.requires or ())
    assert probe.closure("folded", found) == ["folded", "eggy", "plain"]
