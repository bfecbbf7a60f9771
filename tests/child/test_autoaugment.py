"""AutoAugment: the published CIFAR-10 table and mapping, per-image selection, ops, the layer."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from asap_keras.child import autoaugment
from asap_keras.child import autoaugment_ops as ops
from asap_keras.child.augment import make_augmenter
from asap_keras.child.autoaugment import (
    CIFAR10_POLICY,
    PARAMETER_MAX,
    AutoAugment,
    level_to_arg,
    sample_choices,
)
from asap_keras.child.config import AugmentConfig
from asap_keras.errors import ConfigError
from tests.space.test_layers import assert_config_round_trip

# Written out from Cubuk et al. (2019), appendix table of the reduced-CIFAR-10 policy (also
# tensorflow/models research/autoaugment/policies.py, good_policies(), except 15).
PUBLISHED = {
    0: (("Invert", 0.1, 7), ("Contrast", 0.2, 6)),
    3: (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
    5: (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
    14: (("Solarize", 0.5, 2), ("Invert", 0.0, 3)),
    15: (("Equalize", 0.2, 0), ("AutoContrast", 0.6, 0)),
    24: (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, 1)),
}
# The paper's CIFAR-10 policy uses these 13 ops (no ShearX, no Cutout).
PUBLISHED_OPS = {"Invert", "Contrast", "Rotate", "TranslateX", "Sharpness", "ShearY",
                 "TranslateY", "AutoContrast", "Equalize", "Posterize", "Color", "Brightness",
                 "Solarize"}


def _one(value):
    return tf.constant([value], tf.float32)


def _image(pixels, channels=1):
    """A `(1, H, W, C)` float32 batch from a 2-D list, repeated over channels."""
    array = np.asarray(pixels, np.float32)[None, :, :, None]
    return tf.constant(np.repeat(array, channels, axis=-1))


# The policy table -------------------------------------------------------------------------

def test_cifar10_table_shape_and_ranges():
    assert len(CIFAR10_POLICY) == 25
    for sub in CIFAR10_POLICY:
        assert len(sub) == 2
        for op, prob, level in sub:
            assert op in ops.OPS
            assert 0.0 <= prob <= 1.0
            assert isinstance(level, int) and 0 <= level <= PARAMETER_MAX == 10
    assert {op for sub in CIFAR10_POLICY for op, _, _ in sub} == PUBLISHED_OPS


@pytest.mark.parametrize("index", sorted(PUBLISHED))
def test_cifar10_table_matches_the_paper(index):
    assert CIFAR10_POLICY[index] == PUBLISHED[index]


# The magnitude -> parameter mapping ---------------------------------------------------------

@pytest.mark.parametrize("op, level, side, expected", [
    ("Solarize", 5, 32, 128),      # 256 - int(5 * 256 / 10)
    ("Solarize", 0, 32, 256),      # nothing reaches the threshold
    ("Solarize", 8, 32, 52),       # 256 - 204
    ("Posterize", 8, 32, 1),       # 4 - int(3.2)
    ("Posterize", 7, 32, 2),       # 4 - int(2.8)
    ("Posterize", 0, 32, 4),
    ("Rotate", 10, 32, 30),
    ("Rotate", 2, 32, 6),
    ("TranslateX", 9, 32, 9),      # int(9 * 10 / 10) on the reference's 32 px
    ("TranslateY", 10, 32, 10),
    ("TranslateX", 9, 16, 4),      # 10/32 of 16 px = 5 px at level 10; int(4.5)
    ("TranslateY", 9, 8, 2),       # 2.5 px at level 10; int(2.25)
    ("TranslateY", 3, 8, 0),       # int(0.75)
])
def test_level_to_arg_integer_parameters(op, level, side, expected):
    assert level_to_arg(op, level, side) == expected


@pytest.mark.parametrize("op, level, expected", [
    ("Color", 10, 1.9), ("Contrast", 5, 1.0), ("Brightness", 0, 0.1), ("Sharpness", 3, 0.64),
    ("ShearY", 8, 0.24), ("ShearX", 10, 0.3), ("ShearY", 0, 0.0),
])
def test_level_to_arg_float_parameters(op, level, expected):
    assert level_to_arg(op, level) == pytest.approx(expected)


def test_level_to_arg_parameterless_ops_and_refusals():
    for op in ("AutoContrast", "Equalize", "Invert"):
        assert level_to_arg(op, 7) is None
    with pytest.raises(ValueError, match="op_name='Blur'"):
        level_to_arg("Blur", 3)
    with pytest.raises(ValueError, match="level=11"):
        level_to_arg("Rotate", 11)


# Per-image selection ------------------------------------------------------------------------

def test_sub_policies_are_drawn_uniformly_and_entries_with_their_probability():
    draws = 25_000
    index, apply = sample_choices(draws, seed=0)
    index, apply = index.numpy(), apply.numpy()
    counts = np.bincount(index, minlength=25)
    # 1,000 expected per sub-policy, sd about 31: a band of about +-6 sd.
    assert counts.min() > 800 and counts.max() < 1200
    for i, sub in enumerate(CIFAR10_POLICY):
        for j, (_, prob, _) in enumerate(sub):
            rate = apply[index == i, j].mean()
            assert abs(rate - prob) < 0.08, (i, j, rate, prob)
    # A probability-0 entry never fires: sub-policy 14's Invert.
    assert not apply[index == 14, 1].any()


def test_images_of_one_batch_draw_independently_and_seeds_repeat():
    index, apply = sample_choices(64, seed=3)
    assert len(set(index.numpy().tolist())) > 10  # about 23 distinct expected
    again, again_apply = sample_choices(64, seed=3)
    np.testing.assert_array_equal(index, again)
    np.testing.assert_array_equal(apply, again_apply)
    generator = keras.random.SeedGenerator(3)
    first, _ = sample_choices(64, seed=generator)
    second, _ = sample_choices(64, seed=generator)
    assert not np.array_equal(first, second)


# The ops, on images whose answer is obvious ---------------------------------------------------

def test_invert_solarize_posterize():
    x = _image([[0.0, 100.0, 127.0, 128.0, 200.0, 255.0]])
    np.testing.assert_array_equal(ops.invert(x)[0, 0, :, 0], [255, 155, 128, 127, 55, 0])
    # Only pixels >= 128 are inverted.
    np.testing.assert_array_equal(ops.solarize(x, _one(128))[0, 0, :, 0],
                                  [0, 100, 127, 127, 55, 0])
    np.testing.assert_array_equal(ops.solarize(x, _one(256)), x)
    # 1 bit: >= 128 -> 128, else 0; 2 bits: 200 = 0b11001000 -> 0b11000000 = 192,
    # 100 = 0b01100100 -> 0b01000000 = 64, 127 -> 64.
    np.testing.assert_array_equal(ops.posterize(x, _one(1))[0, 0, :, 0],
                                  [0, 0, 0, 128, 128, 128])
    np.testing.assert_array_equal(ops.posterize(x, _one(2))[0, 0, :, 0],
                                  [0, 64, 64, 128, 192, 192])


@pytest.mark.parametrize("pixels, expected_col", [(3, 2), (-3, 8), (0, 5)])
def test_translate_moves_a_bright_pixel(pixels, expected_col):
    image = np.zeros((9, 16), np.float32)
    image[4, 5] = 255.0
    out = ops.translate_x(_image(image), _one(pixels)).numpy()[0, :, :, 0]
    assert np.argwhere(out == 255.0).tolist() == [[4, expected_col]]
    if pixels > 0:  # the uncovered right strip takes the reference's gray fill
        np.testing.assert_array_equal(out[:, 16 - pixels:], 128.0)
    moved = ops.translate_y(_image(image), _one(pixels)).numpy()[0, :, :, 0]
    assert np.argwhere(moved == 255.0).tolist() == [[4 - pixels, 5]]


def test_translate_at_the_scaled_published_magnitude():
    # Level 9 on a 16-px image: 4 px (see the mapping test), so the pixel goes from 10 to 6.
    image = np.zeros((16, 16), np.float32)
    image[8, 10] = 255.0
    shift = level_to_arg("TranslateX", 9, 16)
    out = ops.translate_x(_image(image), _one(shift)).numpy()[0, :, :, 0]
    assert np.argwhere(out == 255.0).tolist() == [[8, 6]]


def test_rotate_a_quarter_turn_counter_clockwise():
    image = np.zeros((5, 5), np.float32)
    image[1, 2] = 255.0  # above the centre (2, 2)
    out = ops.rotate(_image(image), _one(90.0)).numpy()[0, :, :, 0]
    assert np.argwhere(out == 255.0).tolist() == [[2, 1]]  # now left of the centre
    np.testing.assert_array_equal(ops.rotate(_image(image), _one(0.0)), _image(image))


@pytest.mark.parametrize("channels", [1, 3])
def test_equalize_spreads_a_two_valued_image_to_the_extremes(channels):
    # 512 pixels of each value: step = 512 // 255 = 2, so 100 -> (1 + 0) // 2 = 0 and
    # 150 -> (1 + 512) // 2 = 256, capped at 255.
    image = np.full((32, 32), 100.0, np.float32)
    image[:, 16:] = 150.0
    out = ops.equalize(_image(image, channels)).numpy()[0]
    np.testing.assert_array_equal(out[:, :16], 0.0)
    np.testing.assert_array_equal(out[:, 16:], 255.0)
    flat = _image(np.full((32, 32), 77.0), channels)
    np.testing.assert_array_equal(ops.equalize(flat), flat)  # one level: unchanged


def test_auto_contrast_stretches_to_the_full_range():
    x = _image([[50.0, 75.0, 100.0]])
    np.testing.assert_allclose(ops.auto_contrast(x)[0, 0, :, 0], [0.0, 127.5, 255.0])
    flat = _image([[9.0, 9.0]])
    np.testing.assert_array_equal(ops.auto_contrast(flat), flat)


def test_enhance_ops():
    rgb = tf.constant([[[[200.0, 100.0, 0.0], [40.0, 40.0, 40.0]]]])
    np.testing.assert_allclose(ops.brightness(rgb, _one(0.5)), rgb * 0.5)
    # Factor 1 is the identity for every enhancer; Color leaves gray pixels and 1-channel
    # images alone; Sharpness leaves a flat image alone.
    for op in (ops.color, ops.contrast, ops.brightness, ops.sharpness):
        np.testing.assert_allclose(op(rgb, _one(1.0)), rgb, atol=1e-4)
    np.testing.assert_allclose(ops.color(rgb, _one(0.1))[0, 0, 1], [40.0, 40.0, 40.0],
                               atol=1e-4)
    gray = _image([[10.0, 200.0], [30.0, 90.0]])
    np.testing.assert_allclose(ops.color(gray, _one(1.9)), gray, atol=1e-4)
    flat = _image(np.full((6, 6), 70.0), 3)
    np.testing.assert_allclose(ops.sharpness(flat, _one(1.9)), flat, atol=1e-4)
    # Contrast pulls toward the mean luma: a 0/100 gray image has mean 50.
    np.testing.assert_allclose(ops.contrast(_image([[0.0, 100.0]]), _one(0.5))[0, 0, :, 0],
                               [25.0, 75.0])


# The layer --------------------------------------------------------------------------------

@pytest.fixture
def test_policy(monkeypatch):
    """A one-sub-policy table: Invert always, Solarize never."""
    table = ((("Invert", 1.0, 0), ("Solarize", 0.0, 5)),)
    monkeypatch.setitem(autoaugment.POLICIES, "test_only", table)
    return "test_only"


def test_probability_one_always_applies_and_zero_never(test_policy):
    x = tf.random.uniform((16, 8, 8, 3), 0, 255, seed=1)
    out = AutoAugment(policy=test_policy, seed=0)(x)
    np.testing.assert_allclose(out, 255.0 - x, atol=1e-4)  # solarizing would flip x >= 128


def test_training_false_is_the_identity():
    x = tf.random.uniform((4, 8, 8, 3), 0, 255, seed=2)
    np.testing.assert_array_equal(AutoAugment(seed=0)(x, training=False), x)


@pytest.mark.parametrize("shape, value_range, dtype", [
    ((6, 8, 8, 1), (0, 255), "float32"),
    ((6, 32, 32, 3), (0, 255), "float32"),
    ((5, 12, 20, 3), (0.0, 1.0), "float64"),
    ((8, 8, 1), (-1.0, 1.0), "float32"),
])
def test_shape_dtype_and_range_are_kept(shape, value_range, dtype):
    low, high = value_range
    x = tf.cast(tf.random.uniform(shape, low, high, seed=3), dtype)
    out = AutoAugment(value_range=value_range, seed=1)(x)
    assert tuple(out.shape) == shape and out.dtype == x.dtype
    assert float(tf.reduce_min(out)) >= low and float(tf.reduce_max(out)) <= high


def test_images_of_one_batch_are_augmented_independently():
    x = tf.repeat(tf.random.uniform((1, 16, 16, 3), 0, 255, seed=4), 32, axis=0)
    out = AutoAugment(seed=5)(x).numpy()
    distinct = {out[i].tobytes() for i in range(len(out))}
    assert len(distinct) > 8


def test_a_seed_repeats_and_calls_differ():
    x = tf.random.uniform((16, 16, 16, 3), 0, 255, seed=6)
    a, b = AutoAugment(seed=7), AutoAugment(seed=7)
    first = a(x)
    np.testing.assert_array_equal(first, b(x))
    assert not np.array_equal(first, a(x))


def test_runs_inside_tf_data_map_and_varies_per_epoch():
    images = np.random.default_rng(0).uniform(0, 255, (32, 8, 8, 1)).astype("float32")
    layer = AutoAugment(seed=8)
    ds = tf.data.Dataset.from_tensor_slices(images).batch(16).map(lambda x: layer(x))
    epoch_one, epoch_two = [np.concatenate(list(ds.as_numpy_iterator())) for _ in range(2)]
    assert epoch_one.shape == images.shape and epoch_one.dtype == np.float32
    assert 0.0 <= epoch_one.min() and epoch_one.max() <= 255.0
    assert not np.array_equal(epoch_one, epoch_two)


def test_config_round_trip_and_refusals():
    layer = AutoAugment(value_range=(0, 1), seed=11, name="aa")
    config = layer.get_config()
    assert {k: config[k] for k in ("policy", "value_range", "seed")} == {
        "policy": "cifar10", "value_range": [0, 1], "seed": 11}
    assert_config_round_trip(layer, tf.random.uniform((2, 8, 8, 3)))
    clone = AutoAugment.from_config(config)
    x = tf.random.uniform((8, 8, 8, 3), seed=12)
    np.testing.assert_array_equal(AutoAugment.from_config(config)(x), clone(x))
    with pytest.raises(ValueError, match="policy='imagenet'"):
        AutoAugment(policy="imagenet")
    with pytest.raises(ValueError, match=r"value_range=\(1, 0\)"):
        AutoAugment(value_range=(1, 0))
    with pytest.raises(ValueError, match=r"images.shape=\(2, 4, 4, 4\)"):
        AutoAugment()(tf.zeros((2, 4, 4, 4)))


# Wiring into retraining -------------------------------------------------------------------

def test_augment_config_defaults_to_the_papers_policy_and_refuses_both():
    cfg = AugmentConfig()
    assert cfg.autoaugment and not cfg.randaugment
    with pytest.raises(ConfigError, match=r"x\.autoaugment and x\.randaugment.*"
                                          r"Received: autoaugment=True, randaugment=True"):
        AugmentConfig(autoaugment=True, randaugment=True).validate("x")
    AugmentConfig(autoaugment=False, randaugment=True).validate("x")


def test_make_augmenter_runs_autoaugment_alone_in_a_pipeline():
    cfg = AugmentConfig(crop_flip=False, cutout=0, autoaugment=True)
    augment = make_augmenter(cfg, (8, 8, 1), seed=0)
    images = np.random.default_rng(1).uniform(0, 255, (64, 8, 8, 1)).astype("float32")
    out = np.concatenate(list(tf.data.Dataset.from_tensor_slices(images).batch(32)
                              .map(augment).as_numpy_iterator()))
    assert out.shape == images.shape
    changed = np.mean([not np.array_equal(a, b) for a, b in zip(out, images)])
    # About 3 images in 4 draw an entry that fires (the published probabilities), fewer change
    # (Color is the identity on 1-channel images); some stay untouched.
    assert 0.4 < changed < 1.0
