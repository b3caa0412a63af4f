"""Every notebook executes headless, without an error, in under a minute."""

import pathlib
import time

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((pathlib.Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_there_are_four_notebooks_linked_from_readme():
    readme = (pathlib.Path(__file__).parent.parent / "README.md").read_text()
    assert len(NOTEBOOKS) == 4
    for path in NOTEBOOKS:
        assert f"notebooks/{path.name}" in readme


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes(path):
    book = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(
        book, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    assert time.perf_counter() - start < 60
    errors = [
        o
        for c in book.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    # Every figure has a title and labelled axes: the plotting cells set them explicitly.
    for cell in book.cells:
        if cell.cell_type == "code" and "plt.subplots" in cell.source:
            assert "set_title" in cell.source or "suptitle" in cell.source
            assert "set_xlabel" in cell.source
