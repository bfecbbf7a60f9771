"""The asap-monitor Textual app: composes the widgets and routes the follower's messages."""

from __future__ import annotations

import threading
import time
from contextlib import suppress
from datetime import datetime
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Footer, OptionList

from tui import charts, runs, state
from tui.help_screen import HelpScreen
from tui.messages import EventsRead, RunsFound
from tui.tailer import Tailer
from tui.widgets.cell_graph import CellGraph
from tui.widgets.chart import Chart
from tui.widgets.progress_bar import RunProgress
from tui.widgets.prune_log import PruneLog
from tui.widgets.run_header import RunHeader
from tui.widgets.run_list import RunList

RESCAN_EVERY = 10  # polls between looks for new runs below a folder of runs
REDRAW_SECONDS = 0.25
NOTIFY_ERRORS = 3  # per batch; a log of garbage must not bury the screen in toasts


class MonitorApp(App):
    """Follows one or more run directories.

    Args:
        path: a run directory, or a folder whose run directories are all followed.
        poll_seconds: how often the follower reads the logs.
        export_dir: where `s` writes SVG files.
    """

    CSS_PATH = "monitor.tcss"
    TITLE = "asap-monitor"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("c", "toggle_cell", "Normal/reduce"),
        Binding("g", "toggle_cell_view", "Graph/list"),
        # Priority: the prune table would take the arrows for its own cursor.
        Binding("left", "epoch_back", "Epoch back", key_display="←", priority=True),
        Binding("right", "epoch_forward", "Epoch fwd", key_display="→", priority=True),
        Binding("home", "epoch_first", "First epoch", show=False, priority=True),
        Binding("l", "live", "Live"),
        Binding("f", "toggle_follow", "Follow/pause"),
        Binding("n", "next_run", "Next run"),
        Binding("p", "previous_run", "Prev run"),
        Binding("s", "export_svg", "Save SVG"),
    ]

    def __init__(self, path: str | Path, poll_seconds: float = 0.5,
                 export_dir: str | Path = "."):
        super().__init__()
        self.root = Path(path)
        self.poll_seconds = poll_seconds
        self.export_dir = Path(export_dir)
        self.paths = runs.discover(self.root)
        self.views = [state.RunView(p) for p in self.paths]
        self.selected = 0
        self.cell_type = "normal"
        self.cell_mode = "graph"
        self.shown_epoch: int | None = None  # the epoch the cell shows; None: live
        self.following = True
        self.polls = 0
        self._dirty = True
        self._stop = threading.Event()

    @property
    def view(self) -> state.RunView:
        return self.views[self.selected]

    def compose(self) -> ComposeResult:
        yield RunHeader(id="header")
        yield RunProgress(id="progress")
        with Horizontal(id="body"):
            with Vertical(id="side"):
                yield RunList(id="runs")
                with VerticalScroll(id="cell-scroll"):
                    yield CellGraph(id="cell")
                yield PruneLog(id="prunes")
            with Vertical(id="charts"):
                for name in charts.CHART_NAMES:
                    # Shown once a run logs what it draws (`ChartSpec.shown`).
                    yield Chart(name, id=f"chart-{name}", classes="optional"
                                if name in charts.OPTIONAL else "")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(RunList).display = len(self.views) > 1
        self.set_interval(REDRAW_SECONDS, self._redraw_if_dirty)
        self.set_interval(1.0, self._tick)
        self.follow()

    def on_unmount(self) -> None:
        self._stop.set()

    # The follower: a thread that only reads files and posts messages.
    @work(thread=True, exclusive=True, group="follow")
    def follow(self) -> None:
        tailers = [Tailer(p / runs.EVENTS_FILE) for p in self.paths]
        known = set(self.paths)
        while not self._stop.is_set():
            self.polls += 1
            if self.polls % RESCAN_EVERY == 0 and not runs.is_run_dir(self.root):
                fresh = [p for p in runs.discover(self.root) if p not in known]
                if fresh:
                    known.update(fresh)
                    tailers += [Tailer(p / runs.EVENTS_FILE) for p in fresh]
                    self.post_message(RunsFound(fresh))
            for index, tailer in enumerate(tailers):
                more = True
                while more:
                    batch = tailer.poll()
                    self.post_message(EventsRead(index, batch.events, batch.errors,
                                                 batch.reset, batch.exists))
                    more = batch.more
            self._stop.wait(self.poll_seconds)

    def on_runs_found(self, message: RunsFound) -> None:
        self.views += [state.RunView(p) for p in message.paths]
        self.query_one(RunList).display = len(self.views) > 1
        self._dirty = True

    def on_events_read(self, message: EventsRead) -> None:
        view = self.views[message.run]
        if message.reset:
            view = self.views[message.run] = state.reset(view)
            if message.run == self.selected:
                self.query_one(PruneLog).show([])
            self.notify(f"{view.name}: events.jsonl started over; re-reading it",
                        severity="warning")
        changed = message.reset or view.log_found != message.exists
        view.log_found = message.exists
        skipped = [state.apply(view, event) for event in message.events]
        view.errors.extend(message.errors)
        problems = list(message.errors) + [s for s in skipped if s is not None]
        for problem in problems[:NOTIFY_ERRORS]:
            where = (f"a {problem.kind} event" if isinstance(problem, state.SkippedEvent)
                     else f"events.jsonl line {problem.line}" if problem.line
                     else "events.jsonl")
            self.notify(f"{view.name}: {where} skipped: {problem.message}",
                        severity="error", timeout=8)
        if len(problems) > NOTIFY_ERRORS:
            self.notify(f"{view.name}: {len(problems) - NOTIFY_ERRORS} more bad lines "
                        f"skipped", severity="error", timeout=8)
        if changed or message.events or message.errors:
            self._dirty = True

    # Rendering: widgets get plain values; at most one redraw per REDRAW_SECONDS.
    def _redraw_if_dirty(self) -> None:
        if self._dirty and self.following:
            self._dirty = False
            with suppress(NoMatches):  # a timer that fires while the app shuts down
                self.redraw()

    def _tick(self) -> None:
        """The clock moves: elapsed time, time left and time since each run's last event."""
        now = time.time()
        with suppress(NoMatches):
            self.query_one(RunHeader).show(self.view, now, self.following)
            if self.following:
                self.query_one(RunProgress).show(self.view, now)
                self.query_one(RunList).show(self.views, now, self.selected)

    def redraw(self) -> None:
        now = time.time()
        self.query_one(RunHeader).show(self.view, now, self.following)
        self.query_one(RunProgress).show(self.view, now)
        self.query_one(RunList).show(self.views, now, self.selected)
        self._show_cell()
        self.query_one(PruneLog).show(self.view.prunes)
        for spec in charts.build_specs(self.views, self.selected):
            chart = self.query_one(f"#chart-{spec.name}", Chart)
            chart.display = spec.shown
            chart.show(spec)

    # Key actions.
    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def _show_cell(self) -> None:
        if self.shown_epoch is not None and self.shown_epoch not in self.view.history:
            self.shown_epoch = None  # the log started over, or a resume voided the epoch
        cell = self.query_one(CellGraph)
        cell.show(self.view, self.cell_type, self.shown_epoch, self.cell_mode)
        where = "live" if self.shown_epoch is None else f"epoch {self.shown_epoch}: history"
        self.query_one("#cell-scroll").border_title = (
            "cell" if self.view.run_kind == "train" and not self.view.history
            else f"{self.cell_type} cell · {where}")

    def action_toggle_cell(self) -> None:
        self.cell_type = "reduce" if self.cell_type == "normal" else "normal"
        self._show_cell()

    def action_toggle_cell_view(self) -> None:
        self.cell_mode = "list" if self.cell_mode == "graph" else "graph"
        self._show_cell()

    # The history slider: the cell at a past epoch (its Phi or w, masks and genotype).
    def action_epoch_back(self) -> None:
        epochs = sorted(self.view.history)
        now = epochs[-1] if self.shown_epoch is None and epochs else self.shown_epoch
        earlier = [e for e in epochs if now is not None and e < now]
        if earlier:
            self.shown_epoch = earlier[-1]
            self._show_cell()

    def action_epoch_forward(self) -> None:
        if self.shown_epoch is None:
            return
        later = [e for e in sorted(self.view.history) if e > self.shown_epoch]
        # Stepping onto the latest epoch is the live view, which follows new epochs.
        self.shown_epoch = later[0] if len(later) > 1 else None
        self._show_cell()

    def action_epoch_first(self) -> None:
        epochs = sorted(self.view.history)
        if len(epochs) > 1:
            self.shown_epoch = epochs[0]
            self._show_cell()

    def action_live(self) -> None:
        self.shown_epoch = None
        self._show_cell()

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        self._tick()
        if self.following:
            self.redraw()

    def action_next_run(self) -> None:
        self._select((self.selected + 1) % len(self.views))

    def action_previous_run(self) -> None:
        self._select((self.selected - 1) % len(self.views))

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.selected:
            self._select(event.option_index)

    def _select(self, index: int) -> None:
        self.selected = index
        self.shown_epoch = None
        self.query_one(PruneLog).show([])
        self.redraw()

    def action_export_svg(self) -> list[Path]:
        self.export_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        base = f"asap-monitor-{self.view.name}-{stamp}"
        written = [Path(self.save_screenshot(f"{base}.svg", str(self.export_dir)))]
        for chart in self.query(Chart):
            if not chart.display:  # the Pareto chart of a run without records
                continue
            written.append(Path(chart.export_svg(
                str(self.export_dir / f"{base}-{chart.chart_name}.svg"))))
        self.notify(f"saved {len(written)} SVG files to {self.export_dir}/{base}*.svg")
        return written
