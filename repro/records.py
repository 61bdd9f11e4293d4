"""The JSON records of a run and their validation against `schemas/`.

Every record is validated before it is written: a record that does not match
its schema is a bug in repro, and stops the run with `RecordInvalid` rather
than leaving evidence a reviewer's verifier would reject.
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
from pathlib import Path
from typing import Any

from repro.errors import RecordInvalid

SCHEMA_NAMES = ("env", "lock", "manifest", "merge", "run_metadata", "run_stamp")
# Schemas of documents that travel beside a bundle, not inside it (docs/attestation.md).
SIDE_SCHEMAS = ("statement",)
SCHEMA_VERSION = 1


def schema_dir() -> Path:
    """Where the schemas live: inside the wheel, or at the top of a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schemas", here.parent / "schemas"):
        if (candidate / "run_stamp.schema.json").is_file():
            return candidate
    raise RecordInvalid(f"repro's schemas are missing (looked in {here / 'schemas'})")


@functools.cache
def load_schema(name: str, version: int = SCHEMA_VERSION) -> dict[str, Any]:
    if name not in (*SCHEMA_NAMES, *SIDE_SCHEMAS) or version != SCHEMA_VERSION:
        raise KeyError(f"{name} v{version}")
    schema: dict[str, Any] = json.loads((schema_dir() / f"{name}.schema.json").read_text())
    return schema


def canonical_digest(schema: Any) -> str:
    """SHA-256 of a schema as JSON with sorted keys and no whitespace."""
    import hashlib

    text = json.dumps(schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def published_digests(name: str) -> frozenset[str]:
    """Canonical digests of every version of schema `name` repro published, current
    included: a bundle made by an earlier repro ships one of those (schemas/history.json)."""
    history = json.loads((schema_dir() / "history.json").read_text(encoding="utf-8"))
    earlier = history["schemas"].get(name, [])
    return frozenset([*earlier, canonical_digest(load_schema(name))])


@functools.cache
def _fast_check(name: str, version: int) -> Any:
    """repro.schemacheck's yes/no check of schema `name`, or None if it cannot make one."""
    from repro import schemacheck

    try:
        return schemacheck.compile_schema(load_schema(name, version))
    except schemacheck.Unsupported:
        return None


@functools.cache
def _validator(name: str, version: int) -> Any:
    from jsonschema import Draft202012Validator

    # The schemas ship with repro and are checked against the metaschema by its
    # tests (tests/unit/test_records.py), not on every run: that took ~40 ms.
    schema = load_schema(name, version)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


_STRING_ARRAY = {"type": "array", "items": {"type": "string"}}


@functools.cache
def _string_arrays(name: str, version: int) -> frozenset[str]:
    """Top-level properties declared exactly as arrays of strings (run_metadata's `order`)."""
    props = load_schema(name, version).get("properties", {})
    return frozenset(k for k, v in props.items() if v == _STRING_ARRAY)


def schema_errors(record: Any, name: str, version: int = SCHEMA_VERSION) -> list[str]:
    """Every way `record` breaks schema `name`, as `path: message` lines.

    A record that repro's own check (schemacheck) accepts has none, and jsonschema is not
    even imported; any other goes to jsonschema, whose answer counts."""
    fast = _fast_check(name, version)
    if fast is not None and fast(record):
        return []
    validator = _validator(name, version)
    bulk: list[str] = []
    if isinstance(record, dict):
        # jsonschema spends ~10 us per array item (a child validator each): on a
        # 50,000-test run the `order` list alone took longer than the rest of the
        # run's own work. Such arrays are checked here with a loop instead.
        for key in _string_arrays(name, version) & record.keys():
            items = record[key]
            if isinstance(items, list) and len(items) > 1:
                bulk += [
                    f"{key}/{i}: {item!r:.200} is not of type 'string'"
                    for i, item in enumerate(items)
                    if not isinstance(item, str)
                ]
                record = {**record, key: items[:1]}
    out = []
    for err in sorted(validator.iter_errors(record), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in err.absolute_path) or "(top)"
        out.append(f"{where}: {err.message[:300]}")
    return out + bulk


def validate(record: dict[str, Any], name: str) -> dict[str, Any]:
    errors = schema_errors(record, name)
    if errors:
        raise RecordInvalid(
            f"repro built an invalid {name} record: {errors[0]}"
            + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
            hint="this is a bug in repro; please report it with the run folder",
        )
    return record


def utc_iso(epoch: float) -> str:
    return (
        _dt.datetime.fromtimestamp(epoch, tz=_dt.timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )
