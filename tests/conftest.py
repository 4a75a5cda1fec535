from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = REPO_ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    """The shared corpus of real Prisma projects (../shared/corpus); read in place, never copied.

    It lives beside the checkout in this project's workplace, where .ci/run sets DBREVIEW_REQUIRE_CORPUS=1 so a
    missing corpus fails the run. Elsewhere (a clone on GitHub) the corpus tests are skipped, saying why."""
    if not CORPUS.is_dir():
        if os.environ.get("DBREVIEW_REQUIRE_CORPUS") == "1":
            pytest.fail(f"the shared corpus is missing at {CORPUS}")
        pytest.skip(f"the shared corpus is not beside this checkout ({CORPUS})")
    return CORPUS


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
