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
            step = "-" if row.step is None else str(row.step)
            self.add_row(str(row.epoch), step, row.cell, str(row.edge), row.op,
                         f"{row.weight:.4f}", f"{row.threshold:.4f}")
        self.shown = len(rows)
