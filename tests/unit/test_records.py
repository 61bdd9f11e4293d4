"""The schemas themselves, and validation of records before they are written."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from repro import records
from repro.errors import RecordInvalid


@pytest.mark.parametrize("name", records.SCHEMA_NAMES)
def test_every_schema_is_draft_2020_12_with_id_and_version(name):
    schema = json.loads((records.schema_dir() / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{name}/v1.schema.json")
    assert schema["properties"]["schema"] == {"const": name}
    assert schema["properties"]["schema_version"] == {"const": 1}


def test_an_invalid_record_stops_with_a_clear_message():
    with pytest.raises(RecordInvalid) as info:
        records.validate(
            {"schema": "run_stamp", "schema_version": 1, "status": "weird"}, "run_stamp"
        )
    msg = info.value.diagnostics()
    assert msg.startswith("repro built an invalid run_stamp record: ")
    assert "this is a bug in repro" in msg


def test_records_of_a_real_run_validate(valid_bundle):
    import zipfile

    with zipfile.ZipFile(valid_bundle) as zf:
        top = zf.namelist()[0].split("/")[0]
        for rel, schema in [
            ("run_stamp.json", "run_stamp"),
            ("run_metadata.json", "run_metadata"),
            ("env.json", "env"),
        ]:
            assert records.schema_errors(json.loads(zf.read(f"{top}/data/{rel}")), schema) == []
        manifest = json.loads(zf.read(f"{top}/repro-bundle.json"))
    assert records.schema_errors(manifest, "manifest") == []


def test_long_string_arrays_are_checked_item_by_item_without_jsonschema(valid_bundle):
    """run_metadata's `order` is checked by a loop (speed); it must still catch what
    jsonschema would, and report the same paths."""
    import zipfile

    with zipfile.ZipFile(valid_bundle) as zf:
        top = zf.namelist()[0].split("/")[0]
        meta = json.loads(zf.read(f"{top}/data/run_metadata.json"))
    meta["order"] = [f"t.py::test_{i}" for i in range(5000)]
    assert records.schema_errors(meta, "run_metadata") == []
    meta["order"][3], meta["order"][4000] = 7, None
    errors = records.schema_errors(meta, "run_metadata")
    assert errors == [
        "order/3: 7 is not of type 'string'",
        "order/4000: None is not of type 'string'",
    ]
    jsonschema_says = sorted(
        "/".join(map(str, e.absolute_path))
        for e in Draft202012Validator(records.load_schema("run_metadata")).iter_errors(meta)
    )
    assert jsonschema_says == ["order/3", "order/4000"]
    meta["order"] = "not a list"
    assert records.schema_errors(meta, "run_metadata") == [
        "order: 'not a list' is not of type 'array'"
    ]
