"""The library never loads UI code: importing every toolkit module leaves ipywidgets, plotly, IPython
and graphviz unloaded (graphviz is imported only when something is drawn)."""

import subprocess
import sys

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
