"""The CI files the repo ships are valid and only run commands that exist."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from repro.cli import main

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github/workflows").glob("*.yml"))
GITLAB = ROOT / ".gitlab-ci.yml"
# repro subcommands a shipped CI file may already call before they exist, each with
# the issue that brings it. A job calling one must not gate its workflow.
FORTHCOMING: dict[str, str] = {}

MAKE_RE = re.compile(r"(?:^|[;&|(])[ \t]*make((?:[ \t]+[^\s;&|()]+)*)", re.MULTILINE)
REPRO_RE = re.compile(r"(?:^|[\s/;&|(])repro\s+([a-z][\w-]*)")


class _StrictLoader(yaml.SafeLoader):
    """PyYAML keeps the last of two equal keys silently; GitHub and GitLab reject them."""


def _no_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    keys = [loader.construct_object(k, deep=deep) for k, _ in node.value]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise yaml.constructor.ConstructorError(
            None, None, f"duplicate keys {dupes}", node.start_mark
        )
    return loader.construct_mapping(node, deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _no_duplicates)


def load(path: Path) -> dict[Any, Any]:
    doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)
    assert isinstance(doc, dict), path
    return doc


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {m.group(1) for m in re.finditer(r"^([A-Za-z][\w.-]*)\s*:(?!=)", text, re.MULTILINE)}


def github_commands(doc: dict[Any, Any]) -> list[tuple[str, dict[str, Any], str]]:
    """(job name, job, run script) for every step that runs a shell command."""
    return [
        (name, job, step["run"])
        for name, job in doc["jobs"].items()
        for step in job["steps"]
        if "run" in step
    ]


def gitlab_commands(doc: dict[Any, Any]) -> list[tuple[str, dict[str, Any], str]]:
    return [
        (name, job, line)
        for name, job in doc.items()
        if isinstance(job, dict) and "script" in job
        for key in ("before_script", "script", "after_script")
        for line in job.get(key, [])
    ]


def all_commands() -> list[tuple[Path, str, dict[str, Any], str]]:
    out = [(p, *c) for p in WORKFLOWS for c in github_commands(load(p))]
    return out + [(GITLAB, *c) for c in gitlab_commands(load(GITLAB))]


def test_the_files_exist_and_are_valid_yaml():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "shards.yml"}
    for path in [*WORKFLOWS, GITLAB]:
        doc = load(path)
        if path in WORKFLOWS:
            # YAML 1.1 reads the key `on` as True; GitHub reads it as "on".
            assert doc.get("on", doc.get(True)), path
            for name, job in doc["jobs"].items():
                assert job.get("runs-on") and job.get("steps"), (path, name)


def test_every_make_target_they_run_exists():
    targets = makefile_targets()
    used = set()
    for path, job, _, script in all_commands():
        for m in MAKE_RE.finditer(script):
            # `make test PYTHON=python`: the words that are not options or variables
            for word in m.group(1).split():
                if word.startswith("-") or "=" in word:
                    continue
                used.add(word)
                assert word in targets, f"{path.name} job {job} runs `make {word}`"
    assert {"test", "repro"} <= used


def test_every_repro_command_they_run_exists_or_is_forthcoming():
    commands = set(main.commands)
    used = set()
    for path, job_name, job, script in all_commands():
        for m in REPRO_RE.finditer(script):
            word = m.group(1)
            used.add(word)
            if word in FORTHCOMING:
                assert job.get("continue-on-error") is True, (
                    f"{path.name} job {job_name} calls the forthcoming `repro {word}` "
                    "and must not gate its workflow"
                )
            else:
                assert word in commands, f"{path.name} job {job_name} runs `repro {word}`"
    assert {"bundle", "merge"} <= used
    for word, why in FORTHCOMING.items():
        assert word not in commands, f"`repro {word}` exists now ({why}): drop it from FORTHCOMING"


def _steps(doc: dict[Any, Any], job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = doc["jobs"][job]["steps"]
    return steps


def test_the_matrix_covers_three_systems_and_four_pythons_and_uploads_the_bundle():
    doc = load(ROOT / ".github/workflows/ci.yml")
    matrix = doc["jobs"]["test"]["strategy"]["matrix"]
    assert {o.split("-")[0] for o in matrix["os"]} == {"ubuntu", "macos", "windows"}
    assert matrix["python"] == ["3.10", "3.11", "3.12", "3.13"]
    runs = [s.get("run", "") for s in _steps(doc, "test")]
    assert any(r.startswith("make test") for r in runs)
    assert any(r.startswith("make repro") for r in runs)
    upload = [s for s in _steps(doc, "test") if s.get("uses", "").startswith("actions/upload-")]
    assert upload and "outputs/bundles/" in upload[0]["with"]["path"]


def test_the_shard_example_splits_in_three_and_bundles_each_shard():
    doc = load(ROOT / ".github/workflows/shards.yml")
    shard = doc["jobs"]["shard"]
    assert shard["strategy"]["matrix"]["group"] == [1, 2, 3]
    bundle = next(s["run"] for s in shard["steps"] if "repro bundle" in s.get("run", ""))
    assert "--splits 3" in bundle and "--group ${{ matrix.group }}" in bundle
    assert any("pytest-split" in s.get("run", "") for s in shard["steps"])
    assert doc["jobs"]["merge"]["needs"] == "shard"


def test_the_gitlab_example_publishes_the_junit_report():
    doc = load(GITLAB)
    reports = [
        j["artifacts"]["reports"] for j in doc.values() if isinstance(j, dict) and "artifacts" in j
    ]
    assert any("junit" in r for r in reports)
    copied = " ".join(line for _, _, _, line in all_commands() if "junit.xml" in line)
    assert "outputs/latest/results/junit.xml" in copied
