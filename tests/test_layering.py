"""The layering of the tree, read from the source with ``ast``: no import cycle, no import against the flow.

Layers, bottom up:

* ``errors``, ``clock`` and ``configbase`` (the base of every config section) import nothing of ours;
  ``schemas`` (the contract) imports only ``errors``;
* ``governance`` (pure human facts: incidents, overrides, suspensions) imports only ``errors``, ``schemas``,
  ``clock`` and its own section;
* ``config`` assembles the packages' own section models (``<package>.config``) and may read ``schemas``;
* ``broker`` may use ``config`` and ``errors``;
* the runtime packages ``proxy``, ``streams``, ``ledger``, ``reports``, ``ingest`` import only
  ``schemas``, ``governance``, ``broker``, ``errors``, ``clock``, ``config`` and themselves, never each other,
  ``cli`` or ``devstack``;
* ``devstack`` (what ``up`` and ``demo`` run) may import every layer but ``cli``; ``cli`` sits on top
  and only ``__main__`` imports it.

Every import counts, also the ones inside functions (a lazy import still couples two modules, and
the classify engine/detectors cycle hid behind one); only ``if TYPE_CHECKING:`` imports are left out
of the cycle check, since they never run.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = "ledgergate"
NOT_SOURCE = {"tests", "bench", "compose", "defaults", "build", "dist", "demo-output"}
RUNTIME = {"proxy", "streams", "ledger", "reports", "ingest"}
BASE = {"schemas", "governance", "broker", "errors", "clock", "configbase", "config"}
LEAVES = {"errors", "clock", "configbase"}  # import nothing of ours


@dataclass(frozen=True)
class Edge:
    src: str  # importing module, dotted
    dst: str  # imported module, dotted
    line: int
    type_checking: bool

    def where(self) -> str:
        return f"{self.src.removeprefix(PKG + '.').replace('.', '/')}.py:{self.line} imports {self.dst}"


def module_files() -> dict[str, Path]:
    """Every module of the package (dotted name → file)."""
    out: dict[str, Path] = {}
    tops = [p for p in ROOT.iterdir() if p.name not in NOT_SOURCE and not p.name.startswith(".")
            and (p.suffix == ".py" or (p / "__init__.py").exists())]
    for path in sorted(f for top in tops for f in ([top] if top.is_file() else top.rglob("*.py"))):
        rel = path.relative_to(ROOT)
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join([PKG, *parts])] = path
    return out


def _is_package(name: str, files: dict[str, Path]) -> bool:
    return name in files and files[name].name == "__init__.py"


def _type_checking_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                lines.update(range(child.lineno, (child.end_lineno or child.lineno) + 1))
    return lines


def imports_of(name: str, files: dict[str, Path]) -> list[Edge]:
    """The modules of ours that module ``name`` imports."""
    tree = ast.parse(files[name].read_text("utf-8"), str(files[name]))
    guarded = _type_checking_lines(tree)
    package = name if _is_package(name, files) else name.rpartition(".")[0]
    edges = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from pkg import mod` imports the module pkg.mod; `from mod import obj` imports mod
            subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in files]
            targets = subs if len(subs) == len(node.names) else [base, *subs]
        for t in targets:
            if t == PKG or t.startswith(PKG + "."):
                edges.append(Edge(name, _known(t, files), node.lineno, node.lineno in guarded))
    return edges


def _known(dotted: str, files: dict[str, Path]) -> str:
    """The module a dotted import names (an attribute path is cut back to its module)."""
    while dotted not in files and "." in dotted:
        dotted = dotted.rpartition(".")[0]
    return dotted


def component(name: str) -> str:
    """The top-level part a module belongs to: ``ledgergate.proxy.app`` → ``proxy``."""
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def breach(edge: Edge) -> str | None:
    """Why ``edge`` goes against the layering, or None when it is allowed."""
    src, dst = component(edge.src), component(edge.dst)
    if src == dst:
        return None
    if src == "__init__":
        return "the package's __init__ imports nothing"
    if src in LEAVES:
        return f"{src} is the bottom layer and imports nothing of ours"
    if src == "schemas":
        return None if dst == "errors" else "schemas (the contract) imports only errors"
    if src == "governance":
        return None if dst in {"errors", "schemas", "clock", "configbase"} else \
            "governance imports only errors, schemas, clock and configbase"
    if dst in {"cli", "__main__"}:
        return None if src == "__main__" else "nothing imports the CLI: it is the top"
    if dst == "devstack":
        return None if src == "cli" else "only the CLI imports devstack"
    if src == "config":
        section = edge.dst.endswith(".config") and dst in RUNTIME | {"broker", "governance"}
        return None if dst in {"schemas", "errors", "configbase"} or section else \
            "config imports only schemas, errors, configbase and the packages' own <package>.config sections"
    if src == "broker":
        return None if dst in {"config", "configbase", "errors", "schemas", "clock"} else \
            "broker imports only config, configbase, errors, clock and schemas"
    if src in RUNTIME:
        return None if dst in BASE else f"{src} may import only {sorted(BASE)} and itself, not {dst}"
    return None  # cli and devstack sit on top


def all_edges() -> list[Edge]:
    files = module_files()
    return [e for name in files for e in imports_of(name, files)]


def _entered_packages(src: str, dst: str) -> list[str]:
    """The packages whose ``__init__`` runs when ``src`` imports ``dst`` (those ``src`` is not inside)."""
    parts = dst.split(".")
    ancestors = [".".join(parts[:i]) for i in range(2, len(parts))]
    return [a for a in ancestors if not (src == a or src.startswith(a + "."))]


def cycles(edges: list[Edge]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan).

    Importing ``a.b.c`` from outside ``a.b`` also runs ``a/__init__`` and ``a/b/__init__``: those count
    as imports too (a package ``__init__`` that re-exports is where such cycles hide).
    """
    graph: dict[str, set[str]] = {}
    for e in edges:
        if not e.type_checking and e.src != e.dst:
            for dst in [*_entered_packages(e.src, e.dst), e.dst]:
                if dst != e.src:
                    graph.setdefault(e.src, set()).add(dst)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


EDGES = all_edges()


def test_the_walk_sees_the_tree() -> None:
    files = module_files()
    assert {"ledgergate.cli.app", "ledgergate.proxy.app", "ledgergate.schemas.codec", "ledgergate.errors"} <= set(files)
    pairs = {(e.src, e.dst) for e in EDGES}
    assert ("ledgergate.cli.app", "ledgergate.cli.common") in pairs  # relative import
    assert ("ledgergate.ledger.store", "ledgergate.ledger.merkle") in pairs  # from . import merkle
    assert ("ledgergate.streams.decide", "ledgergate.schemas.policy") in pairs  # absolute import


def test_no_import_cycle() -> None:
    assert cycles(EDGES) == []


def test_no_import_against_the_layering() -> None:
    breaches = [f"{e.where()}: {why}" for e in EDGES if (why := breach(e))]
    assert breaches == []


def test_every_package_is_in_the_wheel() -> None:
    """pyproject lists packages explicitly (the root is the package): a package left out is missing when installed."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"])
    packages = {name for name, path in module_files().items() if path.name == "__init__.py"}
    assert packages - listed == set()


def test_the_ledger_is_imported_only_by_the_entry_points() -> None:
    users = {component(e.src) for e in EDGES
             if component(e.dst) == "ledger" and e.dst != "ledgergate.ledger.config"} - {"ledger"}
    assert users <= {"cli", "devstack"}


@pytest.mark.parametrize("src, dst, allowed", [
    ("ledgergate.proxy.app", "ledgergate.reports.render", False),
    ("ledgergate.reports.generate", "ledgergate.ledger.sign", False),
    ("ledgergate.streams.agents", "ledgergate.cli.common", False),
    ("ledgergate.ingest.mlflow", "ledgergate.devstack.demo", False),
    ("ledgergate.schemas.codec", "ledgergate.config", False),
    ("ledgergate.errors", "ledgergate.schemas.codec", False),
    ("ledgergate.devstack.demo", "ledgergate.cli.app", False),
    ("ledgergate.config", "ledgergate.proxy.app", False),
    ("ledgergate.broker.admin", "ledgergate.streams.agents", False),
    ("ledgergate.clock", "ledgergate.errors", False),
    ("ledgergate.governance.state", "ledgergate.ledger.store", False),
    ("ledgergate.config", "ledgergate.ledger.store", False),
    ("ledgergate.schemas.codec", "ledgergate.errors", True),
    ("ledgergate.proxy.app", "ledgergate.broker", True),
    ("ledgergate.config", "ledgergate.ingest.config", True),
    ("ledgergate.config", "ledgergate.ledger.config", True),
    ("ledgergate.proxy.config", "ledgergate.configbase", True),
    ("ledgergate.configbase", "ledgergate.errors", False),
    ("ledgergate.streams.agents", "ledgergate.clock", True),
    ("ledgergate.proxy.app", "ledgergate.governance.state", True),
    ("ledgergate.cli.run", "ledgergate.devstack.supervisor", True),
    ("ledgergate.devstack.demo", "ledgergate.ledger.client", True),
])
def test_the_rules_themselves(src: str, dst: str, allowed: bool) -> None:
    assert (breach(Edge(src, dst, 1, False)) is None) is allowed


def test_a_cycle_is_found_even_through_a_lazy_import() -> None:
    a, b, c = "ledgergate.x.a", "ledgergate.x.b", "ledgergate.x.c"
    assert cycles([Edge(a, b, 1, False), Edge(b, c, 1, False), Edge(c, a, 30, False)]) == [[a, b, c]]
    assert cycles([Edge(a, b, 1, False), Edge(b, a, 3, True)]) == []  # TYPE_CHECKING only


def test_a_cycle_through_a_package_init_is_found() -> None:
    # config imports broker.config, which runs broker/__init__, which imports broker.admin,
    # which imports config: the import-time failure the section split once ran into
    edges = [Edge("ledgergate.config", "ledgergate.broker.config", 1, False),
             Edge("ledgergate.broker", "ledgergate.broker.admin", 1, False),
             Edge("ledgergate.broker.admin", "ledgergate.config", 1, False)]
    assert cycles(edges) == [["ledgergate.broker", "ledgergate.broker.admin", "ledgergate.config"]]
    # inside its own package a module does not re-run the package's __init__
    assert cycles([Edge("ledgergate.broker", "ledgergate.broker.admin", 1, False),
                   Edge("ledgergate.broker.admin", "ledgergate.broker.config", 1, False)]) == []
