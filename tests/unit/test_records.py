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
