"""Live charts in a slow browser: every chart of a box of charts shows every point a background thread
sent, at its box's width, even when the browser renders the charts after the updates began.

The browser's CPU is throttled 4x (Chrome DevTools ``Emulation.setCPUThrottlingRate``), as on a busy
laptop or CI machine: plotly's own FigureWidget lost updates there (charts left empty at 700 px);
:class:`widgets.figure.LiveFigure` draws each view from its model's whole state. Needs what
``tests/test_browser.py`` needs, and skips without it.
"""

import secrets

import nbformat
from test_browser import KERNEL_IDLE, ROOT, WINDOW, accept_kernel_dialog, browser, lab, run_all  # noqa: F401 - fixtures

CELLS = [
    f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
    "import threading, time\n"
    "import ipywidgets as w\n"
    "from widgets.live import row\n"
    "from widgets.plots import LinePlot\n"
    "plots = [LinePlot(['loss'], kinds=(), min_interval=0.05, title=f'chart {i}') for i in range(4)]\n"
    "def feed():\n"
    "    for step in range(20):\n"
    "        for p in plots:\n"
    "            p.stream(step, {'loss': 1.0 / (step + 1)})\n"
    "        time.sleep(0.01)\n"
    "    for p in plots:\n"
    "        p.flush()\n"
    "feeder = threading.Thread(target=feed)\n"
    "feeder.start()  # the points start before the browser has drawn the box\n"
    "w.VBox([row(*[p.figure for p in plots[i:i + 2]]) for i in range(0, 4, 2)])  # two per row, as the views do",
    "feeder.join(); print('fed')",
]
POINTS = """() => [...document.querySelectorAll('.jp-OutputArea-output .js-plotly-plot')].map(p => {
    const box = p.closest('.widget-box').getBoundingClientRect();
    return {points: (p.data || []).map(t => (t.y || []).length).reduce((a, b) => a + b, 0),
            width: Math.round(p.getBoundingClientRect().width), box: Math.round(box.width)}; })"""


def test_charts_streamed_before_they_render_show_every_point_in_a_slow_browser(lab, browser):  # noqa: F811
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(notebook, lab["home"] / "charts.ipynb")
    page = browser.new_page(viewport=WINDOW)
    try:
        page.goto(f"{lab['url']}/lab/workspaces/charts-{secrets.token_hex(4)}/tree/charts.ipynb?token={lab['token']}"
                  "&reset")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        accept_kernel_dialog(page)
        page.wait_for_function(KERNEL_IDLE, timeout=180_000)
        page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 4})  # Lab is loaded
        run_all(page)
        page.locator(".jp-OutputArea-output", has_text="fed").wait_for(timeout=180_000)
        page.wait_for_function(f"() => {{ const c = ({POINTS})(); return c.length === 4 && "
                               "c.every(p => p.points === 20); }", timeout=60_000)
        charts = page.evaluate(POINTS)
        assert all(0 < c["width"] <= c["box"] + 2 for c in charts), charts  # the box's width, not plotly's 700 px
    finally:
        page.close()
