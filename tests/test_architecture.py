"""The tree tells the architecture: packages import one way, the way the data flows, and every package
ships in the wheel."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
PACKAGE = PROJECT / "include" / "revcert"

# Lower may never import higher. Packages without a rank (warehouse, snapshots, standins) are shared
# tools every stage may use; they import no stage themselves (checked below).
FLOW = {"extraction": 1, "staging": 2, "methodology": 3, "certification": 4, "publishing": 5, "notifications": 5,
        "reconciliation": 6, "monitoring": 6, "analytics": 6, "orchestration": 9, "ui": 9, "local": 10,
        "bench": 11}
SHARED = {"warehouse", "snapshots", "standins"}


def package_imports() -> set[tuple[str, str]]:
    """(importing package, imported package) for every import between top-level packages of revcert."""
    arrows = set()
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).parts
        if len(parts) < 2:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            modules = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                       [alias.name for alias in node.names] if isinstance(node, ast.Import) else [])
            for module in modules:
                target = module.split(".")
                if target[0] == "revcert" and len(target) > 1 and (PACKAGE / target[1]).is_dir() \
                        and target[1] != parts[0]:
                    arrows.add((parts[0], target[1]))
    return arrows


def test_packages_import_one_way_with_the_flow():
    arrows = package_imports()
    cycles = sorted({tuple(sorted(arrow)) for arrow in arrows if arrow[::-1] in arrows})
    upward = sorted((a, b) for a, b in arrows if a in FLOW and b in FLOW and FLOW[b] > FLOW[a])
    assert cycles == [] and upward == []
    assert arrows, "the graph is empty: the walk found no imports"


def test_shared_packages_import_no_stage():
    stages = {b for a, b in package_imports() if a in SHARED and b in FLOW}
    assert stages == set()


def test_production_code_never_imports_the_tooling():
    importers = {a for a, b in package_imports() if b in ("local", "bench") and a not in ("local", "bench")}
    assert importers == set()


def test_every_package_is_listed_for_the_wheel():
    listed = set(tomllib.loads((PROJECT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    on_disk = {"revcert." + ".".join(p.parent.relative_to(PACKAGE).parts) if p.parent != PACKAGE else "revcert"
               for p in PACKAGE.rglob("__init__.py")}
    assert on_disk <= listed
    assert {"revcert.sql", "revcert.overrides", "revcert.dags", "revcert.plugins"} <= listed
