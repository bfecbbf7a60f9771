"""The event schema: encode/decode round trips, and every malformed line refused by name."""

import json
from pathlib import Path

import pytest

from asap_keras import events

FIXTURES = Path(__file__).resolve().parent / "tui" / "fixtures"


def test_round_trip_and_nan_becomes_null():
    line = events.encode("step", when=5.0, epoch=1, step=10,
                         metrics={"loss": float("nan"), "accuracy": 0.5})
    assert "\n" not in line
    event = events.decode(line)
    assert event.kind == "step" and event.time == 5.0
    assert event["metrics"] == {"loss": None, "accuracy": 0.5}


@pytest.mark.parametrize("name", ["smoke_events.jsonl", "legacy_events.jsonl"])
def test_recorded_logs_decode_unchanged(name):
    lines = (FIXTURES / name).read_text().splitlines()
    for line in lines:
        raw = json.loads(line)
        event = events.decode(line)
        assert (event.kind, event.time) == (raw.pop("kind"), raw.pop("time"))
        raw.pop("v")
        assert event.data == raw


@pytest.mark.parametrize("line, message", [
    ("{not json", "not JSON"),
    ("[1, 2]", "not a JSON object"),
    (json.dumps({"v": 99, "kind": "step", "time": 1}), "schema version"),
    (json.dumps({"v": 1, "kind": "nope", "time": 1}), "unknown event kind"),
    (json.dumps({"v": 1, "kind": "step", "time": 1, "epoch": 0}), "misses fields"),
    (json.dumps({"v": 1, "kind": "step", "epoch": 0}), "time"),
])
def test_bad_lines_are_rejected_with_a_reason(line, message):
    with pytest.raises(events.EventError, match=message):
        events.decode(line)


def test_encode_checks_required_fields_and_status():
    with pytest.raises(events.EventError, match="misses"):
        events.encode("prune", epoch=1)
    with pytest.raises(events.EventError, match="status"):
        events.encode("run_end", status="weird", epoch=0, reason="")


def _line(kind="step", **fields):
    base = {"step": {"epoch": 0, "step": 1, "metrics": {"loss": 1.0}},
            "checkpoint": {"epoch": 0, "path": "a.npz"},
            "prune": {"epoch": 1, "cell": "normal", "edge": 3, "op": "max_pool_3x3",
                      "weight": 0.01, "threshold": 0.05},
            "run_end": {"status": "failed", "epoch": 0, "reason": "x"}}[kind]
    return json.dumps({"v": 1, "kind": kind, "time": 1.0, **base, **fields})


def _epoch_line(**fields):
    ops = ["sep_conv_3x3", "max_pool_3x3"]
    record = {"v": 1, "kind": "epoch", "time": 1.0, "epoch": 0, "temperature": 1.0,
              "threshold": 0.1, "grace": False, "sparsity": 0.0,
              "entropy": {"normal": 1.0}, "ops": ops,
              "phi": {"normal": [[0.5, 0.5], [0.5, 0.5]]},
              "alive": {"normal": [[1, 1], [1, 0]]}, "metrics": {"loss": 2.0},
              "epoch_seconds": 3.0, "live_ops": 3, "total_ops": 4}
    record.update(fields)
    return json.dumps(record)


def _genotype_line(genotype):
    return json.dumps({"v": 1, "kind": "genotype", "time": 1.0, "epoch": 0,
                       "genotype": genotype})


GOOD_GENOTYPE = {"normal": [["sep_conv_3x3", 0], ["skip_connect", 1]], "normal_concat": [2],
                 "reduce": [["max_pool_3x3", 0], ["max_pool_3x3", 1]], "reduce_concat": [2]}

# (line, words the message must hold: the field's name, and what was received)
FOUND_BY_FUZZING = [
    pytest.param('{"v":1,"kind":["step"],"time":1}', ["kind", "['step']"],
                 id="unhashable kind"),
    pytest.param('{"v":1,"kind":"step","time":1,"epoch":' + "7" * 5000 + "}",
                 ["step.epoch", "out of range", "5000 digits"], id="5000-digit number"),
    pytest.param("[" * 50_000, ["nested too deeply"], id="50000 brackets"),
    pytest.param(_line("checkpoint", v=True), ["v=True"], id="v true"),
    pytest.param(_line("checkpoint", v=1.0), ["v=1.0"], id="v 1.0"),
    pytest.param(_epoch_line(temperature="NaN"), ["epoch.temperature", "'NaN'"],
                 id="NaN string"),
]


@pytest.mark.parametrize("line, words", FOUND_BY_FUZZING)
def test_examples_found_by_fuzzing_are_refused(line, words):
    with pytest.raises(events.EventError) as err:
        events.decode(line)
    for word in words:
        assert word in str(err.value)
    assert len(str(err.value)) < 300


TYPE_ERRORS = [
    # wrong type
    pytest.param(_line(epoch="0"), "step.epoch", id="string for an int"),
    pytest.param(_line(epoch=1.5), "step.epoch", id="float for an int"),
    pytest.param(_line(epoch=True), "step.epoch", id="bool for an int"),
    pytest.param(_line("checkpoint", path=7), "checkpoint.path", id="int for a string"),
    pytest.param(_epoch_line(grace=1), "epoch.grace", id="int for a bool"),
    pytest.param(_line(metrics=[1.0]), "step.metrics", id="list for metrics"),
    pytest.param(_line("run_end", status="crashed"), "status", id="unknown status"),
    # null where it is not a number
    pytest.param(_line(epoch=None), "step.epoch", id="null int"),
    pytest.param(_line("checkpoint", path=None), "checkpoint.path", id="null string"),
    pytest.param(_line(time=None), "time", id="null time"),
    pytest.param(_epoch_line(phi=None), "epoch.phi", id="null phi"),
    # NaN and Infinity literals (Python's json reads them; the log writes null)
    pytest.param(_line(metrics={"loss": float("nan")}), "step.metrics.loss", id="NaN"),
    pytest.param(_line(time=float("inf")), "time", id="Infinity time"),
    pytest.param(_line("prune", weight=-float("inf")), "prune.weight", id="-Infinity"),
    pytest.param(_line(metrics={"loss": 1e999}), "step.metrics.loss", id="1e999 is inf"),
    pytest.param(_line(config={"lr": float("nan")}), "step.config.lr", id="NaN unchecked"),
    # a list where a scalar belongs
    pytest.param(_line(step=[1]), "step.step", id="list for an int"),
    pytest.param(_line(metrics={"loss": [1.0]}), "step.metrics.loss", id="list metric"),
    pytest.param(_line("prune", weight=[0.1]), "prune.weight", id="list for a number"),
    # phi and alive of the wrong shape
    pytest.param(_epoch_line(phi={"normal": [[0.5, 0.5], [0.5]]}), "epoch.phi.normal",
                 id="ragged phi"),
    pytest.param(_epoch_line(phi={"normal": [[0.5, 0.5, 0.1], [0.5, 0.5, 0.1]]}),
                 "epoch.phi.normal", id="phi columns not ops"),
    pytest.param(_epoch_line(alive={"normal": [[1, 1]]}), "epoch.alive.normal",
                 id="alive rows not phi rows"),
    pytest.param(_epoch_line(alive={"reduce": [[1, 1], [1, 1]]}), "epoch.alive",
                 id="alive cell types not phi"),
    pytest.param(_epoch_line(alive={"normal": [[1, 2], [1, 0]]}), "epoch.alive.normal[0][1]",
                 id="alive not 0/1"),
    pytest.param(_epoch_line(alive={"normal": [[True, True], [True, False]]}),
                 "epoch.alive.normal[0][0]", id="alive bools"),
    pytest.param(_epoch_line(phi={"normal": [0.5, 0.5]}), "epoch.phi.normal[0]",
                 id="phi a vector"),
    pytest.param(_epoch_line(phi={"normal": [["a", 0.5], [0.5, 0.5]]}),
                 "epoch.phi.normal[0][0]", id="phi a string"),
    # genotype of the wrong shape
    pytest.param(_genotype_line([["sep_conv_3x3", 0]]), "genotype.genotype", id="a list"),
    pytest.param(_genotype_line({**GOOD_GENOTYPE, "normal": [["sep_conv_3x3", 0]]}),
                 "genotype.genotype.normal", id="odd pair count"),
    pytest.param(_genotype_line({**GOOD_GENOTYPE, "reduce": [["max_pool_3x3"], ["a", 1]]}),
                 "genotype.genotype.reduce[0]", id="pair of one"),
    pytest.param(_genotype_line({**GOOD_GENOTYPE, "reduce": [[0, "a"], ["a", 1]]}),
                 "genotype.genotype.reduce[0]", id="pair reversed"),
    pytest.param(_genotype_line({**GOOD_GENOTYPE, "normal": [["a", -1], ["a", 1]]}),
                 "genotype.genotype.normal[0]", id="negative source"),
    pytest.param(_genotype_line({**GOOD_GENOTYPE, "normal_concat": ["2"]}),
                 "genotype.genotype.normal_concat[0]", id="concat string"),
    pytest.param(_genotype_line({k: v for k, v in GOOD_GENOTYPE.items() if k != "reduce"}),
                 "genotype.genotype", id="missing cell"),
    # huge numbers, deep nesting, text that is not Unicode
    pytest.param(_line(epoch=2**53 + 1), "step.epoch", id="int past 2**53"),
    pytest.param(_line(metrics={"loss": 10**300}), "step.metrics.loss", id="int past 2**63"),
    pytest.param(_line(config={"a": json.loads("[" * 19 + "1" + "]" * 19)}),
                 "nested too deeply", id="21 levels"),
    pytest.param(_line("checkpoint", path="\ud800"), "checkpoint.path", id="lone surrogate"),
]


@pytest.mark.parametrize("line, field", TYPE_ERRORS)
def test_a_field_of_the_wrong_type_is_refused_by_name(line, field):
    with pytest.raises(events.EventError) as err:
        events.decode(line)
    assert field in str(err.value)
    assert "Received" in str(err.value) or "nested" in str(err.value)
    assert len(str(err.value)) < 300


def test_bad_utf8_bytes_are_refused():
    with pytest.raises(events.EventError, match="not UTF-8 .*0xff"):
        events.decode(b'{"v":1,"kind":"check\xffpoint"}')
    assert events.decode(_line("checkpoint").encode()).kind == "checkpoint"


@pytest.mark.parametrize("line", [
    _line(metrics={"loss": None, "accuracy": None}),
    _epoch_line(temperature=None, threshold=None, sparsity=None, epoch_seconds=None,
                phi={"normal": [[None, None], [0.5, None]]}, metrics={"loss": None},
                entropy={"normal": None}),
    _line("prune", weight=None, threshold=None),
    _epoch_line(ops=[], phi={}, alive={}),  # a method that logs no Phi
    _line(epoch=-1, metrics={}),  # run_end of a run that finished no epoch says -1
    _line("run_end", epoch=-1, seconds=None),
    _genotype_line(GOOD_GENOTYPE),
    _line("checkpoint", extra=[1, {"x": None}]),  # fields added later pass unchecked
])
def test_null_numbers_and_optional_shapes_are_accepted(line):
    event = events.decode(line)
    again = events.decode(events.encode(event.kind, when=event.time, **event.data))
    assert again == event


@pytest.mark.parametrize("kind, field", [("prune", "step"), ("trace", "reason"),
                                         ("epoch", "step_seconds"),
                                         ("final_prune", "val_accuracy_before")])
def test_optional_fields_may_be_absent_but_are_typed_when_present(kind, field):
    assert field not in events.REQUIRED_FIELDS[kind] and field in events.FIELD_TYPES[kind]
    lines = {"prune": _line("prune"), "epoch": _epoch_line(),
             "trace": json.dumps({"v": 1, "kind": "trace", "time": 1, "epoch": 0,
                                  "seconds": 1.5, "live_ops": 3}),
             "final_prune": json.dumps({"v": 1, "kind": "final_prune", "time": 1,
                                        "epoch": 0, "genotype": GOOD_GENOTYPE,
                                        "val_accuracy": 0.5, "val_loss": 1.0,
                                        "live_ops": 2, "total_ops": 4})}
    record = json.loads(lines[kind])
    assert field not in events.decode(lines[kind]).data
    with pytest.raises(events.EventError, match=f"{kind}.{field}"):
        events.decode(json.dumps({**record, field: ["wrong"]}))


def test_every_required_field_has_a_type():
    for kind, names in events.REQUIRED_FIELDS.items():
        assert set(names) <= set(events.FIELD_TYPES[kind]), kind


FREE_GENOTYPE = {"topology": "free", "nodes": 4,
                 "normal": [["sep_conv_3x3", 1, 2], ["max_pool_3x3", 1, 2],
                            ["skip_connect", 2, 5]],
                 "normal_concat": [2, 5], "reduce": [["avg_pool_3x3", 0, 3]],
                 "reduce_concat": [3]}


def test_a_free_genotype_is_accepted_in_genotype_and_final_prune_events():
    event = events.decode(_genotype_line(FREE_GENOTYPE))
    assert event["genotype"] == FREE_GENOTYPE
    final = json.dumps({"v": 1, "kind": "final_prune", "time": 1, "epoch": 0,
                        "genotype": FREE_GENOTYPE, "val_accuracy": 0.5, "val_loss": 1.0,
                        "live_ops": 3, "total_ops": 4})
    assert events.decode(final)["genotype"] == FREE_GENOTYPE
    # The DARTS form may name its topology.
    assert events.decode(_genotype_line({**GOOD_GENOTYPE, "topology": "darts"}))


@pytest.mark.parametrize("genotype, path", [
    ({**FREE_GENOTYPE, "topology": "nas"}, r"genotype\.genotype\.topology .*topology='nas'"),
    ({**FREE_GENOTYPE, "topology": None}, r"genotype\.genotype\.topology"),
    ({k: v for k, v in FREE_GENOTYPE.items() if k != "nodes"}, r"misses \['nodes'\]"),
    ({**FREE_GENOTYPE, "nodes": "4"}, r"genotype\.genotype\.nodes must be an integer"),
    ({**FREE_GENOTYPE, "normal": [["sep_conv_3x3", 1]]}, r"genotype\.genotype\.normal\[0\] "
                                                         r"must be an \[op, source, node\]"),
    ({**FREE_GENOTYPE, "normal": [["sep_conv_3x3", 2, 2]]}, r"normal\[0\] must be an \[op"),
    ({**FREE_GENOTYPE, "reduce": [[0, 1, 3]]}, r"genotype\.genotype\.reduce\[0\]"),
    ({**FREE_GENOTYPE, "reduce": [["avg_pool_3x3", 0, True]]}, r"reduce\[0\]"),
    ({**FREE_GENOTYPE, "reduce": "x"}, r"genotype\.genotype\.reduce must be a list"),
    ({**FREE_GENOTYPE, "reduce_concat": [3.5]}, r"genotype\.genotype\.reduce_concat\[0\]"),
    # A DARTS pair list under the free topology is refused (and a triple under DARTS).
    ({**FREE_GENOTYPE, "normal": GOOD_GENOTYPE["normal"]}, r"normal\[0\] must be an \[op"),
    ({**GOOD_GENOTYPE, "normal": FREE_GENOTYPE["normal"][:2]}, r"normal\[0\] must be an "
                                                               r"\[op, source\] pair"),
])
def test_malformed_free_genotypes_are_refused_by_path(genotype, path):
    with pytest.raises(events.EventError, match=path):
        events.decode(_genotype_line(genotype))


@pytest.mark.parametrize("field, good, bad", [
    ("weight_entropy", {"normal": 0.5, "reduce": None}, {"normal": "high"}),
    ("relaxation", "sigmoid", 3),
    ("supernet_madds", 123456, 1.5),
    ("lambda", 2e-5, "x"),
])
def test_the_epoch_fields_of_gold_and_nap_are_optional_and_typed(field, good, bad):
    assert field not in events.REQUIRED_FIELDS["epoch"]
    assert events.decode(_epoch_line(**{field: good}))[field] == good
    assert field not in events.decode(_epoch_line()).data
    # GOLD's and NAP's weights are no distribution: their `entropy` is empty.
    assert events.decode(_epoch_line(entropy={}, **{field: good}))["entropy"] == {}
    with pytest.raises(events.EventError, match=f"epoch.{field}"):
        events.decode(_epoch_line(**{field: bad}))


def _pareto_line(**fields):
    record = {"v": 1, "kind": "pareto", "time": 1.0, "epoch": 3, "genotype": GOOD_GENOTYPE,
              "multiply_adds": 123456, "params": 789, "val_accuracy": 0.5, "entered": True,
              "front_size": 2, "stable_epochs": 1, "stable": False}
    record.update(fields)
    return json.dumps({k: v for k, v in record.items() if v is not ...})


def test_a_pareto_event_is_typed():
    event = events.decode(_pareto_line())
    assert (event["multiply_adds"], event["entered"]) == (123456, True)
    assert events.decode(_pareto_line(val_accuracy=None))["val_accuracy"] is None
    assert events.decode(_pareto_line(front_size=..., stable=...)).kind == "pareto"
    with pytest.raises(events.EventError, match="misses fields \\['entered'\\]"):
        events.decode(_pareto_line(entered=...))
    for field, bad in (("multiply_adds", 1.5), ("entered", 1), ("stable_epochs", "2"),
                       ("genotype", {"normal": []})):
        with pytest.raises(events.EventError, match=f"pareto.{field}"):
            events.decode(_pareto_line(**{field: bad}))
    line = events.encode("pareto", when=1.0, **events.decode(_pareto_line()).data)
    assert events.decode(line) == event
