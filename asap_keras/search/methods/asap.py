"""ASAP: anneal T, prune every op under theta inside the step (Alg. 1); or Theorem 2's schedule."""

from __future__ import annotations

import tensorflow as tf

from asap_keras.search import schedules
from asap_keras.search.methods.base import EpochSchedule, SearchMethod


class Asap(SearchMethod):
    """Noy et al. (2019): weight step, then past grace an architecture step and the prune.

    `schedule = "exponential"` (Eq. 9): T = t0 beta^epoch and theta = factor / N per epoch.
    `schedule = "pac"` (Theorem 2, Eqs. 7-8): after the same grace epochs, every architecture
    update t (from 1) sets T_t and theta_t = nu exp(-t) in the step.
    """

    name = "asap"
    weight_first = True
    prunes_in_step = True

    def __init__(self, search, num_ops, topology="darts"):
        super().__init__(search, num_ops, topology)
        self.anneal = search.anneal
        pac = search.anneal.pac
        self.pac_eta_l = pac.eta_l or search.arch_optimizer.lr
        self.pac_nu = pac.nu or 1.0 / num_ops  # Config.validate checks nu <= 1/N

    @property
    def pac(self) -> bool:
        return self.anneal.schedule == "pac"

    def epoch_schedule(self, epoch):
        an = self.anneal
        temperature = schedules.temperature(epoch, an.t0, an.beta)
        arch_steps = schedules.arch_steps_enabled(temperature, an.grace_temperature)
        if self.pac and arch_steps:  # the step sets T_t and theta_t
            return EpochSchedule(None, None, True)
        threshold = schedules.threshold(self.num_ops, self.search.prune.threshold_factor)
        return EpochSchedule(temperature, threshold, arch_steps)

    def step_schedule(self, arch, t):
        if not self.pac:
            return
        t = tf.cast(t, tf.float32)
        arch.temperature.assign(schedules.pac_temperature_formula(
            t, self.num_ops, self.pac_eta_l, self.anneal.pac.delta, self.pac_nu, tf.math))
        arch.threshold.assign(schedules.pac_threshold_formula(t, self.pac_nu, tf.math))
