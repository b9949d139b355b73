"""Build the project's module import graph from the source and fail on any cycle.

Every ``import`` and ``from ... import`` counts, wherever it stands: at module level,
inside a function, or under ``if TYPE_CHECKING`` (a cycle hidden from Python at import
time is still a cycle for the reader). The graph has one node per module of the
project's own packages; an import of a package counts as an import of its
``__init__``. ``from pkg import name`` counts as importing ``pkg.name`` when that is a
module, else ``pkg``. Importing ``pkg.mod`` also counts as importing ``pkg`` when
``pkg/__init__`` imports project modules itself (it runs first).

It also checks the layering drawn in docs/architecture.md:
- every cross-app import points down the layers (tagger -> training -> annotation ->
  training.ml), except from the named seam module;
- inside each app, models import no services, and services import no tasks, views,
  API, admin or commands (services reach Celery through the app's ``jobs`` module);
- the ML core imports no Django, DRF or Celery, and torch/transformers are imported
  nowhere else.

Usage: python scripts/check_imports.py [--graph] [--root DIR]
Exit status 0 when there are no cycles and no arrows against the layering, 1 otherwise.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("tagger", "annotation", "training")

# A module may import its own layer and the layers below it, never one above:
#   tagger (project wiring: settings, URLs, Celery app)
#   training (model versions, runs, scoring, ranking, the models page and dashboard)
#   annotation (catalogue and taxonomy; review, queue, export, webhooks)
#   training.ml (the plain-Python ML core: no Django, no project imports)
LAYERS: dict[str, int] = {
    "tagger": 40,
    "training": 30,
    "annotation": 20,
    "training.ml": 10,
}

# Where the loop closes against the layering, named and drawn in docs/architecture.md:
# review asks here which model version's suggestions to show.
SEAMS: frozenset[str] = frozenset({"annotation.services.active_model"})

# Inside an app: (importing part, imported part) pairs that point the wrong way.
FORBIDDEN_PARTS: tuple[tuple[str, str], ...] = (
    ("models", "services"),
    ("models", "tasks"),
    ("models", "views"),
    ("models", "api"),
    ("services", "tasks"),
    ("services", "views"),
    ("services", "api"),
    ("services", "admin"),
    ("services", "management"),
    ("jobs", "tasks"),
)

# Third-party packages the ML core must not import, and packages only it may import.
ML_CORE = "training.ml"
NOT_IN_ML_CORE = ("django", "rest_framework", "celery", "kombu", "drf_spectacular")
ONLY_IN_ML_CORE = ("torch", "transformers", "peft", "accelerate")


@dataclass
class Graph:
    modules: dict[str, Path] = field(default_factory=dict)
    edges: dict[str, set[str]] = field(default_factory=dict)
    # Top-level names of third-party packages each module imports.
    external: dict[str, set[str]] = field(default_factory=dict)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def discover(root: Path) -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for package in PACKAGES:
        base = root / package
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.py")):
            if "migrations" in path.parts:
                continue
            modules[module_name(root, path)] = path
    return modules


def resolve_relative(current: str, is_package: bool, level: int, target: str | None) -> str:
    parts = current.split(".")
    if not is_package:
        parts = parts[:-1]
    if level > 1:
        parts = parts[: len(parts) - (level - 1)]
    base = ".".join(parts)
    if target:
        return f"{base}.{target}" if base else target
    return base


def imported_names(tree: ast.AST, current: str, is_package: bool) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = (
                resolve_relative(current, is_package, node.level, node.module)
                if node.level
                else node.module or ""
            )
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno
                yield base, node.lineno


def closest_module(name: str, modules: dict[str, Path]) -> str | None:
    while name:
        if name in modules:
            return name
        if "." not in name:
            return None
        name = name.rsplit(".", 1)[0]
    return None


def build_graph(root: Path) -> Graph:
    graph = Graph(modules=discover(root))
    for name, path in graph.modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        external: set[str] = set()
        for imported, _line in imported_names(tree, name, is_package):
            target = closest_module(imported, graph.modules)
            if target is not None and target != name:
                # ``from pkg import module`` names both pkg and pkg.module; the
                # submodule is what is used, so keep the most specific only.
                targets.add(target)
            elif target is None and imported.split(".")[0] not in PACKAGES:
                external.add(imported.split(".")[0])
        graph.edges[name] = prune_parents(targets, name)
        graph.external[name] = external
    importing_inits = {
        name
        for name, path in graph.modules.items()
        if path.name == "__init__.py" and graph.edges[name]
    }
    for name, targets in graph.edges.items():
        targets |= parents_run(targets, name, importing_inits)
    return graph


def parents_run(targets: set[str], current: str, importing_inits: set[str]) -> set[str]:
    """The packages whose ``__init__`` runs first when a target is imported, among
    those that import project modules themselves.

    ``import a.b.c`` runs ``a/__init__`` and ``a/b/__init__`` before ``a/b/c``: a
    package that re-exports its submodules is a real dependency of whoever imports
    one of them, and a loop through it fails at import time (a name read from a
    partly initialised module). The packages that hold the importing module are
    running already and do not count.
    """
    ran = set()
    for target in targets:
        parts = target.split(".")
        for end in range(1, len(parts)):
            parent = ".".join(parts[:end])
            if parent in importing_inits and not (current + ".").startswith(parent + "."):
                ran.add(parent)
    return ran


def prune_parents(targets: set[str], current: str) -> set[str]:
    """Drop a package when a submodule of it is imported by the same statement set.

    ``from training.ml import text`` yields both ``training.ml`` and ``training.ml.text``;
    only the second is a real dependency unless ``training.ml/__init__`` is imported on
    its own (a package whose ``__init__`` imports anything is added back by
    parents_run). The packages that hold the importing module are running already,
    so they never count.
    """
    kept = set()
    for target in targets:
        if current.startswith(target + "."):
            continue
        if any(other.startswith(target + ".") for other in targets):
            continue
        kept.add(target)
    return kept


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    tarjan = _Tarjan(edges)
    for start in sorted(edges):
        if start not in tarjan.index:
            tarjan.walk(start)
    return tarjan.components


@dataclass
class _Tarjan:
    """The state of Tarjan's algorithm over `edges`, walked without recursion."""

    edges: dict[str, set[str]]
    index: dict[str, int] = field(default_factory=dict)
    low: dict[str, int] = field(default_factory=dict)
    on_stack: set[str] = field(default_factory=set)
    stack: list[str] = field(default_factory=list)
    components: list[list[str]] = field(default_factory=list)
    counter: int = 0

    def walk(self, start: str) -> None:
        """Depth-first from `start`, collecting every cycle found on the way."""
        work: list[tuple[str, Iterator[str]]] = [(start, self.visit(start))]
        while work:
            node, children = work[-1]
            child = self.next_unvisited(node, children)
            if child is not None:
                work.append((child, self.visit(child)))
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                self.low[parent] = min(self.low[parent], self.low[node])
            if self.low[node] == self.index[node]:
                self.pop_component(node)

    def visit(self, node: str) -> Iterator[str]:
        """Number `node`, push it on the stack, and return its children to walk."""
        self.index[node] = self.low[node] = self.counter
        self.counter += 1
        self.stack.append(node)
        self.on_stack.add(node)
        return iter(sorted(self.edges[node]))

    def next_unvisited(self, node: str, children: Iterator[str]) -> str | None:
        """Advance `children` to the first one not numbered yet; the ones already
        on the stack lower `node`'s link on the way."""
        for child in children:
            if child not in self.edges:
                continue
            if child not in self.index:
                return child
            if child in self.on_stack:
                self.low[node] = min(self.low[node], self.index[child])
        return None

    def pop_component(self, root: str) -> None:
        """Pop the component rooted at `root`; keep it when it is a cycle."""
        component = []
        while True:
            member = self.stack.pop()
            self.on_stack.discard(member)
            component.append(member)
            if member == root:
                break
        if len(component) > 1:
            self.components.append(sorted(component))


def layer_of(module: str) -> str:
    best = ""
    for layer in LAYERS:
        if (module == layer or module.startswith(layer + ".")) and len(layer) > len(best):
            best = layer
    return best


def part_of(module: str) -> str:
    """The part of its app a module belongs to: ``annotation.services.review.submit``
    -> ``services``; ``training.tasks`` -> ``tasks``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def layering_violations(graph: Graph) -> Iterable[str]:
    for source, targets in sorted(graph.edges.items()):
        source_layer = layer_of(source)
        for target in sorted(targets):
            target_layer = layer_of(target)
            if (
                source not in SEAMS
                and source_layer
                and target_layer
                and LAYERS[target_layer] > LAYERS[source_layer]
            ):
                yield f"{source} -> {target} ({source_layer} may not import {target_layer})"
            if source.split(".")[0] == target.split(".")[0] and source_layer == target_layer:
                pair = (part_of(source), part_of(target))
                if pair in FORBIDDEN_PARTS:
                    yield f"{source} -> {target} ({pair[0]} may not import {pair[1]})"
        for package in sorted(graph.external.get(source, ())):
            in_core = source_layer == ML_CORE
            if in_core and package in NOT_IN_ML_CORE:
                yield f"{source} -> {package} (the ML core imports no {package})"
            if not in_core and package in ONLY_IN_ML_CORE:
                yield f"{source} -> {package} (only the ML core imports {package})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--graph", action="store_true", help="print every edge")
    args = parser.parse_args(argv)
    graph = build_graph(args.root)
    if args.graph:
        for source, targets in sorted(graph.edges.items()):
            for target in sorted(targets):
                sys.stdout.write(f"{source} -> {target}\n")
    cycles = find_cycles(graph.edges)
    violations = list(layering_violations(graph))
    edge_count = sum(len(t) for t in graph.edges.values())
    sys.stdout.write(
        f"{len(graph.modules)} modules, {edge_count} imports, {len(cycles)} cycles, "
        f"{len(violations)} imports against the layering\n"
    )
    for component in cycles:
        sys.stdout.write("cycle: " + " <-> ".join(component) + "\n")
    for line in violations:
        sys.stdout.write("layering: " + line + "\n")
    return 1 if cycles or violations else 0


if __name__ == "__main__":
    sys.exit(main())
