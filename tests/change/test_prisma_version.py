from __future__ import annotations

import json

import pytest
from change_fixtures import base_tree

from bot.checks.change.prisma_version import detect, parse_range, splits_statements
from bot.testing import context_for


@pytest.mark.parametrize(
    ("spec", "low", "high", "exact"),
    [
        ("5.22.0", (5, 22, 0), (5, 22, 1), True),
        ("^5.22.0", (5, 22, 0), (6, 0, 0), False),
        ("~7.3.1", (7, 3, 1), (7, 4, 0), False),
        ("7.x", (7, 0, 0), (8, 0, 0), False),
        (">=6.0.0 <7.4.0", (6, 0, 0), (7, 4, 0), False),
        (">=6.0.0", (6, 0, 0), None, False),
        ("latest", None, None, False),
        ("workspace:*", None, None, False),
        ("npm:prisma@7.5.0", (7, 5, 0), (7, 5, 1), True),
    ],
)
def test_parse_range(spec, low, high, exact):
    assert parse_range(spec) == (low, high, exact)


def _with_package(deps: dict, extra: dict | None = None) -> dict[str, str]:
    tree = base_tree()
    tree["package.json"] = json.dumps({"name": "shop", "devDependencies": deps})
    tree.update(extra or {})
    return tree


def test_exact_pin_in_package_json():
    tree = _with_package({"prisma": "5.22.0"})
    ctx = context_for(tree, tree)
    found = detect(ctx)
    assert found is not None and found.low == (5, 22, 0) and found.exact
    assert splits_statements(ctx) is False


def test_caret_range_straddling_7_4_is_unknown():
    tree = _with_package({"prisma": "^7.2.0"})
    assert splits_statements(context_for(tree, tree)) is None


def test_caret_range_above_7_4_splits():
    tree = _with_package({"prisma": "^7.5.0"})
    assert splits_statements(context_for(tree, tree)) is True


def test_lockfile_wins_over_range():
    lock = json.dumps({"lockfileVersion": 3, "packages": {
        "": {"devDependencies": {"prisma": "^7.2.0"}},
        "node_modules/prisma": {"version": "7.8.0"},
        "node_modules/@prisma/client": {"version": "7.8.0"},
    }})
    tree = _with_package({"prisma": "^7.2.0"}, {"package-lock.json": lock})
    found = detect(context_for(tree, tree))
    assert found is not None and found.exact and found.low == (7, 8, 0) and found.source == "package-lock.json"


def test_pnpm_lock_importer_version():
    lock = ("lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    devDependencies:\n      prisma:\n"
            "        specifier: ^6.1.0\n        version: 6.19.3(typescript@5.6.3)\n")
    tree = _with_package({"prisma": "^6.1.0"}, {"pnpm-lock.yaml": lock})
    found = detect(context_for(tree, tree))
    assert found is not None and found.low == (6, 19, 3) and found.exact


def test_yarn_lock_version():
    lock = ('# yarn lockfile v1\n\n\n"@prisma/client@^5.0.0":\n  version "5.10.2"\n\n'
            'prisma@^5.0.0:\n  version "5.10.2"\n  resolved "https://registry.yarnpkg.com/prisma/-/prisma-5.10.2.tgz"\n')
    tree = _with_package({"prisma": "^5.0.0"}, {"yarn.lock": lock})
    found = detect(context_for(tree, tree))
    assert found is not None and found.low == (5, 10, 2) and found.package == "prisma"


def test_monorepo_package_next_to_the_schema_is_preferred():
    tree = {f"packages/db/{p}": t for p, t in base_tree().items() if p != "package.json"}
    tree["package.json"] = json.dumps({"name": "root", "devDependencies": {"turbo": "2.0.0"}})
    tree["packages/db/package.json"] = json.dumps({"name": "db", "dependencies": {"@prisma/client": "6.2.1"}})
    found = detect(context_for(tree, tree))
    assert found is not None and found.source == "packages/db/package.json" and found.package == "@prisma/client"


def test_no_package_json_means_unknown():
    tree = {p: t for p, t in base_tree().items() if p != "package.json"}
    ctx = context_for(tree, tree)
    assert detect(ctx) is None and splits_statements(ctx) is None
