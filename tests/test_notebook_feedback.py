"""What a notebook shows first, and how its foreground runs end on *Kernel ▸ Interrupt*, read from its source."""

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("0[0-5]_*.ipynb"))
HEAVY = re.compile(r"^\s*(import|from)\s+(torch|toolkit|widgets|ipywidgets|plotly)\b", re.MULTILINE)


def code_cells(path: Path) -> list[str]:
    return ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_the_first_cell_shows_a_status_line_before_the_heavy_imports(path):
    first = code_cells(path)[0]
    shown, heavy = first.find("display_id=True"), HEAVY.search(first)
    assert shown >= 0 and heavy is not None and shown < heavy.start(), \
        f"{path.name}: the first cell must display a status line before importing PyTorch or the toolkit"
    assert "loading.update(" in first, f"{path.name}: the status line must say when loading is done"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_foreground_runs_end_with_one_line_on_interrupt(path):
    """A cell that runs searches or trainings itself (not awaiting a background run) catches KeyboardInterrupt."""
    runners = re.compile(r"^(?!\s*#).*\b(run_search|check_proxy|lambda_sweep|train_network)\(", re.MULTILINE)
    for cell in code_cells(path):
        if runners.search(cell) and "await " not in cell and "BackgroundRun(" not in cell:
            assert "except KeyboardInterrupt" in cell, f"{path.name}: a foreground run, no clean interrupt:\n{cell}"
