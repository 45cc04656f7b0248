"""A plotly ``FigureWidget`` whose browser view always draws the figure's whole current state.

plotly's own widget sends every change as a delta message (add traces, restyle, relayout) and its
browser side applies each delta to the view. A view created late (the widget sits in a box that the
browser renders after the run has begun, on a busy machine) or a model that finished loading after
the first deltas arrived misses them for good: the chart stays empty at plotly's default 700 px,
whatever the run sends later. plotly 7's browser module also keeps the last model it initialised in
one module variable and renders every new view from it, so a view can draw another figure's model.

:class:`LiveFigure` keeps plotly's Python API (``batch_update``, ``data``, ``layout``, ...) but
syncs the whole figure (``_widget_data``, ``_widget_layout``) after every change, and its browser
module draws each view from its own model with ``Plotly.react``, again on every change, sized to the
view's box (a ``ResizeObserver``); a click on a point reaches the traces' ``on_click`` callbacks as
in plotly's widget. The charts' own throttling keeps the messages few.
"""

from __future__ import annotations

from copy import deepcopy
from functools import cache
from pathlib import Path

import plotly
import plotly.graph_objects as go

RENDER = """
const Plotly = module.exports;

function render({ model, el }) {
  const div = document.createElement("div");
  el.style.width = div.style.width = "100%";  // a chart fills its box (in a flex row too), never its content
  el.appendChild(div);
  let pending = false;
  const draw = () => {
    pending = false;
    const layout = { ...(model.get("_widget_layout") || {}), autosize: true };
    if (layout.width == null) delete layout.width;  // follow the box
    const config = { ...(model.get("_config") || {}), responsive: true, displaylogo: false };
    return Plotly.react(div, structuredClone(model.get("_widget_data") || []), layout, config);
  };
  const later = () => { if (!pending) { pending = true; setTimeout(draw, 0); } };
  const first = draw();
  const clicked = (event) => {  // a click reaches the traces' on_click callbacks in Python
    const points = event.points.map((p) => ({ trace: p.curveNumber, index: p.pointNumber, x: p.x, y: p.y }));
    model.set("_js2py_pointsCallback", {
      event_type: "plotly_click",
      points: { trace_indexes: points.map((p) => p.trace), point_indexes: points.map((p) => p.index),
                xs: points.map((p) => p.x), ys: points.map((p) => p.y) },
    });
    model.save_changes();
  };
  first.then(() => div.on("plotly_click", clicked));
  model.on("change:_widget_data", later);
  model.on("change:_widget_layout", later);
  const resize = new ResizeObserver(() => { if (div.clientWidth && div.data) Plotly.Plots.resize(div); });
  resize.observe(el);
  return () => {
    resize.disconnect();
    model.off("change:_widget_data", later);
    model.off("change:_widget_layout", later);
    Plotly.purge(div);
  };
}

export default { render };
"""


@cache
def browser_module() -> str:
    """The view's ES module: plotly.js (from the installed plotly package, so it works offline) and
    :data:`RENDER`."""
    plotly_js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return "const module = { exports: {} };\n" + plotly_js.read_text(encoding="utf-8") + RENDER


class LiveFigure(go.FigureWidget):
    """A ``FigureWidget`` for live charts: every change reaches every view, however late it renders.

    Use it as a ``FigureWidget`` (``with fig.batch_update(): fig.data[0].y = ys``); display it alone or
    inside ipywidgets boxes.
    """

    _esm = browser_module()

    def _sync(self, *_args, **_kwargs) -> None:
        """Send the whole figure (only what changed since the last sync goes out: traitlets compare)."""
        self._widget_layout = deepcopy(self._layout_obj._props)
        self._widget_data = deepcopy(self._data)

    # plotly sends each change through one of these; here each sends the whole state instead.
    _send_relayout_msg = _sync
    _send_restyle_msg = _sync
    _send_addTraces_msg = _sync
    _send_moveTraces_msg = _sync
    _send_update_msg = _sync
    _send_animate_msg = _sync
    _send_deleteTraces_msg = _sync
