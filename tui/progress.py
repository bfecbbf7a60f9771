"""Progress of a run: how far into the current epoch, and the time left in it and in the run."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tui import state

# The recent epoch duration is the mean of this many last timed epochs.
RECENT_EPOCHS = 3
# Methods that run to their epoch cap (DARTS prunes nothing; NAP's schedule ends at the cap).
NO_EARLY_STOP = ("darts", "nap")
# When the others may stop before it (`stop_reason` of asap_keras/search/methods).
EARLY_STOP = {"gold": "once the supernet's multiply-adds fall below gold.flops_min"}
DISCRETE_STOP = "once every edge is discrete"
BAR_FULL, BAR_EMPTY = "█", "░"


@dataclass(frozen=True)
class Progress:
    """Where a run stands; every time is in seconds, None where the log cannot tell yet.

    Attributes:
        epoch: the epoch in progress (0-based), or the last logged one once the run ended.
        epochs_done: epochs logged.
        epoch_cap: the configured epochs (`search.epochs` or `train.epochs`).
        step: the latest step event's step in the current epoch (None: none logged).
        steps_per_epoch: from `run_start`.
        fraction: how much of the current epoch is done, in [0, 1].
        from_steps: True where `fraction` and `epoch_left` come from step events; False
            where they are estimated from the time since the epoch began.
        seconds_per_step: the step rate of the current epoch.
        epoch_left: time left in the current epoch.
        run_left: time left up to the epoch cap.
        upper_bound: the run may stop before its cap (a pruning search), so `run_left` is
            an upper bound.
        ended: the run's log ended (`run_end`).
    """

    epoch: int
    epochs_done: int
    epoch_cap: int | None
    step: int | None
    steps_per_epoch: int | None
    fraction: float | None
    from_steps: bool
    seconds_per_step: float | None
    epoch_left: float | None
    run_left: float | None
    upper_bound: bool
    ended: bool


def recent_epoch_seconds(view: state.RunView) -> float | None:
    """The mean duration of the last `RECENT_EPOCHS` timed epochs (None before one)."""
    recent = [p.seconds for p in view.points() if p.seconds is not None][-RECENT_EPOCHS:]
    return sum(recent) / len(recent) if recent else None


def step_rate(view: state.RunView) -> float | None:
    """Seconds per step in the current epoch: between its first and latest step events,
    or, with one step event, from the epoch's start to it (a first trace included)."""
    times = view.step_times
    if len(times) >= 2 and times[-1][1] > times[0][1]:
        return (times[-1][2] - times[0][2]) / (times[-1][1] - times[0][1])
    if len(times) == 1 and times[0][1] > 0 and view.epoch_started is not None:
        return max(0.0, times[0][2] - view.epoch_started) / times[0][1]
    return None


def progress(view: state.RunView, now: float) -> Progress | None:
    """The progress of `view` at time `now` (None before its first event).

    The epoch's time left is its remaining steps at the epoch's step rate, plus what the
    recent epochs spent beyond their steps (their mean duration less `steps_per_epoch`
    steps at that rate: validation, rebuilds), less the time since the latest step event.
    Without step events (retraining runs log none) it is the recent epoch duration less
    the time since the epoch began. The run's time left adds the epochs after the
    current one at the recent epoch duration.

    Args:
        view: the run's view.
        now: the wall time (seconds since the epoch).

    Returns:
        The `Progress`, or None.
    """
    if view.last_event is None:
        return None
    done = 0 if view.last_epoch is None else view.last_epoch + 1
    ended = view.end_status is not None
    epoch = max(0, done - 1) if ended else done
    cap, per = view.epoch_cap, view.steps_per_epoch
    upper = view.run_kind == "search" and view.method not in NO_EARLY_STOP
    if ended:
        return Progress(epoch, done, cap, None, per, None, False, None, None, None, upper,
                        True)
    recent = recent_epoch_seconds(view)
    step = view.step[1] if view.step and view.step[0] == epoch else None
    rate = step_rate(view) if step is not None else None
    fraction = epoch_left = None
    if step is not None and per:
        fraction = min(1.0, step / per)
        if rate is not None:
            # What an epoch spends beyond its steps (validation, rebuilds, checkpoints), at
            # the recent pace: the steps alone would end the epoch too early.
            extra = max(0.0, recent - per * rate) if recent is not None else 0.0
            since = max(0.0, now - view.step_times[-1][2])
            epoch_left = max(0.0, max(0, per - step) * rate + extra - since)
    elif recent and view.epoch_started is not None:
        since = max(0.0, now - view.epoch_started)
        fraction, epoch_left = min(1.0, since / recent), max(0.0, recent - since)
    whole = recent if recent is not None else (per * rate if rate and per else None)
    run_left = None
    if cap and epoch_left is not None and whole is not None:
        run_left = epoch_left + max(0, cap - epoch - 1) * whole
    return Progress(epoch, done, cap, step, per, fraction, step is not None, rate,
                    _finite(epoch_left), _finite(run_left), upper, False)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def bar(fraction: float | None, width: int) -> str:
    """A bar of `width` cells, `fraction` of them full (`BAR_EMPTY` only for None)."""
    width = max(0, width)
    if fraction is None or not math.isfinite(fraction):
        return BAR_EMPTY * width
    full = round(min(1.0, max(0.0, fraction)) * width)
    return BAR_FULL * full + BAR_EMPTY * (width - full)
