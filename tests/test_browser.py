"""The quickstart in a real browser: JupyterLab + Debian's Chromium driven by Playwright.

Starts JupyterLab on 127.0.0.1 with a token and fresh settings/workspace folders, opens a copy of
``notebooks/00_quickstart.ipynb``, runs all cells and checks what a user sees: every widget
rendered (no "Loading widget"), live plots that received points, the cell drawings, and a Stop
button that stops a run started from the panel. Saves the screenshots used in the README to
``docs/images/``.

Needs /usr/bin/chromium (``apt-get install chromium``) and the ``playwright`` package; skips with
the reason otherwise.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "00_quickstart.ipynb"
IMAGES = ROOT / "docs" / "images"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
OUTPUT = ".jp-OutputArea-output"
KERNEL_IDLE = "() => /\\| Idle/.test(document.querySelector('#jp-main-statusbar')?.innerText || '')"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server serving a folder with a copy of the quickstart (so runs never touch the repo file)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install it with 'apt-get install chromium' (or set CHROMIUM)")
    pytest.importorskip("playwright.sync_api", reason="the browser test needs 'pip install playwright'")
    pytest.importorskip("jupyterlab", reason="the browser test needs 'pip install jupyterlab'")
    home = tmp_path_factory.mktemp("lab")
    shutil.copy(NOTEBOOK, home / NOTEBOOK.name)
    write_settings(home / "settings")
    token, port = secrets.token_hex(16), free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
         f"--IdentityProvider.token={token}", "--ServerApp.allow_root=True", f"--ServerApp.root_dir={home}",
         f"--LabApp.workspaces_dir={home / 'workspaces'}", f"--LabApp.user_settings_dir={home / 'settings'}",
         "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        stdout=subprocess.DEVNULL, stderr=open(home / "server.log", "w"), cwd=home)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/api/status?token={token}", server, home / "server.log")
        yield {"url": url, "token": token, "home": home}
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


def write_settings(folder: Path) -> None:
    """Fresh user settings: no news pop-up, no kernel dialog, and every cell rendered (no windowing)."""
    settings = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
                "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True}}
    for plugin, values in settings.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def wait_until_up(status_url: str, server: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if server.poll() is not None:
            pytest.fail(f"JupyterLab exited: {log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(status_url, timeout=2) as response:
                json.loads(response.read())
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"JupyterLab did not answer within {timeout} s: {log.read_text()[-2000:]}")


def plot_points(page) -> list[list[int]]:
    """Points per trace of every plotly chart on the page."""
    return page.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                         ".map(p => (p.data || []).map(t => (t.y || []).length))")


def accept_kernel_dialog(page) -> None:
    """Confirm the default kernel if Lab still asks for one."""
    dialog = page.locator(".jp-Dialog", has_text="Select Kernel")
    try:
        dialog.wait_for(timeout=3_000)
    except Exception:  # noqa: BLE001 - no dialog: nothing to do
        return
    dialog.locator("button", has_text="Select").click()


def run_all(page, attempts: int = 3) -> None:
    """Run ▸ Run All Cells; again if no cell started (a kernel still connecting can drop the request)."""
    started = "() => [...document.querySelectorAll('.jp-InputPrompt')].some(p => /\\[[*0-9]/.test(p.textContent))"
    for _ in range(attempts):
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        try:
            page.wait_for_function(started, timeout=15_000)
            return
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try the menu again
            continue
    pytest.fail("Run All Cells did not start the notebook")


def test_quickstart_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright

    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1900})
            page.goto(f"{lab['url']}/lab/tree/{NOTEBOOK.name}?token={lab['token']}")
            page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
            accept_kernel_dialog(page)
            page.wait_for_function(KERNEL_IDLE, timeout=60_000)
            run_all(page)

            # Mid-run: the panel and its plots render and the loss curve receives points.
            page.wait_for_selector(f"{OUTPUT} .nas-search-panel .widget-slider:visible", timeout=60_000)
            page.wait_for_selector(f"{OUTPUT} .js-plotly-plot .main-svg", timeout=60_000)
            page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')]"
                                   ".some(p => (p.data || []).some(t => (t.y || []).length > 3))", timeout=60_000)
            page.wait_for_function("() => document.querySelector('.nas-cell-view svg') !== null", timeout=120_000)
            page.locator(".nas-search-panel").first.scroll_into_view_if_needed()
            page.locator(".jp-NotebookPanel").first.screenshot(path=str(IMAGES / "quickstart.png"))

            # The whole notebook ran: its last output is there and the kernel is idle again.
            page.locator(OUTPUT, has_text="test accuracy").wait_for(timeout=240_000)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            assert page.locator(OUTPUT, has_text="Loading widget").count() == 0
            assert page.locator(OUTPUT, has_text="Traceback").count() == 0
            points = plot_points(page)
            assert len(points) >= 5 and max(max(t, default=0) for t in points) >= 3, points
            drawing = page.locator(".jp-RenderedSVG img").first
            drawing.wait_for(state="visible", timeout=30_000)
            assert drawing.bounding_box()["width"] > 200
            drawing.screenshot(path=str(IMAGES / "cell.png"))
            assert page.locator(".nas-cell-view svg").first.is_visible()

            # Stop: start a run from the panel's button (the kernel is idle), then stop it.
            panel = page.locator(".nas-search-panel").first
            panel.scroll_into_view_if_needed()
            panel.locator("button", has_text="Run").first.click()
            status = panel.locator(".nas-status").first
            page.wait_for_function("() => /step \\d+/.test(document.querySelector('.nas-status').textContent)",
                                   timeout=60_000)
            panel.locator("button", has_text="Stop").first.click()
            page.wait_for_function("() => /stopped after/.test(document.querySelector('.nas-status').textContent)",
                                   timeout=60_000)
            epochs_done = int(re.search(r"stopped after (\d+) epoch", status.text_content()).group(1))
            assert epochs_done < 3  # the run had 3 epochs and was stopped in its first ones
            assert panel.locator("button", has_text="Run").first.is_enabled()
        finally:
            browser.close()
