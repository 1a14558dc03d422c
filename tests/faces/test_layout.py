"""The shape of the package: rooms by role, imports that run one way only, a light `check`.

Imports are read from the source (module level, inside functions and under TYPE_CHECKING alike), so an
import hidden from linters still counts.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "conformance"
ROOMS = ("contract", "model", "report", "offline", "reference", "live")
FACES = ("cli", "pytest_plugin", "schemathesis_hooks", "strategies", "__main__", "regen")
# room -> the rooms it may import (besides itself and conformance.errors / conformance.__init__)
ALLOWED = {
    "contract": set(),
    "model": {"contract"},
    "report": {"contract"},
    "offline": {"report", "contract"},
    "reference": {"model", "contract"},
    "live": {"reference", "report", "contract"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    """The package's modules that `name` imports anywhere in its source."""
    found = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {module for module in found if module in MODULES and module != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_sits_in_a_room_or_is_a_face():
    top = sorted(m.split(".")[1] for m in MODULES if m.count(".") == 1 and m.split(".")[1] not in ROOMS)
    assert top == sorted([*FACES, "errors"])


def test_every_room_says_what_it_holds_and_may_import():
    for room in ROOMS:
        doc = ast.get_docstring(ast.parse((PACKAGE / room / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc, f"conformance/{room}/__init__.py needs a docstring naming its imports"


def test_no_import_cycles():
    visiting, done, cycles = [], set(), []

    def visit(module: str) -> None:
        if module in visiting:
            cycles.append(visiting[visiting.index(module):] + [module])
            return
        if module in done:
            return
        visiting.append(module)
        for imported in sorted(GRAPH[module]):
            visit(imported)
        visiting.pop()
        done.add(module)

    for module in sorted(GRAPH):
        visit(module)
    assert cycles == []


@pytest.mark.parametrize("room", ROOMS)
def test_rooms_import_only_downwards(room):
    wrong = sorted(f"{module} -> {imported}" for module, imports in GRAPH.items() if _room(module) == room
                   for imported in imports
                   if _room(imported) != room and _room(imported) not in ALLOWED[room] | {"errors", ""})
    assert wrong == []


def test_the_reference_deployment_never_imports_the_judge():
    """An implementation that shares code with its judge proves less."""
    judging = {"conformance.contract.judge", "conformance.contract.catalogue"}
    reached, frontier = set(), [m for m in GRAPH if _room(m) == "reference"]
    while frontier:
        module = frontier.pop()
        if module not in reached:
            reached.add(module)
            frontier.extend(GRAPH[module])
    assert reached & judging == set()


def test_check_loads_no_http_client_pytest_or_schemathesis(tmp_path):
    payload = Path(__file__).resolve().parents[2] / "cases" / "payloads" / "base"
    probe = ("import sys, runpy\n"
             "sys.argv = ['hems-conformance', 'check', sys.argv[1], '--report-dir', sys.argv[2]]\n"
             "try:\n    runpy.run_module('conformance', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             "import json\nprint(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
             "('requests', 'authlib', 'pytest', '_pytest', 'schemathesis'))), file=sys.stderr)\n")
    result = subprocess.run([sys.executable, "-c", probe, str(payload), str(tmp_path / "reports")],
                            capture_output=True, text=True, timeout=120, check=False)
    loaded = json.loads(result.stderr.strip().splitlines()[-1])
    assert loaded == []


@pytest.mark.parametrize("command", [[], ["run"], ["check"], ["serve"], ["invariants"], ["report"],
                                     ["report", "compare"]])
def test_every_subcommand_has_help(command):
    result = subprocess.run([sys.executable, "-m", "conformance", *command, "--help"], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout
