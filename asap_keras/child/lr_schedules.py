"""Power cosine annealing with warm restarts (Hundt et al., 2019), a Keras schedule."""

from __future__ import annotations

import math
import numbers

import keras
from keras import ops


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"Argument `{name}` must be a number. Received: {name}={value!r}")
    return float(value)


@keras.saving.register_keras_serializable(package="asap_keras")
class PowerCosineRestarts(keras.optimizers.schedules.LearningRateSchedule):
    """Cosine power annealing, restarted `cycles` times with a shrinking amplitude.

    The ASAP paper retrains with this schedule (Sec. 4.2: 5 cycles, the amplitude halved each
    cycle); the curve is sharpDARTS' cosine power annealing (Hundt et al., 2019,
    arXiv:1903.09900). The `decay_steps` are split into `cycles` cycles of `L` steps. At step
    `t` of cycle `k` (counting from 0):

    ```
    c(t) = (1 + cos(pi * t / L)) / 2                 # 1 -> 0, plain cosine annealing
    f(t) = (p ** c - 1) / (p - 1)                    # 1 -> 0; f = c when p == 1
    lr   = min_lr + (lr_max * decay ** k - min_lr) * f(t)
    ```

    `f` is Hundt's `(p ** (c + 1) - p) / (p ** 2 - p)` rescaled power curve: a larger `p`
    drops faster early and lingers near `min_lr` longer. Cycle `k` starts at exactly
    `lr_max * decay ** k` and ends at `min_lr`; past `decay_steps` the rate stays at the
    last cycle's end value, `min_lr`.

    Args:
        initial_learning_rate: `lr_max`, the first cycle's peak (> 0).
        decay_steps: steps of all cycles together (> 0).
        cycles: number of cycles (>= 1; 1 is a single annealing curve).
        amplitude_decay: `decay`, each cycle's peak as a fraction of the previous one's,
            in (0, 1].
        power: `p`, the exponent order (>= 1; 1 is plain cosine annealing).
        min_learning_rate: `min_lr`, where every cycle ends, in
            [0, the last cycle's peak].
        name: name of the operations.

    Returns:
        A 1-arg callable from the optimizer step to the learning rate (a float32 scalar).

    Raises:
        ValueError: an argument is out of range.

    Example:

    >>> schedule = PowerCosineRestarts(0.025, decay_steps=1000, cycles=5)
    >>> [round(float(schedule(t)), 6) for t in (0, 100, 200, 1000)]
    [0.025, 0.006006, 0.0125, 0.0]
    """

    def __init__(self, initial_learning_rate, decay_steps, cycles=5, amplitude_decay=0.5,
                 power=10.0, min_learning_rate=0.0, name="PowerCosineRestarts"):
        super().__init__()
        self.initial_learning_rate = _number("initial_learning_rate", initial_learning_rate)
        self.decay_steps = _number("decay_steps", decay_steps)
        self.amplitude_decay = _number("amplitude_decay", amplitude_decay)
        self.power = _number("power", power)
        self.min_learning_rate = _number("min_learning_rate", min_learning_rate)
        self.cycles = cycles
        self.name = name
        if self.initial_learning_rate <= 0:
            raise ValueError("Argument `initial_learning_rate` must be > 0. "
                             f"Received: initial_learning_rate={initial_learning_rate}")
        if self.decay_steps <= 0:
            raise ValueError(f"Argument `decay_steps` must be > 0. "
                             f"Received: decay_steps={decay_steps}")
        if isinstance(cycles, bool) or not isinstance(cycles, numbers.Integral) or cycles < 1:
            raise ValueError(f"Argument `cycles` must be an integer >= 1. "
                             f"Received: cycles={cycles!r}")
        self.cycles = int(cycles)
        if not 0.0 < self.amplitude_decay <= 1.0:
            raise ValueError(f"Argument `amplitude_decay` must be in (0, 1]. "
                             f"Received: amplitude_decay={amplitude_decay}")
        if self.power < 1.0:
            raise ValueError(f"Argument `power` must be >= 1 (1 is plain cosine annealing). "
                             f"Received: power={power}")
        last_peak = self.initial_learning_rate * self.amplitude_decay ** (self.cycles - 1)
        if not 0.0 <= self.min_learning_rate <= last_peak:
            raise ValueError(f"Argument `min_learning_rate` must be in [0, {last_peak:g}] "
                             f"(the last cycle's peak). "
                             f"Received: min_learning_rate={min_learning_rate}")

    def __call__(self, step):
        with keras.name_scope(self.name):
            length = self.decay_steps / self.cycles  # steps per cycle
            step = ops.clip(ops.cast(step, "float32"), 0.0, self.decay_steps)
            # Grappler turns `step / length` into `step * (1 / length)`, which can land just
            # below a whole number at a cycle's first step; the comparisons with the exact
            # products put such a step back in its cycle.
            cycle = ops.floor(step / length)
            cycle = ops.where(step >= (cycle + 1.0) * length, cycle + 1.0, cycle)
            cycle = ops.where(step < cycle * length, cycle - 1.0, cycle)
            cycle = ops.minimum(cycle, float(self.cycles - 1))
            position = (step - cycle * length) / length  # in [0, 1]; 1 only at the very end
            cosine = 0.5 * (1.0 + ops.cos(math.pi * position))
            if self.power == 1.0:
                factor = cosine
            else:
                # (p**c - 1) / (p - 1), through expm1 so a p close to 1 loses no precision;
                # the same float32 op on both sides gives exactly 1 at c = 1.
                log_p = ops.convert_to_tensor(math.log(self.power), "float32")
                factor = ops.expm1(cosine * log_p) / ops.expm1(log_p)
            peak = self.initial_learning_rate * ops.power(
                ops.convert_to_tensor(self.amplitude_decay, "float32"), cycle)
            low = self.min_learning_rate
            return ops.cast(low + (peak - low) * factor, "float32")

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "cycles": self.cycles,
                "amplitude_decay": self.amplitude_decay, "power": self.power,
                "min_learning_rate": self.min_learning_rate, "name": self.name}
