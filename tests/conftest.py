import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """One intra-op torch thread: tiny test models run faster and seeded results repeat across machines."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def browser_test_can_run() -> bool:
    """Whether tests/test_browser.py will run here (Chromium, Playwright and JupyterLab present)."""
    import importlib.util
    import os
    from pathlib import Path

    chromium = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return Path(chromium).exists() and all(importlib.util.find_spec(m) for m in ("playwright", "jupyterlab"))


def pytest_collection_modifyitems(config, items):
    """Run each notebook once: where the real-browser test runs a notebook top to bottom in JupyterLab
    (and fails on any traceback, error or warning output), nbval's run of the same notebook is left
    out. Without Chromium, or with the browser test not selected, nbval runs every notebook."""
    browser_runs = {item.callspec.id for item in items if item.nodeid.startswith(
        "tests/test_browser.py::test_notebook_runs_in_jupyterlab[")}
    if not browser_runs or not browser_test_can_run():
        return
    twice = [item for item in items if item.nodeid.startswith("notebooks/")
             and item.nodeid.split("/")[1].split(".ipynb")[0] in browser_runs]
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = [item for item in items if item not in twice]
        config.pluginmanager.get_plugin("terminalreporter").write_line(
            f"nbval: {len({i.nodeid.split('::')[0] for i in twice})} notebook(s) left to the real-browser test, "
            "which runs them in JupyterLab")
