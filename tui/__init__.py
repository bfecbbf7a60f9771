"""asap-monitor: a terminal UI that follows a search's event log (no TensorFlow import)."""
