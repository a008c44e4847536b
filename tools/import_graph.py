"""The import graph of the runtime package, in words (docs/architecture.md quotes it).

    PYTHONPATH=src .venv/bin/python tools/import_graph.py

Prints each app's imports of other apps, the pairs of apps that import each other, the pairs
of modules that import each other (lazy imports included: grimp reads every import statement)
and the largest modules. `lint-imports` checks the order; this shows what it does not: cycles
inside an app and size.
"""

import collections
from pathlib import Path

import grimp

import madoguchi

ROOT = "madoguchi"


def app_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def main() -> None:
    graph = grimp.build_graph(ROOT)
    edges: dict[tuple[str, str], list[tuple[str, str]]] = collections.defaultdict(list)
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            a, b = app_of(module), app_of(imported)
            if a and b and a != b:
                edges[(a, b)].append((module, imported))

    print("app imports:")
    for app in sorted({a for a, _b in edges}):
        print(f"  {app} -> {' '.join(sorted(b for a, b in edges if a == app))}")

    print("apps importing each other:")
    mutual = sorted((a, b) for a, b in edges if a < b and (b, a) in edges)
    for a, b in mutual:
        print(f"  {a} <-> {b}")
        for module, imported in edges[(a, b)] + edges[(b, a)]:
            print(f"      {module} -> {imported}")
    if not mutual:
        print("  none")

    print("modules importing each other:")
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            if module < imported and module in graph.find_modules_directly_imported_by(imported):
                print(f"  {module} <-> {imported}")

    print("largest modules (lines, migrations left out):")
    base = Path(madoguchi.__file__).parent
    sizes = [
        (len(path.read_text(encoding="utf-8").splitlines()), path.relative_to(base))
        for path in base.rglob("*.py")
        if "migrations" not in path.parts
    ]
    for lines, path in sorted(sizes, reverse=True)[:10]:
        print(f"  {lines:6d} {path}")


if __name__ == "__main__":
    main()
