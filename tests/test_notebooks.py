"""The notebooks run top to bottom in the project's environment, and the outputs committed with them are current.

Each notebook is executed with nbclient (the ``python3`` kernel of this interpreter, from the
repository root). Its printed results must equal the committed ones and every committed figure
must be drawn again, so a change that alters what a notebook shows fails here until the notebook
is re-executed: ``.venv/bin/jupyter execute --inplace notebooks/<name>.ipynb``.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))


def _shown(cell) -> list[tuple[str, str]]:
    """What a code cell showed: ``(kind, text)`` per output, consecutive prints to one stream joined
    (a kernel may send them in one message or several); figures as ``("image/png", "")``."""
    shown: list[tuple[str, str]] = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            if shown and shown[-1][0] == output["name"]:
                shown[-1] = (output["name"], shown[-1][1] + output["text"])
            else:
                shown.append((output["name"], output["text"]))
        elif output["output_type"] == "error":
            shown.append(("error", f"{output['ename']}: {output['evalue']}"))
        else:
            data = output.get("data", {})
            shown.append(("image/png", "") if "image/png" in data else ("text/plain", data.get("text/plain", "")))
    return shown


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_and_its_committed_outputs_are_current(path):
    committed = nbformat.read(path, as_version=4)
    nbformat.validate(committed)
    code = [cell for cell in committed.cells if cell.cell_type == "code"]
    assert all(cell.get("outputs") for cell in code), f"{path.name}: committed without outputs; execute it first"

    executed = copy.deepcopy(committed)
    nbclient.NotebookClient(
        executed, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(REPO_ROOT)}}
    ).execute()  # raises on a cell error

    for number, (before, after) in enumerate(zip(code, (c for c in executed.cells if c.cell_type == "code"))):
        assert _shown(after) == _shown(before), (
            f"{path.name}, code cell {number}: the output differs from the committed one; "
            f"re-execute with `.venv/bin/jupyter execute --inplace notebooks/{path.name}`"
        )
