"""The final hard prune: the supernet cut down to the derived cell, and its validation."""

from __future__ import annotations

import numpy as np

from asap_keras.space.arch_params import CELL_TYPES
from asap_keras.space.genotype import cell_masks


def evaluate_derived_cell(model, genotype, val_dataset, callbacks=()) -> dict:
    """Validation of the supernet holding only the derived cell, with the search's weights.

    Every edge the genotype does not keep is removed and each kept edge keeps its one op:
    DARTS' discretization, where its accuracy drops (ASAP Fig. 6); for ASAP only the edges
    beyond 2 per node go. The masks (and a structure pending from a checkpoint) are put back
    afterwards: the saved state is the search's.

    Args:
        model: the `SearchModel` after its search.
        genotype: the derived cell.
        val_dataset: the validation batches.
        callbacks: Keras callbacks of the validation (the recorder, which logs its trace).

    Returns:
        `{"val_loss", "val_accuracy", "live_ops", "total_ops"}`.
    """
    network = model.network
    arch = network.arch
    saved = {t: arch.masks[t].numpy() for t in CELL_TYPES}
    masks = cell_masks(genotype, list(network.op_names), network.nodes)
    # A structure restored from a checkpoint for the next step to compute (the cost rule's
    # dead ops) is not the cell to validate: without this, a resume with no epoch left would
    # validate it, and there an edge's lone op counts whatever its mask says.
    pending, model.pending_structure = model.pending_structure, None
    try:
        for cell_type in CELL_TYPES:
            arch.masks[cell_type].assign(masks[cell_type].astype(np.float32))
        model.sync_structure("final_prune")
        logs = model.evaluate(val_dataset, verbose=0, return_dict=True,
                              callbacks=list(callbacks))
        live = network.live_op_count()
    finally:
        for cell_type in CELL_TYPES:
            arch.masks[cell_type].assign(saved[cell_type])
        model.sync_structure("restore")
        model.pending_structure = pending
    return {"val_loss": float(logs["loss"]), "val_accuracy": float(logs["accuracy"]),
            "live_ops": live, "total_ops": network.total_op_count()}
