"""Run the Dockerfile's build stage without Docker: its COPY, ENV, WORKDIR and RUN steps in a fresh temp dir and venv.

    python tests/github/dockerfile_smoke.py [--keep]

Machines without a Docker engine (this one, CI) still prove the image's install steps work from a clean context:
only what the Dockerfile COPYs is present, `/opt/dbreview` becomes a temp virtualenv, and the installed
`dbreview --help` (and the ENTRYPOINT's command) must run. Exit status 0 on success.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    return out


def build_stage(steps: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The first stage (the one that installs); the final stage only copies its result."""
    stage: list[tuple[str, str]] = []
    for word, rest in steps:
        if word == "FROM" and stage:
            break
        stage.append((word, rest))
    return stage


def run(keep: bool = False) -> int:
    steps = instructions((REPO / "Dockerfile").read_text())
    root = Path(tempfile.mkdtemp(prefix="dbreview-docker-"))
    venv_dir = root / "opt" / "dbreview"
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    workdir = root
    python = shutil.which("python3.11") or sys.executable

    def rewrite(cmd: str) -> str:
        cmd = cmd.replace("/opt/dbreview", str(venv_dir))
        return cmd.replace("python -m venv", f"{shlex.quote(python)} -m venv")

    try:
        for word, rest in build_stage(steps):
            if word == "WORKDIR":
                workdir = root / rest.lstrip("/")
                workdir.mkdir(parents=True, exist_ok=True)
            elif word == "ENV":
                for part in shlex.split(rest):
                    if "=" in part:
                        key, _, value = part.partition("=")
                        env[key] = value
            elif word == "COPY":
                *sources, dest = shlex.split(rest)
                target = workdir / dest
                for src in sources:
                    path = REPO / src
                    if path.is_dir():
                        shutil.copytree(path, target if not dest.endswith("/") else target / path.name,
                                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                    else:
                        target.mkdir(parents=True, exist_ok=True) if dest.endswith("/") else None
                        shutil.copy2(path, target / path.name if dest.endswith("/") else target)
            elif word == "RUN":
                cmd = rewrite(rest)
                print(f"+ {cmd}", flush=True)
                subprocess.run(["bash", "-euo", "pipefail", "-c", cmd], cwd=workdir, env=env, check=True)
        entry = next((rest for word, rest in reversed(steps) if word == "ENTRYPOINT"), '["dbreview"]')
        program = Path(venv_dir / "bin" / __import__("json").loads(entry)[0])
        result = subprocess.run([str(program), "--help"], capture_output=True, text=True, env=env)
        print(result.stdout[:400])
        if result.returncode != 0 or "usage" not in result.stdout.lower():
            print(f"`dbreview --help` failed ({result.returncode}): {result.stderr[:800]}", file=sys.stderr)
            return 1
        print(f"dockerfile smoke: ok (venv at {venv_dir})")
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"dockerfile smoke: a RUN step failed with {exc.returncode}", file=sys.stderr)
        return 1
    finally:
        if not keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(run(keep="--keep" in sys.argv))
