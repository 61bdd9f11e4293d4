"""Bundles made by an earlier repro still verify and read: evidence outlives the tool.

`tests/data/earlier-bundles/` holds a bundle packed by repro as of commit fcf1319
(results stream format 2, records before counts_source, python_ran and the code
state existed, the schemas of that time shipped inside).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from repro import records
from repro.reader import open_bundle

EARLIER = sorted((Path(__file__).parents[1] / "data/earlier-bundles").glob("repro-*.zip"))


@pytest.mark.parametrize("bundle", EARLIER, ids=lambda p: p.name[:30])
def test_an_earlier_bundle_verifies_and_reads(bundle: Path, cli) -> None:
    opened = open_bundle(bundle)
    assert opened.ok, opened.report.problems
    assert opened.results is not None and opened.results.format == 2
    assert opened.metadata is not None and opened.metadata.python_ran is None
    outcomes = {t.id.rsplit("::", 1)[1]: t.outcome.value for t in opened.results.tests if t.outcome}
    assert outcomes == {"test_a": "passed", "test_b": "failed", "test_c": "skipped"}
    res = cli(
        "verify",
        bundle,
        "--expect",
        bundle.with_name(bundle.name + ".sha256").read_text().split()[4],
    )
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("OK (intact)  tests: failed, 1 passed, 1 failed, 1 skipped")
    assert cli("show", bundle).exit_code == 0


def test_every_published_schema_version_is_known() -> None:
    """schemas/history.json lists every version of each record schema in git's history, so
    that a bundle shipping any of them verifies (skipped outside a git checkout)."""
    root = Path(__file__).parents[2]
    for name in records.SCHEMA_NAMES:
        path = f"schemas/{name}.schema.json"
        log = subprocess.run(
            ["git", "log", "--format=%H", "--", path], cwd=root, capture_output=True, text=True
        )
        if log.returncode != 0:
            pytest.skip("not a git checkout")
        for commit in log.stdout.split():
            shown = subprocess.run(
                ["git", "show", f"{commit}:{path}"], cwd=root, capture_output=True, text=True
            )
            if shown.returncode == 0:
                digest = records.canonical_digest(json.loads(shown.stdout))
                assert digest in records.published_digests(name), (
                    f"{path} at {commit[:12]} is missing from schemas/history.json"
                )
