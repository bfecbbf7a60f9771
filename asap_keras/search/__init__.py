"""The search: schedules, the two-phase SearchModel, callbacks and the runner."""
