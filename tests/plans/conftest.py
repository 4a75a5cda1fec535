"""Plan tests: translation is pure; the measuring tests use the PostgreSQL server of this machine (127.0.0.1:5432,
maintenance db `test`, shared with other developers: every run works in its own dbreview_trace_* databases and the
tests check that they are dropped)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
