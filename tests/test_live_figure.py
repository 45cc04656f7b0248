"""LiveFigure: the widget state the browser draws from is the figure's whole current state after every change."""

import ipywidgets as w

from widgets.figure import LiveFigure, browser_module
from widgets.plots import HeatmapPlot, LinePlot


def test_every_change_reaches_the_synced_state():
    fig = LiveFigure(layout={"title": {"text": "loss"}, "height": 300})
    fig.add_scatter(x=[], y=[], name="a")
    with fig.batch_update():
        fig.data[0].x, fig.data[0].y = [1, 2], [0.5, 0.25]
        fig.layout.height = 320
    fig.update_xaxes(visible=False)
    assert fig._widget_data[0]["x"] == [1, 2] and fig._widget_data[0]["y"] == [0.5, 0.25]
    assert fig._widget_layout["height"] == 320 and fig._widget_layout["title"] == {"text": "loss"}
    assert fig._widget_layout["xaxis"] == {"visible": False}


def test_a_chart_in_a_box_carries_its_points_without_being_displayed():
    """A view made from the model state alone (a box rendered late) gets every point sent so far."""
    plot = LinePlot(["loss"], kinds=(), min_interval=0)
    box = w.VBox([plot.figure])
    plot.add(1, loss=2.0)
    plot.add(2, loss=1.0)
    (trace,) = box.children[0]._widget_data
    assert trace["x"] == [1, 2] and trace["y"] == [2.0, 1.0]
    heat = HeatmapPlot(["normal"], x=["a", "b"], y=["e1"])
    heat.update([[0.25, 0.75]])
    assert heat.figure._widget_data[0]["z"] == [[0.25, 0.75]]


def test_the_browser_module_bundles_plotly_and_renders_each_view_from_its_own_model():
    module = browser_module()
    assert "plotly.js v" in module[:300]  # offline: plotly.js comes from the installed package
    assert "function render({ model, el })" in module and "export default { render }" in module


def test_a_click_message_from_the_browser_reaches_the_pick_callbacks():
    """The browser module's click message (trace and point indexes) in the format plotly's Python side reads."""
    from widgets.population import PopulationScatter

    scatter = PopulationScatter(min_interval=0)
    picked = []
    scatter.on_pick.append(picked.append)
    scatter.add({"index": 1, "population": [{"id": "a", "metrics": {"parameters": 10, "val_acc": 0.5}},
                                            {"id": "b", "metrics": {"parameters": 20, "val_acc": 0.7}}],
                 "pareto_front": []}, flush=True)
    scatter.figure._js2py_pointsCallback = {"event_type": "plotly_click", "points": {
        "trace_indexes": [0], "point_indexes": [1], "xs": [20], "ys": [0.7]}}
    assert picked == ["b"]
