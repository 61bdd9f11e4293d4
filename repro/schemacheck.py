"""A yes/no check of a record against one of repro's own schemas, without jsonschema.

jsonschema stays the judge: `records.schema_errors` asks this check first and calls
jsonschema only when it says no, for the messages (and jsonschema's answer is the one
that counts). So this check must never accept what jsonschema would reject; it may reject
more (a float like 3.0 where an integer is due, which jsonschema accepts), which only costs
the slow path. It knows the keywords repro's schemas use and refuses (`Unsupported`) to
compile a schema with any other, which then always goes to jsonschema.

Why: importing jsonschema and building its validators was a third of `repro verify`'s
time on a small bundle, and its per-item walk of a 50,000-test run's lists was most of the
rest on a large one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that say nothing about validity.
ANNOTATIONS = frozenset(
    {"$schema", "$id", "$comment", "title", "description", "default", "examples"}
)
_TYPES: dict[str, Check] = {
    "string": lambda x: isinstance(x, str),
    "integer": lambda x: type(x) is int,  # jsonschema also takes 3.0: stricter here
    "number": lambda x: type(x) in (int, float),
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
    "object": lambda x: type(x) is dict,
    "array": lambda x: type(x) is list,
}


class Unsupported(ValueError):
    """The schema uses a keyword (or form of one) this check does not implement."""


def compile_schema(schema: Any) -> Check:
    """A function telling whether a JSON value is valid against `schema` (draft 2020-12,
    local `$ref`s to `#/$defs/...` only)."""
    defs = schema.get("$defs", {}) if isinstance(schema, dict) else {}
    compiled: dict[str, Check] = {}

    def ref(target: str) -> Check:
        name = target.removeprefix("#/$defs/")
        if name == target or name not in defs:
            raise Unsupported(f"$ref {target!r}")

        def check(x: Any) -> bool:
            got = compiled.get(name)
            if got is None:
                got = compiled[name] = build(defs[name])
            return got(x)

        return check

    def build(node: Any) -> Check:
        if node is True or node == {}:
            return lambda _x: True
        if node is False:
            return lambda _x: False
        if not isinstance(node, dict):
            raise Unsupported(f"schema {node!r:.60}")
        checks: list[Check] = []
        for key, value in node.items():
            if key not in ANNOTATIONS and key != "$defs":
                check = _keyword(key, value, node, build, ref)
                if check is not None:
                    checks.append(check)
        if len(checks) == 1:
            return checks[0]
        return lambda x: all(c(x) for c in checks)

    for name in defs:
        compiled[name] = build(defs[name])
    return build(schema)


def _scalar_equal(value: Any) -> Check:
    if value is not None and type(value) not in (str, int, bool):
        raise Unsupported(f"const/enum value {value!r:.60}")
    if type(value) is str:
        # A str subclass counts as a string, as for jsonschema and json.dumps: the runner's
        # records carry Status members (str enums), and an exact type test sent every
        # run_metadata and run_stamp to jsonschema (~0.1 s of `repro bundle` to import it).
        return lambda x: isinstance(x, str) and x == value
    return lambda x: type(x) is type(value) and x == value


def _keyword(
    key: str,
    value: Any,
    node: dict[str, Any],
    build: Callable[[Any], Check],
    ref: Callable[[str], Check],
) -> Check | None:
    if key == "type":
        names = value if isinstance(value, list) else [value]
        if not names or any(n not in _TYPES for n in names):
            raise Unsupported(f"type {value!r}")
        if len(names) == 1:
            return _TYPES[names[0]]
        kinds = [_TYPES[n] for n in names]
        return lambda x: any(k(x) for k in kinds)
    if key == "const":
        return _scalar_equal(value)
    if key == "enum":
        options = [_scalar_equal(v) for v in value]
        return lambda x: any(o(x) for o in options)
    if key == "pattern":
        search = re.compile(value).search
        return lambda x: not isinstance(x, str) or search(x) is not None
    if key == "minimum":
        if type(value) not in (int, float):
            raise Unsupported(f"minimum {value!r}")
        return lambda x: type(x) not in (int, float) or x >= value
    if key in ("minLength", "minItems", "minProperties"):
        kind = {"minLength": str, "minItems": list, "minProperties": dict}[key]
        if type(value) is not int:
            raise Unsupported(f"{key} {value!r}")
        return lambda x: not isinstance(x, kind) or len(x) >= value
    if key == "required":
        needed = tuple(value)
        return lambda x: type(x) is not dict or all(k in x for k in needed)
    if key == "properties":
        return _properties(value, node.get("additionalProperties", True), build)
    if key == "additionalProperties":
        if "properties" in node:
            return None  # checked with the properties
        return _properties({}, value, build)
    if key == "items":
        if isinstance(value, list):
            raise Unsupported("items as a list")
        item = build(value)
        return lambda x: type(x) is not list or all(item(i) for i in x)
    if key == "anyOf":
        options = [build(v) for v in value]
        return lambda x: any(o(x) for o in options)
    if key == "$ref":
        return ref(value)
    raise Unsupported(f"keyword {key!r}")


def _properties(props: dict[str, Any], additional: Any, build: Callable[[Any], Check]) -> Check:
    known = {k: build(v) for k, v in props.items()}
    other = build(additional)

    def check(x: Any) -> bool:
        if type(x) is not dict:
            return True
        for k, v in x.items():
            c = known.get(k, other)
            if not c(v):
                return False
        return True

    return check
