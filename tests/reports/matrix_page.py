"""The matrix a rendered page's script builds, read back from the page's data for tests."""

from __future__ import annotations

from reports.html import read_matrix

# a cell's fields where the page's data drops them from its end (the mark is always there)
DEFAULTS = (None, None, None, "", 0, 0, "")


def matrix_cells(page: str) -> list[dict]:
    """The matrix cells the page's script builds, decoded from the page's matrix data (the
    format html.matrix_data documents) with their anchors and rows."""
    data = read_matrix(page)
    cells = []
    for row_index, (loss, config_id, row) in enumerate(data["rows"]):
        for column, cell in enumerate(row):
            if not cell:
                continue
            mark, vulp, gulp, err, flags, triage, regimes = [*cell, *DEFAULTS[len(cell) :]]
            cells.append(
                dict(
                    anchor=f"d{row_index}-{column}",
                    loss=loss,
                    config_id=config_id,
                    mark=data["marks"][mark],
                    vulp=vulp,
                    gulp=gulp,
                    err=err,
                    failing=bool(flags & 1),
                    known=bool(flags & 2),
                    triage=triage,
                    regimes=regimes.split(),
                )
            )
    return cells
