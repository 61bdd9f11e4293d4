"""Every path, role and schema name inside a run folder and a bundle, in one place.

A run folder (`outputs/runs/<run_id>/`) holds exactly what a bundle's `data/` holds;
the bundle wraps it in a BagIt bag under one top folder `repro-<run_id>/`:

    repro-<run_id>/bagit.txt  bag-info.txt  manifest-sha256.txt  repro-bundle.json
                   tagmanifest-sha256.txt  data/<the run folder>

Paths called `rel` are relative to the run folder (`logs/stdout.log`); paths called
`payload` are relative to the bag (`data/logs/stdout.log`); `member` names are full zip
names (`repro-<run_id>/data/logs/stdout.log`). Nothing else in repro spells these out.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Final


class TextEnum(str, Enum):
    """A closed set of strings that prints as its value (`f"{Status.PASSED}"` is `passed` on
    every Python, where a plain str-mixin Enum prints `Status.PASSED` from 3.12 on)."""

    def __str__(self) -> str:
        return str(self.value)


class Role(TextEnum):
    """What a payload file is for, as repro-bundle.json lists it."""

    RECORD = "record"
    LOG = "log"
    RESULTS = "results"
    LOCK = "lock"
    SCHEMA = "schema"
    CODE = "code"  # the checkout's uncommitted change or file manifest (codestate.py)
    OTHER = "other"


class SchemaName(TextEnum):
    ENV = "env"
    LOCK = "lock"
    MANIFEST = "manifest"
    MERGE = "merge"
    RUN_METADATA = "run_metadata"
    RUN_STAMP = "run_stamp"


# --- the run folder (= the bag's data/) ------------------------------------------------------
RUN_STAMP: Final = "run_stamp.json"
# runner.new_run_id's `20261202T101500Z-a1b2c3`: UTC to the second, then random hex.
RUN_ID: Final = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]+")
RUN_METADATA: Final = "run_metadata.json"
ENV: Final = "env.json"
LOCK_RECORD: Final = "lock.json"
MERGE_RECORD: Final = "merge.json"  # only in a bundle `repro merge` made (docs/merge.md)
LOCK_FILE: Final = "requirements.lock"
PYLOCK: Final = "pylock.toml"
LOG_STDOUT: Final = "logs/stdout.log"
LOG_STDERR: Final = "logs/stderr.log"
LOG_COMBINED: Final = "logs/pytest_output.txt"
LOG_ANSI: Final = "logs/pytest_output.ansi"  # pytest's raw bytes, only when it wrote colour
RESULTS_JSONL: Final = "results/results.jsonl"
JUNIT_XML: Final = "results/junit.xml"
SCHEMAS_DIR: Final = "schemas"
CODE_DIR: Final = "code"
SHARDS_DIR: Final = "shards"  # a merged bundle: each shard's logs under shards/<name>/

LOG_FILES: Final = (LOG_STDOUT, LOG_STDERR, LOG_COMBINED, LOG_ANSI)
RESULT_FILES: Final = (RESULTS_JSONL, JUNIT_XML)
LOCK_FILES: Final = (LOCK_FILE, PYLOCK)
# Each record and the schema it follows; lock.json and merge.json are optional.
RECORD_SCHEMAS: Final[dict[str, str]] = {
    RUN_STAMP: SchemaName.RUN_STAMP.value,
    RUN_METADATA: SchemaName.RUN_METADATA.value,
    ENV: SchemaName.ENV.value,
    LOCK_RECORD: SchemaName.LOCK.value,
    MERGE_RECORD: SchemaName.MERGE.value,
}
OPTIONAL_RECORDS: Final = frozenset({LOCK_RECORD, MERGE_RECORD})

# --- the bag around it -------------------------------------------------------------------------
DATA: Final = "data"
BAGIT_TXT: Final = "bagit.txt"
BAG_INFO: Final = "bag-info.txt"
MANIFEST: Final = "manifest-sha256.txt"
BUNDLE_MANIFEST: Final = "repro-bundle.json"
TAGMANIFEST: Final = "tagmanifest-sha256.txt"
# Tag files the tag manifest covers; the tag manifest itself is hashed into the digest.
TAG_FILES: Final = (BAGIT_TXT, BAG_INFO, MANIFEST, BUNDLE_MANIFEST)

BUNDLE_NAME_RE: Final = re.compile(r"^repro-(?P<run_id>.+)-(?P<short>[0-9a-f]{12})\.zip$")
SIDECAR_SUFFIX: Final = ".sha256"
DIGEST_PREFIX: Final = "sha256:"
SHORT_DIGEST: Final = 12  # hex digits of the digest in a bundle's file name


def role_of(rel: str) -> Role:
    """The role of run-folder path `rel`; a shard's log in a merged bundle is a log."""
    if rel.startswith(SHARDS_DIR + "/"):
        inner = rel.split("/", 2)[2] if rel.count("/") >= 2 else ""
        return Role.LOG if inner.startswith("logs/") else Role.OTHER
    if rel in RECORD_SCHEMAS:
        return Role.RECORD
    if rel.startswith("logs/"):
        return Role.LOG
    if rel.startswith("results/"):
        return Role.RESULTS
    if rel.startswith(SCHEMAS_DIR + "/"):
        return Role.SCHEMA
    if rel in LOCK_FILES:
        return Role.LOCK
    if rel.startswith(CODE_DIR + "/"):
        return Role.CODE
    return Role.OTHER


def shard_folder(name: str) -> str:
    """Run-folder path of a merged bundle's folder for shard `name` (`shards/2`)."""
    return f"{SHARDS_DIR}/{name}"


def schema_file(name: str) -> str:
    """Run-folder path of the shipped copy of schema `name`."""
    return f"{SCHEMAS_DIR}/{name}.schema.json"


def payload(rel: str) -> str:
    """`logs/stdout.log` -> `data/logs/stdout.log`."""
    return f"{DATA}/{rel}"


def rel_of(payload_path: str) -> str | None:
    """`data/logs/stdout.log` -> `logs/stdout.log`; None for a path outside data/."""
    prefix = DATA + "/"
    return payload_path[len(prefix) :] if payload_path.startswith(prefix) else None


def top_folder(run_id: str) -> str:
    return f"repro-{run_id}"


def member(top: str, path: str) -> str:
    """Full zip name of bag path `path` (a tag file or a `data/...` payload path)."""
    return f"{top}/{path}"


def bundle_name(run_id: str, digest: str) -> str:
    """`repro-<run_id>-<first 12 hex of the digest>.zip`."""
    hex_ = digest.removeprefix(DIGEST_PREFIX)
    return f"{top_folder(run_id)}-{hex_[:SHORT_DIGEST]}.zip"


def sidecar_name(bundle: str) -> str:
    return bundle + SIDECAR_SUFFIX
