"""The house has floors: the shared pieces (core, io, nets, optvis, latent) import no domain,
and no two of reverie's modules import each other, directly or round a longer loop."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import reverie

SRC = Path(reverie.__file__).resolve().parent
FLOORS = ("core", "io", "nets", "optvis", "latent")
DOMAINS = ("image", "audio", "text", "chat", "words", "draw", "music", "gan", "sound", "scale",
           "sketch2art", "cli", "gallery", "studio")

# Cycles allowed, each with its reason (as frozensets of module names).
ALLOWED_CYCLES: dict[frozenset, str] = {}


def test_floors_import_no_domain():
    """Every module under the floors, imported in a fresh process, brings no domain with it."""
    script = f"""
import importlib, json, pkgutil, sys
for floor in {FLOORS!r}:
    package = importlib.import_module("reverie." + floor)
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(info.name)
print(json.dumps(sorted(sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    above = [m for m in loaded if m.split(".")[:2][-1] in DOMAINS and m.startswith("reverie.")]
    assert not above, f"the floors {FLOORS} brought domain modules with them: {above}"
    assert any(m.startswith("reverie.optvis.") for m in loaded)  # the walk did walk


def _module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_edges() -> dict[str, set[str]]:
    """module -> the reverie modules it imports, at the top or inside a function."""
    files = {_module_name(p): p for p in SRC.rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:  # relative: from . import x
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    target = f"{base}.{node.module}" if node.module else base
                else:
                    target = node.module or ""
                if not target.startswith("reverie"):
                    continue
                for alias in node.names:  # `from reverie.io import files` imports a module
                    sub = f"{target}.{alias.name}"
                    edges[name].add(sub if sub in files else target)
            elif isinstance(node, ast.Import):
                edges[name].update(a.name for a in node.names if a.name.startswith("reverie"))
    return {m: {t for t in ts if t in files and t != m} for m, ts in edges.items()}


def cycles(edges: dict[str, set[str]]) -> list[frozenset]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [frozenset("abc")]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles():
    found = [c for c in cycles(import_edges()) if c not in ALLOWED_CYCLES]
    assert not found, "import cycles: " + "; ".join(" <-> ".join(sorted(c)) for c in found)
