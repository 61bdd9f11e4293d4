"""repro.schemacheck, the yes/no check that spares jsonschema on valid records: it must
never accept a record that jsonschema rejects. Checked on real records and on many
mutations of them, against jsonschema itself."""

from __future__ import annotations

import copy
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from repro import records, schemacheck

ALL = (*records.SCHEMA_NAMES, *records.SIDE_SCHEMAS)
RECORDS = {
    "run_stamp": "data/run_stamp.json",
    "run_metadata": "data/run_metadata.json",
    "env": "data/env.json",
    "manifest": "repro-bundle.json",
}


def _jsonschema_ok(doc: Any, name: str) -> bool:
    schema = records.load_schema(name)
    return Draft202012Validator(
        schema, format_checker=Draft202012Validator.FORMAT_CHECKER
    ).is_valid(doc)


@pytest.fixture(scope="module")
def real(valid_bundle: Path) -> dict[str, Any]:
    """The records of a real bundle, and the Statement beside it."""
    with zipfile.ZipFile(valid_bundle) as zf:
        top = zf.namelist()[0].split("/")[0]
        docs = {name: json.loads(zf.read(f"{top}/{rel}")) for name, rel in RECORDS.items()}
    docs["statement"] = json.loads(Path(f"{valid_bundle}.intoto.json").read_text())
    return docs


@pytest.mark.parametrize("name", ALL)
def test_every_schema_repro_ships_compiles(name):
    """Else that schema always takes jsonschema's slow path (and verify imports it)."""
    schemacheck.compile_schema(records.load_schema(name))


def test_real_records_pass_without_jsonschema(real):
    for name, doc in real.items():
        assert schemacheck.compile_schema(records.load_schema(name))(doc), name
        assert _jsonschema_ok(doc, name)


def test_unknown_keywords_and_remote_refs_are_refused():
    for schema in (
        {"type": "object", "unevaluatedProperties": False},
        {"$ref": "https://example.com/other.json"},
        {"items": [{"type": "string"}]},
        {"type": "decimal"},
        {"const": 1.5},
    ):
        with pytest.raises(schemacheck.Unsupported):
            schemacheck.compile_schema(schema)


def test_it_may_be_stricter_than_jsonschema_but_the_answer_is_jsonschemas():
    """3.0 is an integer to jsonschema, not to the check: schema_errors asks jsonschema."""
    doc = {"a": 3.0}
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert not schemacheck.compile_schema(schema)(doc)
    assert Draft202012Validator(schema).is_valid(doc)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.sampled_from([0, -1, 1, 3.0, 0.5, -0.5, 1e300])
    | st.text(max_size=8)
    | st.sampled_from(["", "passed", "sha256:" + "0" * 64, "0" * 64, "20260101T000000Z-abcdef"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(doc: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [here]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, (*here, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            out += _paths(v, (*here, i))
    return out


@st.composite
def mutations(draw: st.DrawFn, real: dict[str, Any]) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(real)))
    doc = copy.deepcopy(real[name])
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        if not path:
            continue
        *parent_path, last = path
        parent = doc
        for p in parent_path:
            parent = parent[p]
        how = draw(st.sampled_from(["replace", "delete", "add", "edit"]))
        if how == "edit" and isinstance(parent[last], str):
            # Near misses of a pattern: a character more, one less, or another one.
            text = parent[last]
            cut = draw(st.integers(0, len(text)))
            parent[last] = (
                text[:cut] + draw(st.sampled_from(["", "x", "Z", "\n", " "])) + text[cut + 1 :]
            )
        elif how == "replace":
            parent[last] = draw(JSON_VALUES)
        elif how in ("delete", "edit"):
            del parent[last]
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=6))] = draw(JSON_VALUES)
        else:
            parent.append(draw(JSON_VALUES))
    return name, doc


def test_never_accepts_what_jsonschema_rejects(real):
    @settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutations(real))
    def check(case: tuple[str, Any]) -> None:
        name, doc = case
        if schemacheck.compile_schema(records.load_schema(name))(doc):
            assert _jsonschema_ok(doc, name), (name, doc)
        # and schema_errors, whichever path it takes, agrees with jsonschema
        assert (records.schema_errors(doc, name) == []) == _jsonschema_ok(doc, name)

    check()


def test_str_enum_members_match_const_and_enum_like_jsonschema():
    """The runner's records hold Status members (str enums) in memory: they must pass
    here as they pass jsonschema, or every run pays for importing jsonschema."""
    from repro.model import Status

    for schema in ({"enum": ["passed", "failed"]}, {"const": "failed"}):
        check = schemacheck.compile_schema(schema)
        assert check(Status.FAILED)
        assert Draft202012Validator(schema).is_valid(Status.FAILED)
        assert not check(Status.PASSED) or Draft202012Validator(schema).is_valid(Status.PASSED)
    assert not schemacheck.compile_schema({"const": 1})(True)
