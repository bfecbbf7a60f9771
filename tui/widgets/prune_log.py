"""The prune log: one row per pruned op."""

from __future__ import annotations

from textual.widgets import DataTable

COLUMNS = ("epoch", "step", "cell", "edge", "op", "weight", "threshold")


class PruneLog(DataTable):
    """Rows are appended as prune events arrive; `show(rows)` keeps it in sync with the view."""

    def __init__(self, **kwargs):
        super().__init__(zebra_stripes=True, cursor_type="row", **kwargs)
        self.shown = 0

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)

    def show(self, rows: list) -> None:
        if len(rows) < self.shown:  # the log started over or the run was switched
            self.clear()
            self.shown = 0
        for row in rows[self.shown:]:
            self.add_row(*row_cells(row))
        self.shown = len(rows)


def row_cells(row) -> tuple[str, ...]:
    """The table cells of one `PruneRow` (`-` for a step the log lacks, `null` for NaN)."""
    step = "-" if row.step is None else str(row.step)
    return (str(row.epoch), step, row.cell, str(row.edge), row.op, _fixed(row.weight),
            _fixed(row.threshold))


def _fixed(value: float | None) -> str:
    return "null" if value is None else f"{value:.4f}"
