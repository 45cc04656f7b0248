"""The library never loads UI code: importing every toolkit module leaves ipywidgets, plotly, IPython
and graphviz unloaded (graphviz is imported only when something is drawn); and toolkit's modules import
each other without cycles, so every module has a place in one layering."""

import ast
import subprocess
import sys
from pathlib import Path

UI_MODULES = ("ipywidgets", "plotly", "IPython", "graphviz", "anywidget", "widgets", "traitlets")

SCRIPT = f"""
import importlib, pkgutil, sys
import toolkit
names = ["toolkit." + m.name for m in pkgutil.walk_packages(toolkit.__path__) if not m.name.endswith("__main__")]
for name in names:
    importlib.import_module(name)
from toolkit import run_search, train_network  # the lazily loaded loops
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({UI_MODULES!r}))
print(len(names), ",".join(loaded))
"""


def test_toolkit_imports_no_ui_module():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    count, loaded = out.stdout.strip().split(" ", 1) if " " in out.stdout.strip() else (out.stdout.strip(), "")
    assert int(count) >= 15  # every module was really imported (draw, search, train, cli, ...)
    assert loaded == "", f"toolkit loaded UI modules: {loaded}"


def test_drawing_loads_graphviz_only_when_used():
    script = ("import sys; from toolkit.draw import draw_cell; from toolkit import PUBLISHED;"
              "before = 'graphviz' in sys.modules; draw_cell(PUBLISHED['DARTS_V2'].normal);"
              "print(before, 'graphviz' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True"]


TOOLKIT = Path(__file__).resolve().parents[1] / "toolkit"


def runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except those under ``if TYPE_CHECKING:`` (annotation-only imports never run)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def toolkit_import_graph(root: Path = TOOLKIT) -> dict[str, set[str]]:
    """Every toolkit module and the toolkit modules it imports, read with ``ast`` (imports inside
    functions included: an import done at call time still ties the two modules together)."""
    files = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in runtime_nodes(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([node.module] if node.module else []))
                targets.add(base)
                targets.update(f"{base}.{alias.name}" for alias in node.names)  # `from . import search`
        graph[name] = {t for t in targets if t in files and t != name}
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The cycles of ``graph``: one path ``a -> b -> ... -> a`` per strongly connected group (Tarjan)."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for group in groups:  # one concrete cycle per group: breadth-first from its first module back to it
        start = min(group)
        parent, queue = {start: None}, [start]
        while start not in graph[queue[0]]:  # the group is strongly connected: some module leads back
            v = queue.pop(0)
            for w in sorted(graph[v] & group):
                if w not in parent:
                    parent[w] = v
                    queue.append(w)
        path, v = [], queue[0]
        while v is not None:
            path.append(v)
            v = parent[v]
        cycles.append(path[::-1] + [start])
    return cycles


def test_import_cycle_finder_sees_cycles_through_function_level_imports():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c", "a"]]
    assert import_cycles({"a": {"b"}, "b": set()}) == []
    graph = toolkit_import_graph()
    assert "toolkit.search" in graph["toolkit.profile"]  # profiling sits above the search loop
    assert {"toolkit.edges", "toolkit.partial"} <= graph["toolkit.methods"]  # imports inside a method count


def test_toolkit_has_no_import_cycles():
    cycles = import_cycles(toolkit_import_graph())
    assert not cycles, "import cycles in toolkit: " + "; ".join(" -> ".join(c) for c in cycles)
