"""AutoAugment (Cubuk et al., 2019): a published augmentation policy as a Keras layer."""

from __future__ import annotations

import numbers

import keras
import tensorflow as tf

from asap_keras.child.autoaugment_ops import OPS

PARAMETER_MAX = 10
# The reference code works on 32x32 images; its translations are in pixels of that side.
REFERENCE_SIDE = 32
MAX_TRANSLATE = 10

# The policy found on reduced CIFAR-10: Cubuk et al. (2019), "AutoAugment: Learning
# Augmentation Policies from Data", appendix table of the CIFAR-10 policy; 25 sub-policies of
# two (op, probability, magnitude) entries. Sub-policies 0-4, 5-9, 10-14 and 20-24 are, in order,
# exp0_0, exp1_0, exp2_0 and exp0_1 of the authors' `good_policies()` in tensorflow/models
# research/autoaugment/policies.py; 15-19 are from the paper's table (as torchvision's
# AutoAugmentPolicy.CIFAR10 also has them).
CIFAR10_POLICY = (
    (("Invert", 0.1, 7), ("Contrast", 0.2, 6)),
    (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
    (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)),
    (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.5, 8), ("Equalize", 0.9, 2)),
    (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
    (("Color", 0.4, 3), ("Brightness", 0.6, 7)),
    (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
    (("Equalize", 0.6, 5), ("Equalize", 0.5, 1)),
    (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
    (("Color", 0.7, 7), ("TranslateX", 0.5, 8)),
    (("Equalize", 0.3, 7), ("AutoContrast", 0.4, 8)),
    (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)),
    (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
    (("Solarize", 0.5, 2), ("Invert", 0.0, 3)),
    (("Equalize", 0.2, 0), ("AutoContrast", 0.6, 0)),
    (("Equalize", 0.2, 8), ("Equalize", 0.6, 4)),
    (("Color", 0.9, 9), ("Equalize", 0.6, 6)),
    (("AutoContrast", 0.8, 4), ("Solarize", 0.2, 8)),
    (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
    (("Solarize", 0.4, 5), ("AutoContrast", 0.9, 3)),
    (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
    (("AutoContrast", 0.9, 2), ("Solarize", 0.8, 3)),
    (("Equalize", 0.8, 8), ("Invert", 0.1, 3)),
    (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, 1)),
)

POLICIES = {"cifar10": CIFAR10_POLICY}

# Ops whose parameter gets a random sign, each time they are applied.
SIGNED_OPS = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")
_ENHANCE_OPS = ("Color", "Contrast", "Brightness", "Sharpness")


def level_to_arg(op_name, level, image_side=REFERENCE_SIDE):
    """The published parameter of an op at a magnitude level, before its random sign.

    The mapping of the authors' `augmentation_transforms.py` (levels 0..`PARAMETER_MAX`):
    shear `0.3 * level / 10`; rotate `int(30 * level / 10)` degrees; solarize threshold
    `256 - int(256 * level / 10)`; posterize to `4 - int(4 * level / 10)` bits;
    Color/Contrast/Brightness/Sharpness factor `0.1 + 1.8 * level / 10`. Translation is up to
    10 pixels on the reference's 32-pixel images; here it scales with the image side, to
    `int(level * image_side / 32)` pixels, so small images are shifted in proportion rather than
    blanked (8 pixels: at most 2).

    Args:
        op_name: one of `OPS`.
        level: an int in `[0, PARAMETER_MAX]`.
        image_side: the image's width (TranslateX) or height (TranslateY); an int, or an int32
            scalar tensor when the size is only known in the graph. Only translations use it.

    Returns:
        The parameter (a float, an int, or an int tensor for a translation along a tensor side),
        or None for the ops that take none (AutoContrast, Equalize, Invert).

    Raises:
        ValueError: for an unknown op or a level outside `[0, PARAMETER_MAX]`.
    """
    if op_name not in OPS:
        raise ValueError(f"op_name must be one of {tuple(OPS)}. Received: op_name={op_name!r}")
    if not isinstance(level, int) or not 0 <= level <= PARAMETER_MAX:
        raise ValueError(f"level must be an int in [0, {PARAMETER_MAX}]. Received: level={level!r}")
    if op_name in ("ShearX", "ShearY"):
        return 0.3 * level / PARAMETER_MAX
    if op_name in ("TranslateX", "TranslateY"):
        # int(level * (MAX_TRANSLATE * side / 32) / 10) in exact integer arithmetic.
        return (level * MAX_TRANSLATE * image_side) // (REFERENCE_SIDE * PARAMETER_MAX)
    if op_name == "Rotate":
        return 30 * level // PARAMETER_MAX
    if op_name == "Solarize":
        return 256 - 256 * level // PARAMETER_MAX
    if op_name == "Posterize":
        return 4 - 4 * level // PARAMETER_MAX
    if op_name in _ENHANCE_OPS:
        return 0.1 + 1.8 * level / PARAMETER_MAX
    return None


def _policy(policy):
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {tuple(POLICIES)}. Received: policy={policy!r}")
    return POLICIES[policy]


def sample_choices(batch_size, seed=None, policy="cifar10"):
    """Draws each image's sub-policy and whether each of its two entries is applied.

    Args:
        batch_size: the number of images; an int or an int32 scalar tensor.
        seed: a `keras.random.SeedGenerator` (advanced by the draw), or an int or None to start
            a new one.
        policy: a key of `POLICIES`.

    Returns:
        `(index, apply)`: `index`, int32 `(batch_size,)`, uniform over the policy's sub-policies
        and independent across images; `apply`, bool `(batch_size, 2)`, entry `j` of image `b`'s
        sub-policy applied with that entry's probability.

    Example:

    >>> index, apply = sample_choices(4, seed=0)
    >>> index.shape, apply.shape
    (TensorShape([4]), TensorShape([4, 2]))
    """
    table = _policy(policy)
    if not isinstance(seed, keras.random.SeedGenerator):
        seed = keras.random.SeedGenerator(seed)
    index = keras.random.randint((batch_size,), 0, len(table), seed=seed, dtype="int32")
    probs = tf.constant([[p for _, p, _ in sub] for sub in table], tf.float32)
    apply = keras.random.uniform((batch_size, 2), seed=seed) < tf.gather(probs, index)
    return index, apply


@keras.saving.register_keras_serializable(package="asap_keras")
class AutoAugment(keras.layers.Layer):
    """AutoAugment: one random sub-policy of a published policy per image.

    For each image a sub-policy is drawn uniformly from the policy's table; its two
    (op, probability, magnitude) entries are then applied in order, each with its own
    probability (Cubuk et al., 2019, Sec. 3). Magnitudes map to op parameters as in the authors'
    code (see `level_to_arg`); shear, translate and rotate get a random sign; an affine
    transform fills what it uncovers with 128 and samples nearest neighbours. The ops work on
    the [0, 255] scale (inputs are rescaled from `value_range` and back) and every op's result
    is clipped to it, as PIL's 8-bit images are.

    Translations scale with the image: the published 10 pixels are for 32-pixel images, so
    the largest shift is 10/32 of the side (2 pixels on 8x8 images), not a fixed 10 pixels
    that would blank a small image. On 1-channel images Color is the identity.

    Args:
        policy: which published policy; only `"cifar10"` (the table `CIFAR10_POLICY`).
        value_range: `(low, high)` of the input values.
        seed: seeds the layer's `keras.random.SeedGenerator`; each call advances it, so
            draws differ from call to call (also inside `tf.data.Dataset.map`) and a given
            seed repeats the same sequence.
        **kwargs: base `Layer` arguments (`name`, ...).

    Call arguments:
        images: a float batch `(B, H, W, C)` (or one image `(H, W, C)`), `C` 1 or 3, values
            in `value_range`.
        training: when False the images are returned unchanged.

    Returns:
        The augmented images: same shape and dtype, values in `value_range`.

    Example:

    >>> layer = AutoAugment(value_range=(0, 255), seed=1)
    >>> images = keras.random.uniform((8, 32, 32, 3), 0, 255, seed=0)
    >>> layer(images).shape
    TensorShape([8, 32, 32, 3])
    """

    def __init__(self, policy="cifar10", value_range=(0, 255), seed=None, **kwargs):
        kwargs.setdefault("autocast", False)  # keep the caller's dtype
        super().__init__(**kwargs)
        _policy(policy)
        if (not isinstance(value_range, (tuple, list)) or len(value_range) != 2
                or not all(isinstance(v, numbers.Real) for v in value_range)
                or not value_range[0] < value_range[1]):
            raise ValueError("value_range must be (low, high) with low < high. "
                             f"Received: value_range={value_range!r}")
        self.policy = policy
        self.value_range = tuple(value_range)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)
        self.built = True

    def call(self, images, training=True):
        if not training:
            return images
        images = tf.convert_to_tensor(images)
        if images.shape.rank == 3:
            return self.call(images[None], training=True)[0]
        if images.shape.rank != 4 or images.shape[-1] not in (1, 3):
            raise ValueError("AutoAugment expects images (B, H, W, C) with C 1 or 3. "
                             f"Received: images.shape={images.shape}")
        low, high = self.value_range
        x = (tf.cast(images, tf.float32) - low) * (255.0 / (high - low))
        x, touched = self._augment(x)
        x = x * ((high - low) / 255.0) + low
        x = tf.cast(x if images.dtype.is_floating else tf.round(x), images.dtype)
        # Images whose two entries both failed their draw come back bit for bit.
        return tf.where(tf.reshape(touched, [-1, 1, 1, 1]), x, images)

    def _augment(self, x):
        """`x` in [0, 255] -> (augmented `x`, `(B,)` whether any entry was applied)."""
        table = _policy(self.policy)
        n = tf.shape(x)[0]
        index, apply = sample_choices(n, self.generator, self.policy)
        signs = tf.where(keras.random.uniform((n, 2), seed=self.generator) < 0.5, -1.0, 1.0)
        args = tf.gather(self._arg_table(x, table), index)  # (B, 2)
        signed = tf.gather(tf.constant([[op in SIGNED_OPS for op, _, _ in sub]
                                        for sub in table]), index)
        args = tf.where(signed, args * signs, args)
        for stage in range(2):
            names = list(dict.fromkeys(sub[stage][0] for sub in table))
            op_ids = tf.constant([names.index(sub[stage][0]) for sub in table])
            # Group 0 keeps its images; group k + 1 gets op names[k]: each op runs once, on
            # just the images that drew it.
            group = tf.where(apply[:, stage], tf.gather(op_ids, index) + 1, 0)
            count = len(names) + 1
            parts = tf.dynamic_partition(x, group, count)
            part_args = tf.dynamic_partition(args[:, stage], group, count)
            positions = tf.dynamic_partition(tf.range(n), group, count)
            outs = [parts[0]] + [tf.clip_by_value(OPS[name](part, arg), 0.0, 255.0)
                                 for name, part, arg in zip(names, parts[1:], part_args[1:])]
            x = tf.ensure_shape(tf.dynamic_stitch(positions, outs), x.shape)
        return x, tf.reduce_any(apply, axis=1)

    @staticmethod
    def _arg_table(x, table):
        """`(len(table), 2)` float32 unsigned parameters for these images' size."""
        shape = tf.shape(x)
        height = x.shape[1] if x.shape[1] is not None else shape[1]
        width = x.shape[2] if x.shape[2] is not None else shape[2]
        rows = []
        for sub in table:
            row = []
            for op, _, level in sub:
                side = height if op == "TranslateY" else width
                arg = level_to_arg(op, level, side)
                row.append(tf.cast(0.0 if arg is None else arg, tf.float32))
            rows.append(tf.stack(row))
        return tf.stack(rows)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"policy": self.policy, "value_range": list(self.value_range),
                       "seed": self.seed})
        return config
