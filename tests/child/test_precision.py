"""Retraining under `runtime.precision` and `runtime.jit_compile`."""

import keras
import numpy as np
import tensorflow as tf

from asap_keras import events
from asap_keras.child import runner
from asap_keras.child.config import TrainConfig
from asap_keras.child.genotypes import resolve
from asap_keras.config import load_config
from tests.conftest import ROOT


def tiny_config(tmp_path, *overrides):
    return load_config(ROOT / "configs/smoke_train.toml",
                       [f"run.runs_dir='{tmp_path}'", "train.epochs=1", "data.limit=200",
                        *overrides], schema=TrainConfig)


def test_a_float16_retraining_is_loss_scaled_finite_and_counts_every_step(tmp_path):
    cfg = tiny_config(tmp_path, "runtime.precision='mixed_float16'")
    outcome = runner.train_run(cfg, resolve("darts_v2"), "darts_v2", verbose=0)
    assert keras.config.dtype_policy().name == "float32"
    model = outcome.model
    assert model.dtype_policy.name == "mixed_float16"
    assert model(tf.zeros((2, *model.image_shape))).dtype == tf.float16
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert model.jit_compile is False  # "auto" without a GPU
    history = outcome.history.history
    assert all(np.isfinite(history[k][0]) for k in ("loss", "val_loss"))
    log = [events.decode(line) for line in
           (outcome.run_path / "events.jsonl").read_text().splitlines()]
    assert log[-1]["status"] == "finished"
    # Every step counts, a skipped one too, so a resume finds whole epochs.
    assert int(model.optimizer.iterations.numpy()) == log[0]["steps_per_epoch"]
    # The saved model holds float32 weights and loads under the global policy.
    saved = keras.saving.load_model(outcome.run_path / "model.keras")
    assert {v.dtype for v in saved.weights} == {"float32"}
    assert saved.dtype_policy.name == "float32"


def test_retraining_compiles_with_the_configured_policy_and_jit_compile(tmp_path):
    from tensorflow.python.framework import config as tf_config

    train, _ = runner.load_train_test(tiny_config(tmp_path).data, 1)
    bf16 = runner.build_model(tiny_config(tmp_path, "runtime.precision='mixed_bfloat16'"),
                              resolve("darts_v2"), train, 5)
    assert bf16.dtype_policy.name == "mixed_bfloat16"
    assert not isinstance(bf16.optimizer, keras.optimizers.LossScaleOptimizer)
    assert keras.config.dtype_policy().name == "float32"
    was_deterministic = tf_config.is_op_determinism_enabled()
    tf_config.disable_op_determinism()  # Keras runs no XLA under op determinism
    try:
        jit = runner.build_model(tiny_config(tmp_path, "runtime.jit_compile=true",
                                             "runtime.deterministic=false"),
                                 resolve("darts_v2"), train, 5)
        assert jit.jit_compile is True
    finally:
        if was_deterministic:
            tf_config.enable_op_determinism()
