"""The cost of an evaluation network: parameters and multiply-adds per image."""

from __future__ import annotations

import tensorflow as tf


def multiply_adds(model, image_shape) -> int:
    """Multiply-adds of one inference on one image, counted by TF's profiler (FLOPs / 2)."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    spec = tf.TensorSpec((1, *image_shape), tf.float32)
    fn = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    graph = convert_variables_to_constants_v2(fn).graph
    builder = tf.compat.v1.profiler.ProfileOptionBuilder
    options = builder(builder.float_operation()).with_empty_output().build()
    flops = tf.compat.v1.profiler.profile(graph=graph, options=options).total_float_ops
    return int(flops) // 2
