"""Keeping credentials out of everything repro writes.

Environment variables are recorded by name; a value is kept only when its name
is allow-listed *and* neither the name nor the value looks like a credential.
`user:password@` is removed from every URL before it is written anywhere.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping

DEFAULT_ENV_ALLOW = (
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_REF",
    "GITHUB_SHA",
    "GITLAB_CI",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "PATH",
    "PIP_EXTRA_INDEX_URL",
    "PIP_FIND_LINKS",
    "PIP_INDEX_URL",
    "PIP_NO_INDEX",
    "PYTEST_ADDOPTS",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONHASHSEED",
    "PYTHONOPTIMIZE",
    "PYTHONPATH",
    "PYTHONUTF8",
    "PYTHONWARNINGS",
    "SOURCE_DATE_EPOCH",
    "TZ",
    "VIRTUAL_ENV",
)

SECRET_NAME_PATTERNS = (
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*KEY*",
    "*CREDENTIAL*",
    "*AUTH*",
    "*COOKIE*",
    "*SESSION*",
    "*PRIVATE*",
    # CI systems' own credentials whose names say none of the above
    "*JWT*",  # GitLab CI_JOB_JWT
    "*_DSN",  # Sentry and database DSNs carry a key
    "*_PAT",  # personal access tokens
    "*SIGNING*",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
)

# scheme://user[:password]@host  ->  scheme://host
_URL_CRED_RE = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s:]*(?::[^/@\s]*)?@")
# scp-like git remotes: user:token@host:path keeps only the host part
_SCP_CRED_RE = re.compile(r"^[^/@\s:]+:[^/@\s]+@(?=[^/\s:]+:)")


def strip_url_credentials(text: str) -> str:
    """Remove `user:password@` from every URL in `text`."""
    text = _URL_CRED_RE.sub(lambda m: m.group("scheme"), text)
    return _SCP_CRED_RE.sub("", text)


def name_looks_secret(name: str) -> bool:
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pat) for pat in SECRET_NAME_PATTERNS)


def value_looks_secret(value: str) -> bool:
    """A known token shape (repro.mask.RULES) anywhere in `value`."""
    from repro.mask import looks_secret

    return looks_secret(value.encode("utf-8", "surrogateescape"))


def environment_record(
    environ: Mapping[str, str], allow: Iterable[str] = DEFAULT_ENV_ALLOW
) -> dict[str, object]:
    """Names of every variable, values only for the allow-list, never a credential."""
    allowed = set(allow)
    values: dict[str, str] = {}
    withheld: list[str] = []
    for name in sorted(environ):
        if name not in allowed:
            continue
        value = environ[name]
        if name_looks_secret(name) or value_looks_secret(value):
            withheld.append(name)
            continue
        values[name] = strip_url_credentials(value)
    return {"names": sorted(environ), "values": values, "withheld": withheld}


def compile_patterns(patterns: Iterable[str]) -> list[re.Pattern[bytes]]:
    return [re.compile(p.encode()) for p in patterns]
