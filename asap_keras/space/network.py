"""The search supernet: stem, stacked search cells sharing alphas per cell type, head."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from asap_keras.space.arch_params import CELL_TYPES, ArchParams
from asap_keras.space.cell import SearchCell
from asap_keras.space.ops import Stem
from asap_keras.space.primitives import edge_count


def reduction_positions(cells):
    """Indices of the reduction cells: at 1/3 and 2/3 of the stack, as in DARTS."""
    return sorted({cells // 3, (2 * cells) // 3})


@keras.saving.register_keras_serializable(package="asap_keras")
class SearchNetwork(keras.layers.Layer):
    """The ASAP/DARTS supernet over one op set.

    The Python-level structure (which ops each MixedOp calls) is derived from the mask
    Variables by `sync_alive()`; tracing reads it, so a rebuilt step omits pruned ops.

    Args:
        num_classes: output classes.
        in_channels: image channels.
        op_names: candidate ops of every edge.
        channels: initial channels C (doubled at each reduction).
        cells: number of cells.
        nodes: intermediate nodes per cell.
        stem_multiplier: the stem outputs `stem_multiplier * C` channels.
        temperature: the initial temperature T0.
        alpha_scale: alphas start at `alpha_mean + alpha_scale * N(0, 1)` (0: all equal to
            `alpha_mean`, ASAP Alg. 1).
        relaxation: "softmax" (Eq. 3), "sigmoid" (GOLD-NAS) or "identity" (NAP).
        alpha_mean: the alphas' starting value (0; NAP: 1/N).
    """

    def __init__(self, num_classes, in_channels, op_names, channels=16, cells=8, nodes=4,
                 stem_multiplier=3, temperature=1.0, alpha_scale=0.0, relaxation="softmax",
                 alpha_mean=0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.op_names = tuple(op_names)
        self.channels = channels
        self.num_cells = cells
        self.nodes = nodes
        self.stem_multiplier = stem_multiplier
        self.initial_temperature = temperature
        self.alpha_scale = alpha_scale
        c_curr = stem_multiplier * channels
        self.stem = Stem(c_curr, in_channels=in_channels, name="stem")
        c_pp, c_p, c_curr = c_curr, c_curr, channels
        reductions = reduction_positions(cells)
        self.cells = []
        reduction_prev = False
        for i in range(cells):
            reduction = i in reductions
            if reduction:
                c_curr *= 2
            cell = SearchCell(c_curr, c_pp, c_p, reduction, reduction_prev, self.op_names,
                              nodes, name=f"cell_{i}")
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, nodes * c_curr
        self.classifier = keras.layers.Dense(num_classes, name="classifier")
        self.classifier.build((None, c_p))
        self.arch = ArchParams(edge_count(nodes), len(self.op_names), temperature, alpha_scale,
                               relaxation, alpha_mean, name="arch")
        self.built = True
        self.sync_alive()

    @property
    def cell_types(self):
        """The cell types present in this stack (a 2-cell stack has no normal cell)."""
        return tuple(t for t in CELL_TYPES if any(c.cell_type == t for c in self.cells))

    def undecided_cell_types(self):
        """Cell types whose alphas still get gradients: under softmax those with an edge
        that still has a choice; under sigmoid or identity those with any alive op (a lone
        op's weight still scales its output)."""
        fewest = 2 if self.arch.normalized else 1
        return tuple(t for t in self.cell_types
                     if any(len(edge.alive) >= fewest for c in self.cells if c.cell_type == t
                            for edge in c.edges))

    def sync_alive(self, structure=None):
        """Copies the alive masks (or `structure`: per cell type, per edge, the op indices
        to compute) into each MixedOp; returns True if the structure changed."""
        changed = False
        alive = structure or {t: self.arch.alive_indices(t) for t in CELL_TYPES}
        for cell in self.cells:
            for edge, indices in zip(cell.edges, alive[cell.cell_type]):
                if edge.alive != indices:
                    edge.alive = indices
                    changed = True
        return changed

    def traced_op_count(self):
        """Candidate ops the step functions compute: the structure of the last rebuild."""
        return sum(len(edge.alive) for cell in self.cells for edge in cell.edges)

    def traced_structure(self):
        """Per cell type, per edge, the op indices the step functions compute (the cells of
        a type share them)."""
        return {cell.cell_type: tuple(edge.alive for edge in cell.edges) for cell in self.cells}

    def live_op_count(self):
        """Alive ops over the edges of all cells, read from the masks (the search's state)."""
        alive = {t: int(np.sum(self.arch.masks[t].numpy() > 0.5)) for t in self.cell_types}
        return sum(alive[cell.cell_type] for cell in self.cells)

    def total_op_count(self):
        """Candidate ops over the edges of all cells before any pruning."""
        return sum(len(edge.op_names) for cell in self.cells for edge in cell.edges)

    def edge_weights(self, cell_type):
        """Per edge, the weights of the ops in the structure (Phi under softmax, Eq. 3).

        None where no op is left, and under softmax where one is (it weighs exactly 1);
        under sigmoid and identity a lone op keeps its weight. The weights come from the
        mask Variable, so an op pruned since the last rebuild weighs 0 (it is still computed
        until the next rebuild drops it from the graph).
        """
        phi = self.arch.weights_of(cell_type)
        reference = next(c for c in self.cells if c.cell_type == cell_type)
        fewest = 2 if self.arch.normalized else 1
        return [tf.gather(phi[e], edge.alive) if len(edge.alive) >= fewest else None
                for e, edge in enumerate(reference.edges)]

    def call(self, x, training=False, arch_fixed=False):
        """Logits of `x`; `arch_fixed=True` (the weight step) passes the op weights as
        constants, so a gradient tape builds no gradient towards alpha (with the weight on
        the right of each `op(x) * weight`, TensorFlow's Mul gradient is then one
        multiplication instead of a broadcast-reduced pair: fewer ops to trace).
        """
        weights = {t: self.edge_weights(t) for t in self.cell_types}
        if arch_fixed:
            weights = {t: [None if w is None else tf.stop_gradient(w) for w in ws]
                       for t, ws in weights.items()}
        s0 = s1 = self.stem(x, training=training)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1, weights[cell.cell_type], training=training)
        return self.classifier(tf.reduce_mean(s1, axis=(1, 2)))

    def weight_variables(self):
        """Every trainable network weight (not alpha), alive or not: for optimizer building."""
        arch = {id(v) for v in self.arch.trainable_weights}
        return [v for v in self.trainable_weights if id(v) not in arch]

    def live_weight_variables(self):
        """Trainable weights the current structure uses: the weight step's variable list."""
        weights = list(self.stem.trainable_weights)
        for cell in self.cells:
            weights += cell.live_trainable_weights()
        return weights + list(self.classifier.trainable_weights)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "in_channels": self.in_channels, "op_names": list(self.op_names),
                "channels": self.channels, "cells": self.num_cells, "nodes": self.nodes,
                "stem_multiplier": self.stem_multiplier,
                "temperature": self.initial_temperature, "alpha_scale": self.alpha_scale,
                "relaxation": self.arch.relaxation, "alpha_mean": self.arch.alpha_mean}
