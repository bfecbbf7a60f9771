"""Reads TensorBoard event files back: `{(tag, plugin): {step: value or shape}}`."""

from pathlib import Path


def read_summaries(folder: Path) -> dict:
    import tensorflow as tf

    out: dict = {}
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                tensor = tf.make_ndarray(value.tensor)
                shown = float(tensor) if tensor.ndim == 0 else tensor.shape
                out.setdefault((value.tag, plugin), {})[event.step] = shown
    return out
