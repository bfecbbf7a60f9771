"""The callbacks' decisions on chosen states: anneal, grace, prune reports, rebuilds, stop."""

import keras
import numpy as np
import pytest

from asap_keras.config import config_from_dict
from asap_keras.search.callbacks import Anneal, FollowPrunes
from asap_keras.search.methods import make_method
from asap_keras.search.model import SearchModel
from asap_keras.search.optimizers import FusedMomentumSGD
from asap_keras.space.network import SearchNetwork

OPS = ("sep_conv_3x3", "max_pool_3x3", "skip_connect")


class Recorded:
    """An event log that keeps what it is given."""

    def __init__(self):
        self.events = []

    def emit(self, kind, **fields):
        self.events.append((kind, fields))


@pytest.fixture(scope="module")
def model():
    keras.utils.set_random_seed(0)
    net = SearchNetwork(3, 1, OPS, channels=2, cells=2)  # two reduction cells
    m = SearchModel(net)
    m.compile(weight_optimizer=FusedMomentumSGD(0.05, momentum=0.9),
              arch_optimizer=keras.optimizers.Adam(0.1))
    m.build_optimizers()
    return m


def reset(model, arch_on):
    arch = model.network.arch
    for t in ("normal", "reduce"):
        arch.masks[t].assign(np.ones((14, 3), "float32"))
        arch.pruned_at[t].assign(np.full((14, 3), -1.0, "float32"))
    arch.arch_enabled.assign(1.0 if arch_on else 0.0)
    model.sync_structure(force=True)
    model.take_rebuild_reasons()
    model.rebuild_waste = 0


def paper_anneal(model):
    """The paper's anneal (T0 = 1.3, beta = 0.95, grace while T >= 1.05) on `model`, in grace."""
    reset(model, arch_on=False)
    paper = config_from_dict({"search": {"anneal": {"t0": 1.3, "beta": 0.95,
                                                    "grace_temperature": 1.05}}}).search
    anneal = Anneal(make_method(paper, len(OPS)))
    anneal.set_model(model)
    return anneal


def test_anneal_sets_the_paper_temperature_threshold_and_grace(model):
    anneal = paper_anneal(model)
    arch = model.network.arch
    rebuilt = model.traced_structures
    anneal.on_epoch_begin(4)
    assert float(arch.temperature.numpy()) == pytest.approx(1.3 * 0.95 ** 4)  # 1.0588
    assert float(arch.threshold.numpy()) == pytest.approx(0.4 / 3)  # N = 3 candidates
    assert not model.arch_phase and model.traced_structures == rebuilt  # still grace
    anneal.on_epoch_begin(5)
    assert float(arch.temperature.numpy()) == pytest.approx(1.3 * 0.95 ** 5)  # 1.0058 < 1.05
    assert model.arch_phase and model.traced_structures == rebuilt + 1
    assert model.take_rebuild_reasons() == "grace_end"
    anneal.on_epoch_begin(6)
    assert model.traced_structures == rebuilt + 1  # nothing changed: no rebuild


def kill(model, edge_ops, step, weight=0.01):
    arch = model.network.arch
    mask = arch.masks["reduce"].numpy()
    pruned_at = arch.pruned_at["reduce"].numpy()
    pruned_weight = arch.pruned_weight["reduce"].numpy()
    for e, k in edge_ops:
        mask[e, k], pruned_at[e, k], pruned_weight[e, k] = 0.0, step, weight
    arch.masks["reduce"].assign(mask)
    arch.pruned_at["reduce"].assign(pruned_at)
    arch.pruned_weight["reduce"].assign(pruned_weight)


def test_follow_prunes_reports_rebuilds_lazily_and_stops_when_discrete(model):
    reset(model, arch_on=True)
    arch = model.network.arch
    arch.threshold.assign(0.1)
    log = Recorded()
    follow = FollowPrunes(rebuild_fraction=0.3, event_log=log)
    follow.set_model(model)
    follow.set_params({"steps": 10, "epochs": 3, "verbose": 0})
    follow.on_train_begin()
    follow.on_epoch_begin(2)
    assert model.network.traced_op_count() == 84  # 2 cells x 14 edges x 3 ops
    rebuilt = model.traced_structures

    kill(model, [(0, 1), (0, 2)], step=21, weight=0.03)
    follow.on_train_batch_end(1)
    assert log.events == [
        ("prune", {"epoch": 2, "step": 21, "cell": "reduce", "edge": 0, "op": "max_pool_3x3",
                   "weight": pytest.approx(0.03), "threshold": pytest.approx(0.1)}),
        ("prune", {"epoch": 2, "step": 21, "cell": "reduce", "edge": 0, "op": "skip_connect",
                   "weight": pytest.approx(0.03), "threshold": pytest.approx(0.1)})]
    # 4 of 84 ops gone (2 per cell): below 30%, so the step keeps computing them for now.
    assert model.network.live_op_count() == 80 and model.traced_structures == rebuilt
    follow.on_train_batch_end(2)
    assert len(log.events) == 2  # nothing new: nothing reported twice

    # 26 ops gone (31%): rebuilt now, mid-epoch.
    kill(model, [(e, 2) for e in range(1, 12)], step=23)
    follow.on_train_batch_end(3)
    assert model.traced_structures == rebuilt + 1
    assert model.network.traced_op_count() == model.network.live_op_count() == 58
    assert model.take_rebuild_reasons() == "prune_fraction"

    # The epoch's last batch rebuilds for any change, however small.
    kill(model, [(12, 2)], step=29)
    follow.on_train_batch_end(9)
    assert model.traced_structures == rebuilt + 2
    assert model.take_rebuild_reasons() == "epoch_end"
    assert not model.stop_training

    # Once every edge keeps one op, the search stops (Alg. 1: "until converged").
    kill(model, [(e, 1) for e in range(1, 14)] + [(13, 2)], step=30)
    follow.on_train_batch_end(0)
    assert model.stop_training and model.take_rebuild_reasons() == "discrete"
    assert model.network.traced_op_count() == 28
    model.stop_training = False


def test_no_prune_report_or_rebuild_during_grace(model):
    reset(model, arch_on=False)
    log = Recorded()
    follow = FollowPrunes(event_log=log)
    follow.set_model(model)
    follow.set_params({"steps": 10})
    follow.on_train_begin()
    rebuilt = model.traced_structures
    follow.on_train_batch_end(9)
    assert log.events == [] and model.traced_structures == rebuilt


def test_cost_rule_rebuilds_once_the_waste_pays_for_a_rebuild(model):
    reset(model, arch_on=True)
    model.network.arch.threshold.assign(0.1)
    follow = FollowPrunes(event_log=Recorded(), rule="cost", cost_ratio=1.0)
    follow.set_model(model)
    follow.set_params({"steps": 10, "epochs": 3, "verbose": 0})
    follow.on_train_begin()
    follow.on_epoch_begin(2)
    follow.on_train_batch_end(0)
    rebuilt = model.traced_structures
    kill(model, [(e, 2) for e in range(1, 12)] + [(0, 1), (0, 2)], step=23)  # 26 of 84 ops
    # Each step now wastes 26 op-steps; a rebuild to 58 ops costs 1.0 * 58.
    follow.on_train_batch_end(1)  # 26: the "epoch" rule would have rebuilt (31% gone)
    follow.on_train_batch_end(2)  # 52
    assert model.traced_structures == rebuilt and follow.costs.waste == 52
    follow.on_train_batch_end(3)  # 78 >= 58
    assert model.traced_structures == rebuilt + 1
    assert model.take_rebuild_reasons() == "prune_cost"
    assert model.network.traced_op_count() == model.network.live_op_count() == 58
    follow.on_train_batch_end(4)  # the rebuilt step: no dead op, the waste starts again
    assert follow.costs.waste == 0

    # No rebuild at the epoch's end for a new prune: the rule alone decides.
    kill(model, [(12, 2)], step=29)
    follow.on_train_batch_end(9)
    follow.on_epoch_end(2)
    assert model.traced_structures == rebuilt + 1 and not model.stop_training
    assert follow.costs.waste == 2


def test_follow_prunes_refuses_an_unknown_rule():
    with pytest.raises(ValueError, match=r"rule must be one of .*Received: rule='often'"):
        FollowPrunes(rule="often")


def test_anneal_rebuilds_for_a_phase_flip_only_and_that_rebuild_drops_dead_ops(model):
    anneal = paper_anneal(model)
    kill(model, [(0, 1), (0, 2)], step=3)
    rebuilt = model.traced_structures
    anneal.on_epoch_begin(1)  # still grace: the prune alone does not rebuild
    assert model.traced_structures == rebuilt and model.network.traced_op_count() == 84
    anneal.on_epoch_begin(5)  # the switch flips: the rebuild takes the masks too
    assert model.traced_structures == rebuilt + 1
    assert model.network.traced_op_count() == model.network.live_op_count() == 80
