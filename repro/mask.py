"""Masking: credentials never reach a file of the run folder.

Three sources of secrets, one fixed mask (`MASK`):
 - the value of every environment variable of the run whose name looks like a
   credential (`redact.name_looks_secret`), as raw bytes and as JSON escapes it
   (the results stream is JSON);
 - the password of every `user:password@` in a URL found in the environment;
 - well-known token shapes (`RULES`), anywhere. The shapes are detect-secrets'
   plugin regexes (1.5.0; module named in each rule's `source`), rewritten for
   bytes and given an upper bound so that a stream can be masked with a finite
   carry-over; a few shapes detect-secrets lacks name their own source.

Values shorter than `MIN_LENGTH` bytes are never masked as literals (`SESSION=1`
would otherwise mask every "1"), nor values that are the absolute path of an
existing file or folder (a location, not a secret). Token shapes have their own
fixed minimum lengths.

Streaming: `StreamMasker.feed` keeps back the last `carry` bytes (the longest
possible secret) until the next chunk, so a secret split across two reads is
still masked; `flush` releases the tail at the end. Masking never decodes:
non-UTF-8 output is masked byte for byte like any other.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MASK = b"[MASKED]"
MIN_LENGTH = 8
KEY_BODY = 6144  # bytes of a PEM body masked after its BEGIN line (RSA-4096 is ~3.3 KB)


@dataclass(frozen=True)
class Rule:
    name: str
    pattern: bytes
    source: str


_PEM = rb"-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
RULES: tuple[Rule, ...] = (
    Rule(
        "aws-access-key-id",
        rb"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}",
        "detect_secrets/plugins/aws.py",
    ),
    Rule(
        "github-token",
        rb"gh[pousr]_[A-Za-z0-9_]{36}",
        "detect_secrets/plugins/github_token.py",
    ),
    Rule(
        "github-fine-grained-token",
        rb"github_pat_[A-Za-z0-9_]{22,255}",
        "GitHub docs, token formats (github_pat_ prefix)",
    ),
    Rule(
        "gitlab-token",
        rb"gl(?:(?:pat|dt|ft|soat|rt|cbt|imt|ptt|oas)-[A-Za-z0-9_\-]{20,64}"
        rb"|agent-[A-Za-z0-9_\-]{50,1000})",
        "detect_secrets/plugins/gitlab_token.py",
    ),
    Rule(
        "gitlab-runner-token",
        rb"GR1348941[A-Za-z0-9_\-]{20,50}",
        "detect_secrets/plugins/gitlab_token.py",
    ),
    Rule(
        "slack-token",
        # 20 characters at least (real ones have 50 and more): searched around runs.
        rb"xox[abposrABPOSR]-(?=[A-Za-z0-9\-]{15})(?:[0-9]{1,20}-){1,8}[A-Za-z0-9]{1,64}",
        "detect_secrets/plugins/slack.py",
    ),
    Rule(
        "slack-webhook",
        rb"https://hooks\.slack\.com/services/T[A-Za-z0-9_]{1,32}/B[A-Za-z0-9_]{1,32}"
        rb"/[A-Za-z0-9_]{1,64}",
        "detect_secrets/plugins/slack.py",
    ),
    Rule(
        "pypi-token",
        rb"pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[A-Za-z0-9_\-]{70,4096}",
        "detect_secrets/plugins/pypi_token.py",
    ),
    Rule(
        "npm-token",
        rb"npm_[A-Za-z0-9]{36}",
        "npm docs, granular access tokens (npm_ prefix)",
    ),
    Rule(
        "stripe-key",
        rb"k_live_[0-9a-zA-Z]{24,99}",  # from k_: a literal start is 10x faster than [rs]
        "detect_secrets/plugins/stripe.py",
    ),
    Rule(
        "sendgrid-key",
        rb"SG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}",
        "detect_secrets/plugins/sendgrid.py",
    ),
    Rule(
        "openai-key",
        rb"sk-[A-Za-z0-9_\-]{0,64}T3BlbkFJ[A-Za-z0-9]{20}",
        "detect_secrets/plugins/openai.py",
    ),
    Rule(
        "jwt",
        rb"eyJ[A-Za-z0-9_\-]{8,4096}\.eyJ[A-Za-z0-9_\-]{2,4096}\.[A-Za-z0-9_\-]{0,1024}",
        "detect_secrets/plugins/jwt.py",
    ),
    Rule(
        "private-key",
        # The BEGIN line, then the body (raw or JSON-escaped newlines) up to the END line.
        _PEM
        + rb"(?:(?!-----END)(?:[A-Za-z0-9+/=\s:,.\-]|\\[nrt])){0,%d}" % KEY_BODY
        + rb"(?:-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
        "detect_secrets/plugins/private_key.py",
    ),
    Rule(
        "putty-key",
        rb"PuTTY-User-Key-File-[23]: [^\r\n]{0,200}",
        "detect_secrets/plugins/private_key.py",
    ),
    Rule(
        "url-credentials",
        rb"//[^\s/:@\"'<>]{0,128}:[^\s/@\"'<>]{1,256}@",
        "RFC 3986 userinfo, as repro.redact.strip_url_credentials",
    ),
)
# Every match of these rules is (or holds) a run of at least MIN_RUN bytes of
# [A-Za-z0-9_-]: they are searched only around such runs (see `_windows`). The
# others have no such run (URLs, PEM lines, short Slack tokens) and search everything.
WIDE = frozenset({"slack-webhook", "private-key", "url-credentials"})
MIN_RUN = 20
_BEFORE, _AFTER = 32, 64  # bytes around a run that a token's other parts may take
_CLASS = bytes(
    0x61 if chr(b).isascii() and (chr(b).isalnum() or chr(b) in "_-") else 0x20 for b in range(256)
)
_RUN = b"a" * MIN_RUN
# More windows than one per this many bytes: searching everything is cheaper.
_DENSE = 2048


def _windows(data: bytes, lo: int) -> list[tuple[int, int]] | None:
    """Stretches of `data[lo:]` around each run of MIN_RUN token bytes, merged; None
    when there are so many that searching the whole of it is cheaper."""
    marks = data.translate(_CLASS)  # C speed: token bytes become "a", others " "
    out: list[tuple[int, int]] = []
    limit = (len(data) - lo) // _DENSE + 1
    pos = marks.find(_RUN, lo)
    while pos >= 0:
        end = marks.find(b" ", pos + MIN_RUN)
        end = len(data) if end < 0 else end
        a, b = max(lo, pos - _BEFORE), min(len(data), end + _AFTER)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
            if len(out) > limit:
                return None
        pos = marks.find(_RUN, end)
    return out


# The longest match any rule can produce, rounded up.
RULES_MAX = KEY_BODY + 256
# A match ending this close to the end of what has arrived is held back too: a PEM
# body stops before an END line that has only partly arrived, then takes it whole.
_SLACK = 64

_URL_USERINFO = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://(?:[^/@\s:]*):(?P<pw>[^/@\s]+)@")


def _literal_forms(value: str) -> set[bytes]:
    """How a value can appear in captured bytes: raw UTF-8, and inside a JSON string."""
    forms = {value.encode("utf-8", "surrogateescape")}
    forms.add(json.dumps(value)[1:-1].encode())
    forms.add(json.dumps(value, ensure_ascii=False)[1:-1].encode("utf-8", "surrogateescape"))
    return forms


def _is_location(value: str) -> bool:
    return os.path.isabs(value) and os.path.exists(value)


def env_secrets(environ: Mapping[str, str]) -> dict[bytes, str]:
    """{literal bytes: the variable it came from} for every value worth masking."""
    from repro.redact import name_looks_secret

    out: dict[bytes, str] = {}
    for name in sorted(environ):
        value = environ[name]
        candidates = []
        if name_looks_secret(name):
            candidates.append(value)
        candidates += [m.group("pw") for m in _URL_USERINFO.finditer(value)]
        for cand in candidates:
            if len(cand.encode("utf-8", "surrogateescape")) < MIN_LENGTH or _is_location(cand):
                continue
            for form in _literal_forms(cand):
                out.setdefault(form, f"env:{name}")
    return out


@dataclass(frozen=True)
class Masker:
    """The compiled rules of one run. Immutable; `StreamMasker` holds per-file state.

    Python's `re` runs one alternation of every rule at ~10 MB/s, because it
    tries every branch at every byte; each rule alone starts with a literal or a
    small set of bytes that `re` skips to quickly, so each literal is replaced with
    `bytes.replace` and each rule runs as its own regex (docs/safety.md has the
    measurements).
    """

    literals: tuple[tuple[bytes, str], ...]  # longest first
    rules: tuple[tuple[Rule, re.Pattern[bytes]], ...]
    carry: int
    multiline: bool  # a secret of the environment holds a newline

    def tokens(self, data: bytes, lo: int = 0) -> list[tuple[int, int, str]]:
        """(start, end, rule) of every token-shape match starting at or after `lo`,
        overlapping matches included, sorted."""
        out = []
        wins = _windows(data, lo)
        for rule, rx in self.rules:
            if rule.name in WIDE or wins is None:
                out += [(m.start(), m.end(), rule.name) for m in rx.finditer(data, lo)]
                continue
            for a, b in wins:
                m = rx.search(data, a, b)
                while m is not None:
                    # Found inside the window; its full extent may reach past it.
                    full = rx.match(data, m.start()) or m
                    out.append((full.start(), full.end(), rule.name))
                    m = rx.search(data, max(full.end(), m.start() + 1), b)
        return sorted(out)

    def mask(self, data: bytes, counts: Counter[str]) -> bytes:
        for lit, name in self.literals:
            if lit in data:
                counts[name] += data.count(lit)
                data = data.replace(lit, MASK)
        parts, at = [], 0
        for start, end, name in self.tokens(data):
            if start < at:  # overlaps a match already masked
                continue
            parts += [data[at:start], MASK]
            counts[name] += 1
            at = end
        if not parts:
            return data
        parts.append(data[at:])
        return b"".join(parts)

    def spans(self, data: bytes, pos: int) -> list[tuple[int, int]]:
        """Every possible match that ends after `pos`, as (start, end)."""
        out = []
        for lit, _ in self.literals:
            i = data.find(lit, max(0, pos - len(lit)))
            while i >= 0:
                out.append((i, i + len(lit)))
                i = data.find(lit, i + 1)
        out += [(a, b) for a, b, _ in self.tokens(data, max(0, pos - self.carry))]
        return sorted(out)


def build(environ: Mapping[str, str] | None = None) -> Masker:
    """The masker for a run whose environment is `environ` (None: token shapes only)."""
    literals = env_secrets(environ) if environ is not None else {}
    return Masker(
        literals=tuple(sorted(literals.items(), key=lambda kv: -len(kv[0]))),
        rules=_shapes(),
        carry=max([RULES_MAX, *map(len, literals)]),
        multiline=any(b"\n" in lit for lit in literals),
    )


class StreamMasker:
    """Masks one output stream chunk by chunk, holding back at most `carry` bytes."""

    def __init__(self, masker: Masker) -> None:
        self.masker = masker
        self.counts: Counter[str] = Counter()
        self._tail = b""

    @property
    def pending(self) -> int:
        return len(self._tail)

    def feed(self, chunk: bytes) -> bytes:
        buf = self._tail + chunk if self._tail else chunk
        carry = self.masker.carry
        if len(buf) <= carry and b"\n" not in buf:
            self._tail = buf
            return b""
        # Hold back the line in progress (no token spans lines; a PEM block in progress
        # is a match reaching the end, held back below), or `carry` bytes when a line is
        # that long or a secret of the environment spans lines: the file lags the
        # stream by little, and a SIGKILL loses at most the unfinished line.
        nl = buf.rfind(b"\n", max(0, len(buf) - carry))
        cut = len(buf) - carry if nl < 0 or self.masker.multiline else nl + 1
        cut = max(cut, 0)
        for start, end in self.masker.spans(buf, cut):
            if end + _SLACK >= len(buf):  # it may go on in the next chunk: hold it back whole
                cut = min(cut, start)
                break
            if start < cut < end:  # straddles the cut: emit it masked
                cut = end
            if start >= cut:
                break
        out, self._tail = buf[:cut], buf[cut:]
        return self.masker.mask(out, self.counts) if out else b""

    def flush(self) -> bytes:
        out, self._tail = self._tail, b""
        return self.masker.mask(out, self.counts) if out else b""


@dataclass
class RunMasking:
    """Masking for one run: a stream per file, records, and the counts for run_metadata."""

    masker: Masker | None  # None: --no-mask
    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def stream(self, rel: str) -> StreamMasker | None:
        if self.masker is None:
            return None
        sm = StreamMasker(self.masker)
        self.counts[rel] = sm.counts
        return sm

    def data(self, rel: str, data: bytes) -> bytes:
        if self.masker is None:
            return data
        return self.masker.mask(data, self.counts.setdefault(rel, Counter()))

    def record(self, rel: str, obj: Any) -> Any:
        """`obj` with every string masked (keys included): a record is built from argv,
        test ids and messages, any of which may carry a token.

        The record is masked as its JSON text, in one pass (a run of 50,000 tests
        has 50,000 ids in `order`: one masking call each would cost seconds); the
        literals include each value's JSON-escaped form, and no token shape holds a
        quote, so the text stays valid JSON. Should it not, the strings are masked
        one by one.
        """
        if self.masker is None:
            return obj
        counts = self.counts.setdefault(rel, Counter())
        text = json.dumps(obj, ensure_ascii=False).encode("utf-8", "surrogatepass")
        found: Counter[str] = Counter()
        masked = self.masker.mask(text, found)
        if masked == text:
            return obj
        try:
            out = json.loads(masked.decode("utf-8", "surrogatepass"))
        except ValueError:
            return self._walk(obj, counts)
        counts.update(found)
        return out

    def _walk(self, obj: Any, counts: Counter[str]) -> Any:
        masker = self.masker
        assert masker is not None
        if isinstance(obj, str):
            raw = obj.encode("utf-8", "surrogateescape")
            masked = masker.mask(raw, counts)
            return obj if masked == raw else masked.decode("utf-8", "surrogateescape")
        if isinstance(obj, dict):
            return {self._walk(k, counts): self._walk(v, counts) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self._walk(v, counts) for v in obj]
        return obj

    def summary(self) -> dict[str, Any]:
        """run_metadata.json's `masking`: counts per file and rule, never a value."""
        return {
            "enabled": self.masker is not None,
            "mask": MASK.decode(),
            "min_length": MIN_LENGTH,
            "rules": [r.name for r in RULES] + ["env:<NAME>"],
            "counts": {rel: dict(sorted(c.items())) for rel, c in sorted(self.counts.items()) if c},
        }


def for_run(environ: Mapping[str, str], *, enabled: bool = True) -> RunMasking:
    return RunMasking(build(environ) if enabled else None)


def mask_file(path: os.PathLike[str] | str, masker: Masker, counts: Counter[str]) -> None:
    """Mask a file in place in bounded memory (used by salvage); atomic replace."""
    from pathlib import Path

    from repro.fsutil import atomic_writer

    sm = StreamMasker(masker)
    sm.counts = counts
    src = Path(path)
    with open(src, "rb") as fh, atomic_writer(src) as out:
        while chunk := fh.read(1 << 20):
            out.write(sm.feed(chunk))
        out.write(sm.flush())


def looks_secret(data: bytes) -> bool:
    """True if a token shape occurs in `data` (env.json withholds such values). URL
    credentials are not a reason: env.json keeps such a value with them stripped."""
    return any(rx.search(data) for r, rx in _shapes() if r.name != "url-credentials")


@functools.cache
def _shapes() -> tuple[tuple[Rule, re.Pattern[bytes]], ...]:
    return tuple((r, re.compile(r.pattern)) for r in RULES)
