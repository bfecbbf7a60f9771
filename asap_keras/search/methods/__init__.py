"""Search methods: one small strategy each, served by the same model, callbacks and log."""

from __future__ import annotations

from asap_keras.search.methods.accum_grad import AccumGrad
from asap_keras.search.methods.asap import Asap
from asap_keras.search.methods.base import EpochSchedule, SearchMethod
from asap_keras.search.methods.darts import Darts
from asap_keras.search.methods.gold import Gold
from asap_keras.search.methods.magnitude import Magnitude
from asap_keras.search.methods.nap import Nap

METHODS = {m.name: m for m in (Asap, Darts, Magnitude, AccumGrad, Gold, Nap)}


def make_method(search, num_ops, topology="darts") -> SearchMethod:
    """The strategy of `search.method` (config validation already refused unknown names).

    Args:
        search: the `[search]` table.
        num_ops: candidate ops per edge.
        topology: `space.topology` ("darts" or "free").
    """
    return METHODS[search.method](search, num_ops, topology)


__all__ = ["EpochSchedule", "METHODS", "SearchMethod", "make_method"]
