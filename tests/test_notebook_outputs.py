"""The committed notebooks hold no partial or stale run.

A notebook is committed either with every output stripped (what a participant opens: nothing
from somebody else's computer) or with the outputs of one complete top-to-bottom run: every code
cell executed once, in order (execution counts 1, 2, 3, ...), no error output. Anything in between
(a few cells' outputs kept from an old run, cells run out of order, a traceback) is refused with
the cells that break the rule. Checks in notebooks are ``assert`` statements, so no cell relies
on stored outputs or on ``# NBVAL_...`` comments.
"""

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def run_problems(notebook: dict) -> list[str]:
    """What makes the stored outputs a partial or stale run ([] for stripped or complete)."""
    code = [(i, c) for i, c in enumerate(notebook["cells"]) if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for _, c in code]
    if all(n is None for n in counts) and not any(c.get("outputs") for _, c in code):
        return []  # stripped
    problems = [f"cell {i}: execution count {c.get('execution_count')}, expected {n}"
                for n, (i, c) in enumerate(code, start=1) if c.get("execution_count") != n]
    problems += [f"cell {i}: {o.get('ename', 'error')} output" for i, c in code
                 for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return problems


def marker_comments(notebook: dict) -> list[str]:
    return [f"cell {i}" for i, c in enumerate(notebook["cells"])
            if c["cell_type"] == "code" and "# NBVAL_" in "".join(c["source"])]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stripped_or_one_complete_run(path):
    problems = run_problems(json.loads(path.read_text()))
    assert not problems, (f"{path.name} holds a partial or stale run ({'; '.join(problems)}); strip it with "
                          f"'jupyter nbconvert --clear-output --inplace {path}' or save one complete run")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_has_no_marker_comments(path):
    found = marker_comments(json.loads(path.read_text()))
    assert not found, f"{path.name}: '# NBVAL_' comments in {found}; use asserts or the cell tags nbval-*"


def code(count, outputs=()):
    return {"cell_type": "code", "execution_count": count, "outputs": list(outputs), "source": ["x = 1"]}


def test_the_check_refuses_partial_stale_and_failed_runs():
    stripped = {"cells": [code(None), {"cell_type": "markdown", "source": ["# a"]}, code(None)]}
    complete = {"cells": [code(1, [{"output_type": "stream", "text": "1"}]), code(2)]}
    assert run_problems(stripped) == [] and run_problems(complete) == []
    partial = {"cells": [code(None), code(4, [{"output_type": "stream", "text": "old"}])]}
    out_of_order = {"cells": [code(2), code(1)]}
    failed = {"cells": [code(1, [{"output_type": "error", "ename": "AssertionError"}])]}
    kept_output = {"cells": [code(None, [{"output_type": "stream", "text": "old"}])]}
    assert run_problems(partial) == ["cell 0: execution count None, expected 1",
                                     "cell 1: execution count 4, expected 2"]
    assert len(run_problems(out_of_order)) == 2
    assert run_problems(failed) == ["cell 0: AssertionError output"]
    assert run_problems(kept_output) == ["cell 0: execution count None, expected 1"]
