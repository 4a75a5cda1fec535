"""Installed size of the core and of each extra: fresh virtualenvs, `pip install`, bytes under site-packages.

    python bench/install_size.py [core all github llm app trace]

Uses pip's cache, so a second run does not download again. Prints one row per install: packages, MB.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def site_size(venv: Path) -> tuple[int, int]:
    site = next((venv / "lib").glob("python3*/site-packages"))
    total = 0
    for dirpath, _, files in os.walk(site):
        for name in files:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                total += os.path.getsize(path)
    listed = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                            capture_output=True, text=True, check=True).stdout.split()
    return total, len(listed)


def install(target: str, root: Path) -> tuple[int, int]:
    venv = root / target
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    spec = str(REPO) if target == "core" else f"{REPO}[{target}]"
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    spec], check=True, capture_output=True)
    return site_size(venv)


def main(targets: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="dbreview-size-") as tmp:
        base_bytes, base_pkgs = install_empty(Path(tmp))
        print(f"{'install':<10} {'packages':>8} {'MB':>8}")
        for target in targets:
            size, packages = install(target, Path(tmp))
            print(f"{target:<10} {packages - base_pkgs:>8} {(size - base_bytes) / 1e6:>8.1f}", flush=True)


def install_empty(root: Path) -> tuple[int, int]:
    venv = root / "empty"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    return site_size(venv)


if __name__ == "__main__":
    main(sys.argv[1:] or ["core", "all"])
