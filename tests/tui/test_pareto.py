"""The monitor's Pareto front: by hand, against the search's own rule, and as logged."""

from hypothesis import given, settings
from hypothesis import strategies as st

from asap_keras import events
from asap_keras.search import pareto as search_pareto
from tests.tui.conftest import FIXTURES
from tests.tui.method_logs import GOLD_DOMINATED, GOLD_FRONT, T0, gold_lines, line
from tui import pareto, state


def fold(lines):
    view = state.RunView("run")
    for text in lines:
        assert state.apply(view, events.decode(text)) is None
    return view


def test_the_front_of_the_hand_written_records():
    points = fold(gold_lines()).pareto_points()
    front = pareto.front(points)
    assert [(p.multiply_adds, p.val_accuracy) for p in front] == GOLD_FRONT
    on_front = {p.epoch for p in front}
    assert [(p.multiply_adds, p.val_accuracy) for p in points
            if p.epoch not in on_front] == GOLD_DOMINATED
    assert len(front) == points[-1].front_size


def test_the_front_of_a_recorded_gold_search_has_the_size_it_logged():
    lines = (FIXTURES / "gold_events.jsonl").read_text().splitlines()
    points = fold(lines).pareto_points()
    logged = [e for e in map(events.decode, lines) if e.kind == "pareto"]
    assert [p.epoch for p in points] == [e["epoch"] for e in logged]
    for k in range(1, len(points) + 1):  # after every record, not only the last
        assert len(pareto.front(points[:k])) == logged[k - 1]["front_size"]


def test_a_resume_voids_the_records_of_the_epochs_it_redoes():
    resume = line("run_start", T0 + 1000, run="gold-run", seed=1, start_epoch=3,
                  versions={}, config={"search": {"method": "gold", "epochs": 6}})
    view = fold(gold_lines() + [resume])
    assert sorted(view.pareto) == [0, 1, 2]


GENOTYPES = [{"topology": "free", "nodes": 1, "normal": [[op, 0, 2]], "normal_concat": [2],
              "reduce": [[op, 1, 2]], "reduce_concat": [2]}
             for op in ("sep_conv_3x3", "skip_connect", "max_pool_3x3")]
RECORDS = st.lists(st.tuples(st.sampled_from([100, 200, 300]),
                             st.sampled_from([None, 0.25, 0.5, 0.75]),
                             st.integers(0, len(GENOTYPES) - 1)), max_size=12)


@settings(max_examples=200, deadline=None, database=None)
@given(RECORDS)
def test_the_front_is_the_one_the_search_keeps(records):
    """Ties, repeated genotypes and missing accuracies included, as the search logs them."""
    kept = ()
    points = []
    for epoch, (madds, accuracy, g) in enumerate(records):
        record = search_pareto.Record(epoch, GENOTYPES[g], madds, madds // 10, accuracy)
        kept, entered = search_pareto.insert(kept, record)
        points.append(pareto.ParetoPoint(epoch, madds, madds // 10, accuracy, entered,
                                         GENOTYPES[g], len(kept)))
    assert [p.epoch for p in pareto.front(points)] == [r.epoch for r in kept]
