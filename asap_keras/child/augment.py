"""The retraining augmentation: crop and flip, AutoAugment or RandAugment, cutout."""

from __future__ import annotations

import keras
import tensorflow as tf

from asap_keras.child.autoaugment import AutoAugment
from asap_keras.child.config import AugmentConfig


def cutout_side(cutout: int, image_side: int) -> int:
    """The cutout square's side: as configured, but at most half the image (small inputs)."""
    return min(cutout, max(1, image_side // 2))


def make_augmenter(cfg: AugmentConfig, image_shape, seed: int = 0):
    """A function of a float batch in [0, 255] `(B, H, W, C)` that augments it for training.

    The paper's order: crop and flip, then AutoAugment's CIFAR-10 policy (this package's
    `AutoAugment` layer, which Keras lacks) or Keras' RandAugment, then cutout. Core Keras
    layers where Keras has them (RandomCrop, RandomFlip, RandAugment); keras-cv's RandomCutout
    for cutout, which core Keras only offers as area-scaled random erasing.

    Args:
        cfg: which parts run.
        image_shape: `(H, W, C)`.
        seed: seeds every random layer.

    Returns:
        `augment(images) -> images`, or None when every part is off.
    """
    h, w, _ = image_shape
    steps = []
    if cfg.crop_flip:
        pad = max(1, h // 8)
        crop = keras.layers.RandomCrop(h, w, seed=seed)
        flip = keras.layers.RandomFlip("horizontal", seed=seed + 1)
        paddings = ((0, 0), (pad, pad), (pad, pad), (0, 0))
        steps.append(lambda x: flip(crop(tf.pad(x, paddings, mode="REFLECT"), training=True),
                                    training=True))
    if cfg.autoaugment:
        auto = AutoAugment(value_range=(0, 255), seed=seed + 4)
        steps.append(lambda x: auto(x, training=True))
    if cfg.randaugment:
        rand = keras.layers.RandAugment(value_range=(0, 255), num_ops=cfg.randaugment_ops,
                                        factor=cfg.randaugment_factor, seed=seed + 2)
        steps.append(lambda x: rand(x, training=True))
    if cfg.cutout:
        import keras_cv

        side = cutout_side(cfg.cutout, min(h, w))
        cut = keras_cv.layers.RandomCutout(height_factor=(side / h, side / h),
                                           width_factor=(side / w, side / w),
                                           fill_mode="constant", fill_value=0.0, seed=seed + 3)
        steps.append(lambda x: cut(x, training=True))
    if not steps:
        return None

    def augment(images):
        for step in steps:
            images = step(images)
        return tf.clip_by_value(images, 0.0, 255.0)

    return augment
