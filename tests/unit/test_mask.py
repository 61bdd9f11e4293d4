"""Masking: every rule, streaming across chunk boundaries, non-UTF-8, many secrets."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from repro import mask

GH = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
SAMPLES = {
    "aws-access-key-id": "AKIAIOSFODNN7EXAMPLE",
    "github-token": GH,
    "github-fine-grained-token": "github_pat_" + "11ABCDEFG0" * 8,
    "gitlab-token": "glpat-" + "x1Y2z3W4v5U6t7S8r9Q0",
    "slack-token": "xoxb-1234567890-0987654321-abcdefghijklmnop",
    "pypi-token": "pypi-AgEIcHlwaS5vcmc" + "Q" * 80,
    "npm-token": "npm_" + "a1B2" * 9,
    "sendgrid-key": "SG." + "a" * 22 + "." + "b" * 43,
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl",
    "private-key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow"
    + "A" * 300
    + "\n-----END RSA PRIVATE KEY-----",
    "url-credentials": "https://deploy:s3cret-pass@git.example.invalid/x.git",
    "gitlab-runner-token": "GR1348941" + "zX9_yW8-vU7tS6rQ5pO4",
    "slack-webhook": "https://hooks.slack.com/services/T0A1B2C3D/B4E5F6G7H/" + "aB3dE6gH9jK2" * 2,
    "stripe-key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "openai-key": "sk-" + "Ab1Cd2Ef3Gh4Ij5Kl6Mn" + "T3BlbkFJ" + "Op7Qr8St9Uv0Wx1Yz2Ab",
    "putty-key": "PuTTY-User-Key-File-3: ssh-ed25519",
}
ENV = {
    "GITHUB_TOKEN": GH,
    "MY_API_SECRET": "not-a-known-shape-but-secret-42",
    "DATABASE_URL": "postgres://app:db-pass-9911@db.invalid/app",
    "SESSION_ID": "1",  # shorter than MIN_LENGTH: never masked
    "HOME_KEY_DIR": "/",  # an existing path: a location, not a secret
}


def stream(masker: mask.Masker, data: bytes, size: int) -> tuple[bytes, Counter[str]]:
    sm = mask.StreamMasker(masker)
    out = [sm.feed(data[i : i + size]) for i in range(0, len(data), size)]
    out.append(sm.flush())
    return b"".join(out), sm.counts


@pytest.mark.parametrize("rule", sorted(SAMPLES))
def test_each_shape_is_masked_and_named(rule):
    text = f"before {SAMPLES[rule]} after\n".encode()
    counts: Counter[str] = Counter()
    out = mask.build(None).mask(text, counts)
    assert SAMPLES[rule].encode() not in out
    assert mask.MASK in out and out.startswith(b"before ")
    assert counts[rule] >= 1


def test_each_rule_names_a_literal_its_matches_hold():
    """A rule is searched only where a byte of its NEEDS literal is: every sample holds it."""
    assert set(mask.NEEDS) == {r.name for r in mask.RULES}
    for rule, sample in SAMPLES.items():
        assert mask.NEEDS[rule] in sample.encode(), rule


def test_shapes_agree_with_detect_secrets():
    """The token rules come from detect-secrets' plugins: each sample is flagged by them too."""
    from detect_secrets.core.scan import scan_line
    from detect_secrets.settings import default_settings

    with default_settings():
        for rule in (
            "aws-access-key-id",
            "github-token",
            "gitlab-token",
            "gitlab-runner-token",
            "slack-token",
            "slack-webhook",
            "stripe-key",
            "openai-key",
        ):
            assert list(scan_line(SAMPLES[rule])), rule
        for rule in ("pypi-token", "sendgrid-key", "jwt", "private-key"):
            first = SAMPLES[rule].splitlines()[0]
            assert list(scan_line(first)), rule


def test_environment_values_and_url_passwords():
    masker = mask.build(ENV)
    text = (
        f"token={GH} secret=not-a-known-shape-but-secret-42 pw=db-pass-9911 "
        'json="not-a-known-shape-but-secret-42" id=1 path=/\n'
    ).encode()
    counts: Counter[str] = Counter()
    out = masker.mask(text, counts)
    for secret in (GH, "not-a-known-shape-but-secret-42", "db-pass-9911"):
        assert secret.encode() not in out
    assert b"id=1 path=/" in out  # short and path values are left alone
    assert counts["env:MY_API_SECRET"] == 2 and counts["env:DATABASE_URL"] == 1


def test_secret_split_across_every_chunk_boundary():
    masker = mask.build(ENV)
    secrets = [GH, "not-a-known-shape-but-secret-42", SAMPLES["private-key"], SAMPLES["jwt"]]
    data = ("x" * 5000 + " ".join(secrets) + "y" * 5000).encode()
    whole, _ = stream(masker, data, len(data))
    for size in (1, 7, 64, 4096, 65536):
        out, _ = stream(masker, data, size)
        assert out == whole, size
        for s in secrets:
            assert s.encode() not in out


def test_non_utf8_output_is_masked_byte_for_byte():
    masker = mask.build(ENV)
    data = b"\xff\xfe\x80 " + GH.encode() + b" \xc3\x28 " + b"\x00" * 10
    out, counts = stream(masker, data, 3)
    assert GH.encode() not in out
    assert out == b"\xff\xfe\x80 " + mask.MASK + b" \xc3\x28 " + b"\x00" * 10
    assert sum(counts.values()) == 1


def test_json_escaped_value_is_masked():
    value = 'quote"and\\back-slash-secret'
    masker = mask.build({"THE_PASSWORD": value})
    line = json.dumps({"msg": f"assert {value} == x"}).encode()
    out = masker.mask(line, Counter())
    assert b"back-slash-secret" not in out
    json.loads(out)  # still valid JSON


def test_large_output_with_many_secrets():
    rng = random.Random(7)
    masker = mask.build(ENV)
    parts, planted = [], 0
    for _ in range(20000):
        if rng.random() < 0.05:
            parts.append(rng.choice([GH, SAMPLES["aws-access-key-id"], "db-pass-9911"]))
            planted += 1
        else:
            parts.append("".join(rng.choice("abc xyz/\n") for _ in range(rng.randint(1, 200))))
    data = " ".join(parts).encode()
    out, counts = stream(masker, data, 65536)
    for s in (GH, SAMPLES["aws-access-key-id"], "db-pass-9911"):
        assert s.encode() not in out
    assert sum(counts.values()) == planted


def test_disabled_masking_records_that_it_is_off():
    off = mask.for_run(ENV, enabled=False)
    assert off.stream("logs/stdout.log") is None
    assert off.data("x", GH.encode()) == GH.encode()
    assert off.summary()["enabled"] is False


def test_record_masking_counts_per_file():
    run = mask.for_run(ENV)
    rec = run.record("run_metadata.json", {"argv": ["-k", GH], "n": 1})
    assert rec == {"argv": ["-k", mask.MASK.decode()], "n": 1}
    assert run.summary()["counts"] == {"run_metadata.json": {"env:GITHUB_TOKEN": 1}}


def test_record_masking_with_escapes_and_non_ascii():
    value = 'pa"ss\\wörd-secret-1'
    run = mask.for_run({"THE_PASSWORD": value})
    rec = run.record("env.json", {"order": [f"t[{value}]", "plain"], value: 1})
    assert value not in json.dumps(rec, ensure_ascii=False)
    assert rec["order"] == [f"t[{mask.MASK.decode()}]", "plain"]
    assert run.summary()["counts"]["env.json"] == {"env:THE_PASSWORD": 2}


# --- the capture sinks: each stream masked once, its bytes written to two logs ----------


def sinks_run(tmp_path, writes: list[tuple[str, bytes]], env=ENV):
    """Feed `writes` (stream, chunk) in order to capture's sinks, as the read loop does."""
    from repro.capture import _Sinks

    run = mask.for_run(env)
    sinks = _Sinks(tmp_path, None, None, run)
    for name, chunk in writes:
        sinks.write(name, chunk)
    sinks.close()
    logs = {n: (tmp_path / n).read_bytes() for n in ("stdout.log", "stderr.log")}
    logs["pytest_output.txt"] = (tmp_path / "pytest_output.txt").read_bytes()
    return logs, run.summary()["counts"]


def halves(secret: str) -> list[bytes]:
    """Every prefix and suffix of `secret` long enough to name it (MIN_LENGTH bytes)."""
    raw = secret.encode()
    return [raw[:i] for i in range(mask.MIN_LENGTH, len(raw))] + [
        raw[i:] for i in range(1, len(raw) - mask.MIN_LENGTH + 1)
    ]


@pytest.mark.parametrize("secret", [GH, "not-a-known-shape-but-secret-42"])
def test_secret_split_by_the_other_stream_is_masked_in_the_combined_log(tmp_path, secret):
    """A secret whose two halves arrive in two reads of stdout with a read of stderr
    in between: the combined log (written from what the stream's masker releases)
    holds neither half, at every split point."""
    raw = secret.encode()
    for cut in range(1, len(raw)):
        folder = tmp_path / str(cut)
        logs, counts = sinks_run(
            folder,
            [
                ("stdout", b"token " + raw[:cut]),
                ("stderr", b"warning: something else\n"),
                ("stdout", raw[cut:] + b" end\n"),
            ],
        )
        for name, data in logs.items():
            assert raw not in data, (cut, name)
            assert not any(part in data for part in halves(secret)), (cut, name)
        assert logs["stdout.log"] == b"token " + mask.MASK + b" end\n"
        assert sorted(logs["pytest_output.txt"].splitlines()) == sorted(
            logs["stdout.log"].splitlines() + logs["stderr.log"].splitlines()
        )
        rule = "env:GITHUB_TOKEN" if secret == GH else "env:MY_API_SECRET"
        assert counts["logs/stdout.log"] == {rule: 1}
        assert counts["logs/pytest_output.txt"] == {rule: 1}


def test_interleaved_streams_many_secrets_every_chunk_size(tmp_path):
    """Two streams full of secrets, cut into reads of many sizes and interleaved at
    random: each log is masked as if its stream had come in one read, no secret is in
    any log, the combined log holds what the streams released in the order of the
    reads, and its counts are the two streams' sum."""
    rng = random.Random(11)
    secrets = [GH, SAMPLES["aws-access-key-id"], "db-pass-9911", SAMPLES["private-key"]]

    def stream_text(tag: str) -> bytes:
        lines = []
        for i in range(400):
            words = [f"{tag}{i}"] + [rng.choice(["x", "yy", "zzz/", "a:b"]) for _ in range(5)]
            if rng.random() < 0.2:
                words.insert(rng.randrange(len(words)), rng.choice(secrets))
            lines.append(" ".join(words))
        return ("\n".join(lines) + "\n").encode()

    out, err = stream_text("o"), stream_text("e")
    whole_out, _ = stream(mask.build(ENV), out, len(out))
    whole_err, _ = stream(mask.build(ENV), err, len(err))
    for size in (1, 5, 64, 700, 4096, 65536):
        writes, pos = [], {"stdout": 0, "stderr": 0}
        data = {"stdout": out, "stderr": err}
        while any(pos[n] < len(data[n]) for n in pos):
            name = rng.choice([n for n in pos if pos[n] < len(data[n])])
            step = rng.randint(1, size)
            writes.append((name, data[name][pos[name] : pos[name] + step]))
            pos[name] += step
        logs, counts = sinks_run(tmp_path / str(size), writes)
        assert logs["stdout.log"] == whole_out and logs["stderr.log"] == whole_err, size
        # The combined log is what each stream's masker released, in the order of the reads.
        sms = {
            "stdout": mask.StreamMasker(mask.build(ENV)),
            "stderr": mask.StreamMasker(mask.build(ENV)),
        }
        released = [sms[name].feed(chunk) for name, chunk in writes]
        released += [sms["stdout"].flush(), sms["stderr"].flush()]
        assert logs["pytest_output.txt"] == b"".join(released), size
        for secret in secrets:
            for name, log in logs.items():
                assert secret.encode() not in log, (size, name)
        both = Counter(counts["logs/stdout.log"]) + Counter(counts["logs/stderr.log"])
        assert counts["logs/pytest_output.txt"] == dict(both), size
        assert sum(both.values()) == sum(
            line.count(mask.MASK) for line in whole_out.splitlines() + whole_err.splitlines()
        )


def test_no_mask_sinks_keep_the_arrival_order(tmp_path):
    from repro.capture import _Sinks

    sinks = _Sinks(tmp_path, None, None, mask.for_run(ENV, enabled=False))
    for name, chunk in [("stdout", b"a "), ("stderr", b"b\n"), ("stdout", GH.encode() + b"\n")]:
        sinks.write(name, chunk)
    sinks.close()
    assert (tmp_path / "pytest_output.txt").read_bytes() == b"a b\n" + GH.encode() + b"\n"


def test_slack_token_minimum_is_twenty_characters():
    """docs/safety.md: Slack tokens are masked from 20 characters (real ones have ~55);
    detect-secrets flags shorter ones too, which are placeholders."""
    masker = mask.build(None)
    shortest = "xoxb-1234567890-abcd"
    assert len(shortest) == 20
    assert masker.mask(f"t={shortest}\n".encode(), Counter()) == b"t=" + mask.MASK + b"\n"
    assert masker.mask(b"t=xoxb-123456-abc\n", Counter()) == b"t=xoxb-123456-abc\n"
    real = "xoxb-" + "2" * 12 + "-" + "3" * 13 + "-" + "aB3dE6gH9jK2" * 2
    counts: Counter[str] = Counter()
    assert masker.mask(real.encode(), counts) == mask.MASK and counts == {"slack-token": 1}
