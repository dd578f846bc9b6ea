"""migrationsim's import graph: no circle anywhere, and no Django (the web depends on it, never
the other way round). Read from the source with ``ast``, so nothing is imported to check."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "migrationsim"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Module -> the migrationsim modules it imports (a submodule, not its package, when
    ``from . import name`` names one); Django imports appear as ``django...``."""
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {
                    a.name for a in node.names if a.name in files or a.name.startswith("django")
                }
            elif isinstance(node, ast.ImportFrom):
                base = (
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    if node.level
                    else []
                )
                target = ".".join(base + [node.module] if node.module else base)
                submodules = {f"{target}.{a.name}" for a in node.names} & set(files)
                django = {target} if target.startswith("django") else set()
                found |= submodules or ({target} & set(files)) or django
        graph[name] = found - {name}
    return graph


def test_migrationsim_never_imports_django():
    django = {
        name: deps for name, deps in _imports().items() if any(d.startswith("django") for d in deps)
    }
    assert django == {}


def test_no_module_of_migrationsim_imports_itself_round_a_circle():
    graph = _imports()
    done, circles = set(), []

    def visit(name, path):
        for dep in sorted(graph.get(name, ())):
            if dep in path:
                circles.append(path[path.index(dep) :] + [dep])
            elif dep not in done:
                visit(dep, path + [dep])
        done.add(name)

    for name in sorted(graph):
        visit(name, [name])
    assert circles == []
