"""Workflow-command escaping, Markdown cells and the CI variable allow-list."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from repro import ci


def unescape(text: str) -> str:
    return re.sub(r"%(25|0D|0A|3A|2C)", lambda m: chr(int(m.group(1), 16)), text)


@given(st.text())
def test_a_property_survives_escaping_and_cannot_end_the_command(value):
    escaped = ci.escape_property(value)
    assert unescape(escaped) == value
    assert not set(escaped) & set("\r\n:,")


@given(st.text())
def test_a_message_survives_escaping_on_one_line(value):
    escaped = ci.escape_data(value)
    assert unescape(escaped) == value
    assert "\n" not in escaped and "\r" not in escaped


@given(st.text())
def test_a_markdown_cell_is_one_line_without_a_bare_pipe_or_tag(value):
    cell = ci.md_cell(value)
    assert "\n" not in cell and "\r" not in cell
    assert "|" not in cell and "<" not in cell
    assert len(cell) <= 6 * ci.MAX_CELL  # an escape is at most 6 characters


def test_gitlab_record_keeps_the_allow_list_and_no_token():
    env = {
        "GITLAB_CI": "true",
        "CI_PIPELINE_ID": "1234",
        "CI_JOB_ID": "5678",
        "CI_COMMIT_SHA": "a" * 40,
        "CI_COMMIT_REF_NAME": "main",
        "CI_PROJECT_PATH": "group/project",
        "CI_JOB_NAME": "repro: [3.12]",
        "CI_RUNNER_EXECUTABLE_ARCH": "linux/amd64",
        "CI_JOB_TOKEN": "secret-job-token",
        "CI_REPOSITORY_URL": "https://gitlab-ci-token:secret-job-token@gitlab.example/group/project.git",
        "CI_PIPELINE_NAME": "glpat-" + "x" * 24,  # looks like a token: dropped
    }
    record = ci.ci_record(env)
    assert record is not None and record["provider"] == "gitlab"
    assert record["run_id"] == "1234" and record["job"] == "repro: [3.12]"
    assert record["workflow"] is None
    assert "secret-job-token" not in repr(record)
    assert set(record) == {"provider", *ci.CI_VARIABLES["gitlab"]}


def test_not_ci_without_the_providers_own_flag():
    assert ci.ci_record({"CI": "true", "GITHUB_RUN_ID": "1"}) is None
    assert ci.provider({"GITHUB_ACTIONS": "false"}) is None
