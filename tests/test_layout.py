"""The repository's layout: no import cycle in its packages (every import counts: module level, inside functions,
under TYPE_CHECKING), so that each package reads bottom-up; no module of xsoar_module/ over 300 lines, none of lab/
over 450."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("xsoar_module", "lab", "benchmarks")
LAB_MODULE_LINES = 450
MODULE_LINES = 300  # xsoar_module/


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, module: str) -> set[str]:
    """The dotted names `path` imports (relative imports resolved), each `from X import Y` as X and X.Y."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            source = ".".join([*base, node.module] if node.module else base)
            names |= {source} | {f"{source}.{alias.name}" for alias in node.names}
    return names


def import_graph(root: Path) -> dict[str, set[str]]:
    """Module -> the repository modules it imports."""
    paths = {module_name(path, root): path for package in PACKAGES for path in (root / package).rglob("*.py")}
    return {module: imported_names(path, module) & paths.keys() - {module} for module, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in sorted(graph[module]):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while not component or component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def test_no_module_imports_itself_back_through_others():
    graph = import_graph(ROOT)
    assert {"lab.tools.demo", "xsoar_module.module", "benchmarks.harness.sync_soak"} <= graph.keys()
    assert cycles(graph) == []


def test_the_search_finds_a_cycle_and_resolves_relative_imports(tmp_path):
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "__init__.py").write_text("")
    (tmp_path / "lab" / "a.py").write_text("from lab.b import thing\n")
    (tmp_path / "lab" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
    )
    (tmp_path / "lab" / "c.py").write_text("import lab.a\n")
    graph = import_graph(tmp_path)
    assert graph["lab.b"] == {"lab", "lab.a"} and graph["lab.c"] == {"lab.a"}
    assert cycles(graph) == [["lab.a", "lab.b"]]


def module_sizes(package: str) -> dict[str, int]:
    """The line count of each module of a package, by path."""
    return {str(path.relative_to(ROOT)): len(path.read_text().splitlines()) for path in (ROOT / package).rglob("*.py")}


def test_no_module_of_lab_is_over_450_lines():
    sizes = module_sizes("lab")
    assert len(sizes) > 30
    assert {path: lines for path, lines in sizes.items() if lines > LAB_MODULE_LINES} == {}


def test_no_module_of_xsoar_module_is_over_300_lines():
    sizes = module_sizes("xsoar_module")
    assert len(sizes) > 30 and "xsoar_module/clients/xsoar/incidents.py" in sizes
    assert {path: lines for path, lines in sizes.items() if lines > MODULE_LINES} == {}
