"""Power cosine annealing with restarts: cycle boundaries, the curve's shape, Keras plumbing."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.child.config import TrainConfig, TrainingConfig
from asap_keras.child.lr_schedules import PowerCosineRestarts
from asap_keras.child.runner import learning_rate_schedule
from asap_keras.config import config_from_dict
from asap_keras.errors import ConfigError

LR, CYCLE, CYCLES, DECAY = 0.1, 1000, 5, 0.5


def values(schedule, steps):
    return np.array([float(schedule(step)) for step in steps])


@pytest.mark.parametrize("min_lr", [0.0, 1e-4])
@pytest.mark.parametrize("power", [1.0, 2.0, 10.0])
def test_each_cycle_starts_at_its_halved_peak_and_ends_at_the_minimum(power, min_lr):
    schedule = PowerCosineRestarts(LR, CYCLES * CYCLE, CYCLES, DECAY, power, min_lr)
    starts = values(schedule, [k * CYCLE for k in range(CYCLES)])
    np.testing.assert_allclose(starts, [0.1, 0.05, 0.025, 0.0125, 0.00625], rtol=1e-6)
    np.testing.assert_allclose(starts[1:] / starts[:-1], DECAY, rtol=1e-6)
    # The last step of every cycle is within a hair of the minimum: at t = L - 1,
    # c = (1 + cos(pi (L - 1) / L)) / 2 < (pi / L)**2 / 4 and f <= c (f is convex, f(0) = 0,
    # f(1) = 1), so lr - min_lr < peak * 2.5e-6.
    ends = values(schedule, [(k + 1) * CYCLE - 1 for k in range(CYCLES)])
    assert np.all(ends >= min_lr - 1e-9)
    np.testing.assert_allclose(ends - min_lr, 0.0, atol=LR * 2.5e-6)
    # The end of the last cycle is the minimum itself, and the schedule stays there.
    np.testing.assert_allclose(values(schedule, [CYCLES * CYCLE, CYCLES * CYCLE + 1, 10**6]),
                               min_lr, atol=1e-9)


@pytest.mark.parametrize("power", [1.0, 3.0, 10.0, 100.0])
def test_within_each_cycle_the_rate_only_falls(power):
    schedule = PowerCosineRestarts(LR, CYCLES * CYCLE, CYCLES, DECAY, power)
    curve = values(schedule, range(0, CYCLES * CYCLE, 10))
    for cycle in np.split(curve, CYCLES):
        assert np.all(np.diff(cycle) < 0)
    # A restart raises the rate again (to the next, halved peak).
    for k in range(1, CYCLES):
        assert float(schedule(k * CYCLE)) > float(schedule(k * CYCLE - 1))


@pytest.mark.parametrize("power", [2.0, 4.0, 10.0, 100.0])
def test_mid_cycle_value_by_hand(power):
    # At t = L/2 the cosine part is c = 1/2, so f = (sqrt(p) - 1) / (p - 1) = 1 / (sqrt(p) + 1).
    schedule = PowerCosineRestarts(LR, CYCLES * CYCLE, CYCLES, DECAY, power)
    for k in range(CYCLES):
        peak = LR * DECAY**k
        assert float(schedule(k * CYCLE + CYCLE // 2)) == pytest.approx(
            peak / (math.sqrt(power) + 1), rel=1e-5)
    with_floor = PowerCosineRestarts(LR, CYCLES * CYCLE, CYCLES, DECAY, power, 0.005)
    assert float(with_floor(CYCLE // 2)) == pytest.approx(
        0.005 + (LR - 0.005) / (math.sqrt(power) + 1), rel=1e-5)


def test_a_larger_power_drops_faster_early():
    steps = range(1, CYCLE)
    cosine = values(PowerCosineRestarts(LR, CYCLE, 1, power=1.0), steps)
    power2 = values(PowerCosineRestarts(LR, CYCLE, 1, power=2.0), steps)
    power10 = values(PowerCosineRestarts(LR, CYCLE, 1, power=10.0), steps)
    assert np.all(power10 < power2) and np.all(power2 < cosine)


@pytest.mark.parametrize("cycle_steps, decay", [(1000, 0.5), (37, 0.8), (1, 0.5)])
def test_power_one_is_keras_cosine_decay_restarts(cycle_steps, decay):
    ours = PowerCosineRestarts(LR, CYCLES * cycle_steps, CYCLES, decay, power=1.0)
    keras_schedule = keras.optimizers.schedules.CosineDecayRestarts(
        LR, first_decay_steps=cycle_steps, t_mul=1.0, m_mul=decay, alpha=0.0)
    steps = np.unique(np.linspace(0, CYCLES * cycle_steps - 1, 400).astype(int))
    np.testing.assert_allclose(values(ours, steps), values(keras_schedule, steps),
                               rtol=1e-5, atol=1e-9)


def test_symbolic_steps_inside_tf_function():
    schedule = PowerCosineRestarts(LR, CYCLES * CYCLE, CYCLES, DECAY, 10.0)

    @tf.function(input_signature=[tf.TensorSpec((), tf.int64)])
    def traced(step):
        return schedule(step)

    for step in (0, 500, 1000, 2500, 4999, 5000, 9000):
        value = traced(tf.constant(step, tf.int64))
        assert value.dtype == tf.float32
        assert float(value) == pytest.approx(float(schedule(step)), rel=1e-6, abs=1e-12)
    assert traced.experimental_get_tracing_count() == 1
    # Traced, TensorFlow rewrites `step / L` as `step * (1 / L)`, which lands just below a
    # whole number at some restarts (Keras' own CosineDecayRestarts then gives 0 there).
    # The paper-sized run: 1,500 epochs of 390 steps, 5 cycles of 117,000 steps.
    paper = PowerCosineRestarts(0.025, 1500 * 390, 5, 0.5, 10.0)

    @tf.function(input_signature=[tf.TensorSpec((), tf.int64)])
    def traced_paper(step):
        return paper(step)

    starts = [float(traced_paper(tf.constant(k * 117_000, tf.int64))) for k in range(5)]
    np.testing.assert_allclose(starts, [0.025 * 0.5**k for k in range(5)], rtol=1e-6)
    assert float(traced_paper(tf.constant(1500 * 390, tf.int64))) == 0.0
    # The optimizer reads it through its step Variable.
    optimizer = keras.optimizers.SGD(schedule)
    optimizer.build([keras.Variable(1.0)])
    optimizer.iterations.assign(CYCLE)
    assert float(optimizer.learning_rate) == pytest.approx(LR * DECAY, rel=1e-6)


def test_config_and_serialization_round_trip():
    schedule = PowerCosineRestarts(0.025, 600, 3, 0.7, 4.0, 1e-4, name="lr")
    config = schedule.get_config()
    assert config == {"initial_learning_rate": 0.025, "decay_steps": 600.0, "cycles": 3,
                      "amplitude_decay": 0.7, "power": 4.0, "min_learning_rate": 1e-4,
                      "name": "lr"}
    assert PowerCosineRestarts.from_config(config).get_config() == config
    serialized = keras.saving.serialize_keras_object(schedule)
    assert "asap_keras" in serialized["registered_name"]
    clone = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(clone, PowerCosineRestarts) and clone.get_config() == config
    steps = [0, 150, 199, 200, 450, 600]
    np.testing.assert_array_equal(values(clone, steps), values(schedule, steps))
    # Inside an optimizer too, as Keras writes one when it saves a compiled model.
    optimizer = keras.optimizers.SGD(schedule, momentum=0.9, nesterov=True)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert restored.get_config()["learning_rate"] == serialized
    for opt in (optimizer, restored):
        opt.build([keras.Variable(1.0)])
        opt.iterations.assign(450)
    assert float(restored.learning_rate) == float(optimizer.learning_rate) == float(
        schedule(450))


@pytest.mark.parametrize("kwargs, message", [
    ({"initial_learning_rate": 0.0}, "initial_learning_rate=0.0"),
    ({"decay_steps": 0}, "decay_steps=0"),
    ({"decay_steps": "100"}, "decay_steps='100'"),
    ({"cycles": 0}, "cycles=0"),
    ({"cycles": 2.5}, "cycles=2.5"),
    ({"amplitude_decay": 0.0}, "amplitude_decay=0.0"),
    ({"amplitude_decay": 1.5}, "amplitude_decay=1.5"),
    ({"power": 0.5}, "power=0.5"),
    ({"min_learning_rate": -1e-3}, "min_learning_rate=-0.001"),
    ({"min_learning_rate": 0.2}, "min_learning_rate=0.2"),
])
def test_bad_arguments_are_refused(kwargs, message):
    args = {"initial_learning_rate": LR, "decay_steps": 1000, **kwargs}
    with pytest.raises(ValueError, match=message):
        PowerCosineRestarts(**args)


def test_the_minimum_may_not_exceed_the_last_peak():
    # Last peak: 0.1 * 0.5**4 = 0.00625; a higher floor would make that cycle climb.
    PowerCosineRestarts(LR, 1000, 5, 0.5, min_learning_rate=0.00625)
    with pytest.raises(ValueError, match=r"\[0, 0.00625\].*min_learning_rate=0.007"):
        PowerCosineRestarts(LR, 1000, 5, 0.5, min_learning_rate=0.007)


def test_the_train_table_picks_the_schedule():
    def train(**kw):
        return config_from_dict({"train": kw}, schema=TrainConfig).train

    power = learning_rate_schedule(train(lr=0.05, restarts=4, restart_decay=0.6,
                                         lr_power=3.0), 800)
    assert isinstance(power, PowerCosineRestarts)
    assert power.get_config() == {**power.get_config(), "initial_learning_rate": 0.05,
                                  "decay_steps": 800.0, "cycles": 4, "amplitude_decay": 0.6,
                                  "power": 3.0, "min_learning_rate": 0.0}
    assert TrainingConfig().lr_schedule == "power_cosine" and TrainingConfig().lr_power == 10
    plain = learning_rate_schedule(train(lr=0.05, restarts=4, restart_decay=0.6,
                                         lr_schedule="cosine_restarts"), 800)
    assert isinstance(plain, keras.optimizers.schedules.CosineDecayRestarts)
    assert plain.get_config() == {**plain.get_config(), "initial_learning_rate": 0.05,
                                  "first_decay_steps": 200, "t_mul": 1.0, "m_mul": 0.6,
                                  "alpha": 0.0}
    with pytest.raises(ConfigError, match="train.lr_schedule.*lr_schedule='step'"):
        train(lr_schedule="step")
    with pytest.raises(ConfigError, match="train.lr_power must be >= 1.*lr_power=0.5"):
        train(lr_power=0.5)

