"""Accumulated-gradient pruning (ASAP Sec. 4.4, after Dropback): lowest sum of |dL/dalpha|."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from asap_keras.search.methods.base import ScheduledPruning


class AccumGrad(ScheduledPruning):
    """Each op's score accumulates its raw alpha gradient from the first architecture step
    (`mode = "sum_abs"`: sum of |g|; `"abs_sum"`: |sum of g|, Dropback's total change); a
    pruned op's score is frozen. The Zhu-Gupta count of lowest scores dies at epoch ends."""

    name = "accum_grad"
    table_name = "accum_grad"

    def observe_gradients(self, arch, cell_types, grads):
        for cell_type, grad in zip(cell_types, grads):
            step = tf.abs(grad) if self.table.mode == "sum_abs" else grad
            alive = arch.masks[cell_type].value
            arch.scores[cell_type].assign_add(step * alive)

    def scores(self, state, cell_type):
        return np.abs(state["scores"][cell_type])
