"""`pip install dbreview` (no extras) in a fresh virtualenv: no server packages, and `check` reviews the sample.

Installs from this checkout with pip (PyPI for the core dependencies), so it takes a minute; it runs once per suite.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SERVER_PACKAGES = {"fastapi", "uvicorn", "starlette", "sqlalchemy", "alembic", "redis", "psycopg", "psycopg-binary",
                   "huey", "anthropic", "pygithub", "httpx", "pyjwt", "uvloop", "httptools"}
HEAVY_IMPORTS = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "redis", "psycopg", "huey", "anthropic", "github",
                 "httpx", "jwt")


def _run(args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "ANTHROPIC_API_KEY")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=900, **kw)  # type: ignore[call-overload]


@pytest.fixture(scope="module")
def core_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("core") / "venv"
    made = _run([sys.executable, "-m", "venv", str(venv)])
    assert made.returncode == 0, made.stderr
    installed = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(REPO)])
    assert installed.returncode == 0, installed.stderr[-3000:]
    return venv


def test_core_install_has_no_server_packages(core_venv: Path) -> None:
    listed = _run([str(core_venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"])
    names = {line.split("==")[0].lower() for line in listed.stdout.splitlines() if line}
    assert not names & SERVER_PACKAGES, names & SERVER_PACKAGES
    probe = _run([str(core_venv / "bin" / "python"), "-c",
                  "import sys, bot.cli, bot.pipeline, bot.config, bot.report.summary, bot.report.sarif, bot.checks; "
                  "print(' '.join(sorted(m for m in sys.modules)))"])
    assert probe.returncode == 0, probe.stderr
    loaded = {m.split(".")[0] for m in probe.stdout.split()}
    assert not loaded & set(HEAVY_IMPORTS)


def test_core_install_reviews_the_sample_like_the_full_install(core_venv: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    args = ["check", "--repo", str(REPO / "examples" / "marketplace"), "--diff",
            str(REPO / "examples" / "vendor-payouts.patch"), "--format", "concise"]
    core = _run([str(core_venv / "bin" / "dbreview"), *args], cwd=str(REPO))
    assert core.returncode == 1, core.stderr  # the sample has errors: exit 1 on purpose
    assert main([*args, "--no-llm"]) == 1
    assert core.stdout == capsys.readouterr().out
    for command in (["rules"], ["explain", "prisma/float-money"], ["config-schema"]):
        assert _run([str(core_venv / "bin" / "dbreview"), *command]).returncode == 0, command


@pytest.mark.parametrize(("command", "extra"), [(["serve"], "app"), (["worker"], "app"), (["action"], "github"),
                                                (["trace", "--database-url", "postgresql://u@h/d"], "trace")])
def test_core_install_names_the_missing_extra(core_venv: Path, command: list[str], extra: str) -> None:
    done = _run([str(core_venv / "bin" / "dbreview"), *command])
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and f"pip install 'dbreview[{extra}]'" in done.stderr
