"""Masking: credentials never reach a file of the run folder.

Three sources of secrets, one fixed mask (`MASK`):
 - the value of every environment variable of the run whose name looks like a
   credential (`redact.name_looks_secret`), as raw bytes and as JSON escapes it
   (the results stream is JSON);
 - the password of every `user:password@` in a URL found in the environment;
   both also where pytest shows them cut short with "..." (`_elided`);
 - well-known token shapes (`RULES`), anywhere. The shapes are detect-secrets'
   plugin regexes (1.5.0; module named in each rule's `source`), rewritten for
   bytes and given an upper bound so that a stream can be masked with a finite
   carry-over; a few shapes detect-secrets lacks name their own source.

Values shorter than `MIN_LENGTH` bytes are never masked as literals (`SESSION=1`
would otherwise mask every "1"), nor values that are the absolute path of an
existing file or folder (a location, not a secret). Token shapes have their own
fixed minimum lengths.

Streaming: `StreamMasker.feed` keeps back the line in progress (at most `carry`
bytes, the longest possible secret) until the next chunk, so a secret split
across two reads is still masked; `flush` releases the tail at the end. Capture
writes what each stream's masker releases to both that stream's log and the
combined log (`RunMasking.streams`): each byte is masked once. Masking never
decodes: non-UTF-8 output is masked byte for byte like any other.
"""

from __future__ import annotations

import bisect
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
# pytest shows a long value cut short: `'s3cretval...ef0123'` (saferepr in an assertion's
# explanation), `AssertionError: s3cretvalue-abc...` (the short summary). A secret of the
# environment is also masked in such an elided form once this many of its first bytes
# lead to the "...": the literal alone missed it, leaving most of the secret in place.
ELIDED = b"..."
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
        # The secret part is 24 characters (Slack's docs); from 20, as for tokens.
        rb"https://hooks\.slack\.com/services/T[A-Za-z0-9_]{1,32}/B[A-Za-z0-9_]{1,32}"
        rb"/[A-Za-z0-9_]{20,64}",
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
# Every match of a rule but private-key and url-credentials is (or holds) a run of
# at least MIN_RUN bytes of [A-Za-z0-9_-]: those rules are searched only around such
# runs (see `_windows`); the two are searched only where their anchor occurs.
_USERINFO_MAX = 2 + 128 + 1 + 256 + 1  # the longest url-credentials match, '@' last
MIN_RUN = 20
# Bytes around a run that a token's other parts may take: a webhook's URL before its
# secret part (33 + 33 + 35), a short JWT's header and payload before its signature.
_BEFORE, _AFTER = 112, 64
_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_CLASS = bytes(0x61 if b in _TOKEN_BYTES else 0x20 for b in range(256))
_RUN = b"a" * MIN_RUN
# More windows than one per this many bytes: searching everything is cheaper.
_DENSE = 2048
# More '@' than this in one search: url-credentials searches everything.
_AT_DENSE = 64
# Bytes from rarest to most common in test output (roughly): a needle is looked for
# only when its rarest byte is there, which memchr answers at ~50 GB/s.
_COMMONNESS = (
    b'@#$%^&*~|`!?;+\\{}[]<>"QZXJKVYWUBGFPHMLRDCONITSAE'
    b"qzxjkvywbgfpmuclhdrsnioate9876543210'(),.:=/_- \t\r\n"
)


def _rarest(needle: bytes) -> bytes:
    """The byte of `needle` least likely to occur in test output (unlisted: rarest)."""
    return bytes([min(set(needle), key=lambda b: _COMMONNESS.find(bytes([b])))])


# A literal every match of each rule holds: a rule is searched only where the rarest
# byte of it occurs (when runs are dense, a shape's regex would read every byte).
NEEDS = {
    "aws-access-key-id": b"A",
    "github-token": b"gh",
    "github-fine-grained-token": b"github_pat_",
    "gitlab-token": b"gl",
    "gitlab-runner-token": b"GR1348941",
    "slack-token": b"xox",
    "slack-webhook": b"hooks.slack.com/services/T",
    "pypi-token": b"pypi-AgE",
    "npm-token": b"npm_",
    "stripe-key": b"k_live_",
    "sendgrid-key": b"SG.",
    "openai-key": b"T3BlbkFJ",
    "jwt": b".eyJ",
    "private-key": b"PRIVATE KEY",
    "putty-key": b"PuTTY-User-Key-File-",
    "url-credentials": b"@",
}
_GATE = {name: _rarest(needs) for name, needs in NEEDS.items()}
_ANCHORED = frozenset({"private-key", "url-credentials"})  # hold no run of MIN_RUN


def _windows(data: bytes) -> list[tuple[int, int]] | None:
    """Stretches of `data` around each run of MIN_RUN token bytes, merged; None
    when there are so many that searching the whole of it is cheaper."""
    marks = data.translate(_CLASS)  # C speed: token bytes become "a", others " "
    out: list[tuple[int, int]] = []
    n = len(data)
    limit = n // _DENSE + 1
    pos = marks.find(_RUN)
    while pos >= 0:
        end = marks.find(b" ", pos + MIN_RUN)
        end = n if end < 0 else end
        a, b = max(0, pos - _BEFORE), min(n, end + _AFTER)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
            if len(out) > limit:
                return None
        pos = marks.find(_RUN, end)
    return out


def _widen(wins: list[tuple[int, int]], margin: int, n: int) -> list[tuple[int, int]]:
    """`wins` each widened by `margin` on both sides, merged (no match found twice)."""
    out: list[tuple[int, int]] = []
    for a, b in wins:
        a, b = max(0, a - margin), min(n, b + margin)
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _longest_run(data: bytes) -> int:
    return max(map(len, data.translate(_CLASS).split()), default=0)


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


Match = tuple[int, int, str]  # start, end, rule (a literal's rule is "env:<NAME>")


def _finditer(rx: re.Pattern[bytes], data: bytes, a: int, b: int, name: str) -> list[Match]:
    """Every match of `rx` found inside data[a:b], each taken to its full extent."""
    out = []
    m = rx.search(data, a, b)
    while m is not None:
        full = rx.match(data, m.start()) or m  # it may reach past b
        out.append((full.start(), full.end(), name))
        m = rx.search(data, max(full.end(), m.start() + 1), b)
    return out


@dataclass(frozen=True)
class Masker:
    """The compiled rules of one run. Immutable; `StreamMasker` holds per-file state.

    Finding costs about one pass of C-speed scans over the bytes, whatever the
    number of rules: `bytes.translate` and `bytes.find` locate the runs of token
    bytes that all shapes but two need, and only the windows around them are
    searched with those shapes' regexes (log-like output has none); the other two
    are searched only where their anchor occurs; each literal of the environment is
    looked for inside the windows when it holds such a run, else with `bytes.find`
    once its rarest byte is seen (memchr). Python's `re` would try every branch of
    one alternation at every byte (~10 MB/s), and one regex per rule over
    everything costs a pass per rule (docs/safety.md has the measurements).
    Matches are found on the original bytes and the union of their spans is
    masked, so one scan decides both what a stream may release and how to mask it.
    """

    literals: tuple[tuple[bytes, str], ...]  # longest first
    rules: tuple[tuple[Rule, re.Pattern[bytes]], ...]
    carry: int
    multiline: bool  # a secret of the environment holds a newline
    # How each literal is looked for: (literal, rule, window margin or -1, rarest byte)
    _plan: tuple[tuple[bytes, str, int, bytes], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        plan = []
        for lit, name in self.literals:
            margin = len(lit) if _longest_run(lit) >= MIN_RUN else -1
            plan.append((lit, name, margin, _rarest(lit)))
        object.__setattr__(self, "_plan", tuple(plan))

    def tokens(self, data: bytes, lo: int = 0) -> list[Match]:
        """(start, end, rule) of every token-shape match starting at or after `lo`,
        overlapping matches included, sorted."""
        view = data[lo:] if lo else data
        found = self._tokens(view, _windows(view))
        return sorted((a + lo, b + lo, n) for a, b, n in found) if lo else sorted(found)

    def _tokens(self, data: bytes, wins: list[tuple[int, int]] | None) -> list[Match]:
        out: list[Match] = []
        spans = wins if wins is not None else [(0, len(data))]
        for rule, rx in self.rules:
            name = rule.name
            if not spans and name not in _ANCHORED:  # no run: no match of this rule
                continue
            if _GATE[name] not in data:  # memchr
                continue
            if name == "url-credentials":
                out += _around_at(rx, data, name)
            elif name == "private-key":
                if NEEDS[name] in data:
                    out += [(m.start(), m.end(), name) for m in rx.finditer(data)]
            else:
                for a, b in spans:
                    out += _finditer(rx, data, a, b, name)
        return out

    def matches(self, data: bytes) -> list[Match]:
        """Every literal and token-shape match in `data`, sorted by start."""
        wins = _windows(data)
        found = self._tokens(data, wins)
        n = len(data)
        for lit, name, margin, rare in self._plan:
            if margin >= 0 and wins is not None:
                spans = _widen(wins, margin, n)
            elif rare in data and lit in data:
                spans = [(0, n)]
            else:
                continue
            size = len(lit)
            for a, b in spans:
                i = data.find(lit, a, b)
                while i >= 0:
                    found.append((i, i + size, name))
                    i = data.find(lit, i + size, b)
        if self.literals and ELIDED in data:
            found += self._elided(data)
        found.sort()
        return found

    def mask(self, data: bytes, counts: Counter[str]) -> bytes:
        return _apply(data, self.matches(data), counts)

    def _elided(self, data: bytes) -> list[Match]:
        """Secrets shown cut short: looked for only in the stretch before each "..."
        that a secret could fill (test output has few), or everywhere when they are many."""
        longest, n = len(self.literals[0][0]), len(data)
        spans: list[tuple[int, int]] = []
        seen, limit = 0, n // _DENSE + 1
        p = data.find(ELIDED)
        while p >= 0:
            seen += 1
            if seen > limit:
                spans = [(0, n)]
                break
            a, b = max(0, p - longest), min(n, p + len(ELIDED) + longest)
            if spans and a <= spans[-1][1]:
                spans[-1] = (spans[-1][0], b)
            else:
                spans.append((a, b))
            p = data.find(ELIDED, p + len(ELIDED))
        out: list[Match] = []
        for lit, name in self.literals:
            if len(lit) > MIN_LENGTH:
                for a, b in spans:
                    out += _elided(data, lit, name, a, b)
        return out


def _elided(data: bytes, lit: bytes, name: str, a: int, b: int) -> list[Match]:
    """`lit` shown cut short in data[a:b]: "..." between a proper prefix of it and a
    proper suffix (pytest's saferepr keeps both ends; its short summary only the start),
    either of them at least MIN_LENGTH bytes, the other as long as it matches."""
    out: list[Match] = []
    size, n, dots = len(lit), len(data), len(ELIDED)
    head = lit[:MIN_LENGTH]
    i = data.find(head, a, b)
    while i >= 0:  # the start, then "...", then any end of it
        k = MIN_LENGTH
        while k < size and i + k < n and data[i + k] == lit[k]:
            k += 1
        end = i + k
        if k < size and data.startswith(ELIDED, end):  # the whole literal is masked as such
            end += dots
            tail = min(size - 1, n - end)
            while tail and data[end : end + tail] != lit[size - tail :]:
                tail -= 1
            out.append((i, end + tail, name))
        i = data.find(head, i + 1, b)
    foot = lit[-MIN_LENGTH:]
    j = data.find(foot, a, b)
    while j >= 0:  # the end, after "..." and a start of it too short to be found above
        k = MIN_LENGTH
        while k < size and j + MIN_LENGTH - k > 0 and data[j + MIN_LENGTH - k - 1] == lit[-k - 1]:
            k += 1
        start = j + MIN_LENGTH - k
        if k < size and start >= dots and data[start - dots : start] == ELIDED:
            start -= dots
            lead = min(size - 1, start)
            while lead and data[start - lead : start] != lit[:lead]:
                lead -= 1
            out.append((start - lead, j + MIN_LENGTH, name))
        j = data.find(foot, j + 1, b)
    return out


def _around_at(rx: re.Pattern[bytes], data: bytes, name: str) -> list[Match]:
    """url-credentials ends at an '@' (found at memchr speed): search just before each."""
    ats: list[int] = []
    i = data.find(b"@")
    while i >= 0:
        if len(ats) == _AT_DENSE:
            return [(m.start(), m.end(), name) for m in rx.finditer(data)]
        ats.append(i)
        i = data.find(b"@", i + 1)
    out: list[Match] = []
    done = 0
    for at in ats:
        found = _finditer(rx, data, max(done, at - _USERINFO_MAX), at + 1, name)
        if found:
            out += found
            done = found[-1][1]
    return out


def _apply(data: bytes, found: list[Match], counts: Counter[str]) -> bytes:
    """`data` with the union of the spans of `found` (sorted by start) masked.

    Counted as when literals were replaced before shapes were searched: each
    occurrence of a literal unless inside a longer one; a token-shape match unless
    it lies inside a literal (a GITHUB_TOKEN value counts as `env:GITHUB_TOKEN`
    only) or overlaps a token-shape match already counted.
    """
    if not found:
        return data
    lit_starts: list[int] = []
    lit_ends: list[int] = []
    for s, e, name in sorted((s, -e, n) for s, e, n in found if n.startswith("env:")):
        e = -e
        if lit_ends and e <= lit_ends[-1]:  # inside the one counted before
            continue
        counts[name] += 1
        lit_starts.append(s)
        lit_ends.append(e)
    tok_end = 0
    merged: list[list[int]] = []
    for s, e, name in found:
        if merged and s < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
        if name.startswith("env:") or s < tok_end:
            continue
        k = bisect.bisect_right(lit_starts, s) - 1
        if k >= 0 and e <= lit_ends[k]:
            continue
        counts[name] += 1
        tok_end = e
    parts, at = [], 0
    for s, e in merged:
        parts += [data[at:s], MASK]
        at = e
    parts.append(data[at:])
    return b"".join(parts)


def build(environ: Mapping[str, str] | None = None) -> Masker:
    """The masker for a run whose environment is `environ` (None: token shapes only)."""
    literals = env_secrets(environ) if environ is not None else {}
    return Masker(
        literals=tuple(sorted(literals.items(), key=lambda kv: -len(kv[0]))),
        rules=_shapes(),
        # An elided form is at most a secret's length twice, plus the dots.
        carry=max([RULES_MAX, *(2 * len(lit) + len(ELIDED) for lit in literals)]),
        multiline=any(b"\n" in lit for lit in literals),
    )


def _settle(found: list[Match], cut: int, n: int) -> int:
    """Where a stream of `n` bytes may be cut near `cut` without cutting a match.

    A match that may go on in the next chunk (it ends within _SLACK of the end) is
    held back whole; a complete one across the cut is released whole; anything else
    across the cut moves the cut back to its start.
    """
    hold = min([s for s, e, _ in found if e + _SLACK >= n], default=n)
    cut = min(cut, hold)
    for s, e, _ in found:  # sorted by start: the cut only moves forward here
        if s >= cut:
            break
        if cut < e <= hold:
            cut = e
    moved = True
    while moved:
        moved = False
        for s, e, _ in found:
            if s < cut < e:
                cut, moved = s, True
    return cut


class StreamMasker:
    """Masks one output stream chunk by chunk, holding back at most `carry` bytes.

    `also` is a second tally the counts go to as well: the combined log, which is
    written with the bytes this masker releases.
    """

    def __init__(self, masker: Masker, also: Counter[str] | None = None) -> None:
        self.masker = masker
        self.counts: Counter[str] = Counter()
        self.also = also
        self._tail = b""

    @property
    def pending(self) -> int:
        return len(self._tail)

    def _release(self, out: bytes, found: list[Match]) -> bytes:
        if not found:
            return out
        got: Counter[str] = Counter()
        out = _apply(out, found, got)
        self.counts.update(got)
        if self.also is not None:
            self.also.update(got)
        return out

    def feed(self, chunk: bytes) -> bytes:
        buf = self._tail + chunk if self._tail else chunk
        n, carry = len(buf), self.masker.carry
        if n <= carry and b"\n" not in buf:
            self._tail = buf
            return b""
        # Hold back the line in progress (no token spans lines; a PEM block in progress
        # is a match reaching the end, held back by _settle), or `carry` bytes when a
        # line is that long or a secret of the environment spans lines: the file lags
        # the stream by little, and a SIGKILL loses at most the unfinished line.
        nl = buf.rfind(b"\n", max(0, n - carry))
        cut = max(n - carry if nl < 0 or self.masker.multiline else nl + 1, 0)
        found = self.masker.matches(buf)  # the one scan: the tail is searched again next time
        cut = _settle(found, cut, n)
        out, self._tail = buf[:cut], buf[cut:]
        if not out:
            return b""
        return self._release(out, [m for m in found if m[1] <= cut])

    def flush(self) -> bytes:
        out, self._tail = self._tail, b""
        return self._release(out, self.masker.matches(out)) if out else b""


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

    def streams(self, rels: Mapping[str, str], combined: str) -> dict[str, StreamMasker]:
        """A masker per stream (key -> file) whose released bytes also make up the
        file `combined`: its counts are theirs added up, since it holds those bytes."""
        if self.masker is None:
            return {}
        both = self.counts[combined] = Counter()
        out = {}
        for key, rel in rels.items():
            sm = StreamMasker(self.masker, also=both)
            self.counts[rel] = sm.counts
            out[key] = sm
        return out

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
