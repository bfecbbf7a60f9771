"""AutoAugment's image operations as batched TensorFlow ops on the [0, 255] scale."""

from __future__ import annotations

import math

import tensorflow as tf

# The reference fills the area an affine transform uncovers with a mid gray.
FILL_VALUE = 128.0

# PIL's ImageFilter.SMOOTH kernel, which ImageEnhance.Sharpness blends against.
_SMOOTH = ((1.0, 1.0, 1.0), (1.0, 5.0, 1.0), (1.0, 1.0, 1.0))
_SMOOTH_SUM = 13.0

# ITU-R 601-2 luma, the weights of PIL's `convert("L")`.
_LUMA = (0.299, 0.587, 0.114)


def _per_image(arg):
    """`(n,)` -> `(n, 1, 1, 1)`, to broadcast a per-image argument over pixels."""
    return tf.reshape(tf.cast(arg, tf.float32), [-1, 1, 1, 1])


def _affine(images, a0, a1, a2, b0, b1, b2):
    """Resamples each image at input point `(a0 x + a1 y + a2, b0 x + b1 y + b2)`.

    The coefficients are `(n,)` tensors mapping an output pixel `(x, y)` to the input pixel it
    reads (PIL's `Image.AFFINE` convention); nearest neighbour, uncovered pixels set to
    `FILL_VALUE`.
    """
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=tf.cast(transforms, tf.float32),
        output_shape=tf.shape(images)[1:3], fill_value=FILL_VALUE,
        interpolation="NEAREST", fill_mode="CONSTANT")


def shear_x(images, shear):
    """Shears along x: the output pixel `(x, y)` reads the input at `(x + shear * y, y)`.

    Measured, as in PIL, from pixel corners: the half-pixel term moves PIL's corner origin to
    the pixel centres that ImageProjectiveTransform uses, so both pick the same pixels.
    """
    one, zero = tf.ones_like(shear), tf.zeros_like(shear)
    return _affine(images, one, shear, 0.5 * shear, zero, one, zero)


def shear_y(images, shear):
    """Shears along y: the output pixel `(x, y)` reads the input at `(x, y + shear * x)`.

    Measured from pixel corners, as `shear_x`.
    """
    one, zero = tf.ones_like(shear), tf.zeros_like(shear)
    return _affine(images, one, zero, zero, shear, one, 0.5 * shear)


def translate_x(images, pixels):
    """Shifts each image left by `pixels` (right when negative)."""
    one, zero = tf.ones_like(pixels), tf.zeros_like(pixels)
    return _affine(images, one, zero, pixels, zero, one, zero)


def translate_y(images, pixels):
    """Shifts each image up by `pixels` (down when negative)."""
    one, zero = tf.ones_like(pixels), tf.zeros_like(pixels)
    return _affine(images, one, zero, zero, zero, one, pixels)


def rotate(images, degrees):
    """Rotates each image counter-clockwise by `degrees` about its centre, as PIL's rotate."""
    theta = degrees * (math.pi / 180.0)
    cos, sin = tf.cos(theta), tf.sin(theta)
    shape = tf.cast(tf.shape(images), tf.float32)
    cy, cx = (shape[1] - 1.0) / 2.0, (shape[2] - 1.0) / 2.0
    return _affine(images, cos, -sin, cx - cos * cx + sin * cy,
                   sin, cos, cy - sin * cx - cos * cy)


def _gray(images):
    """The luma of each pixel, `(n, H, W, 1)`; a 1-channel image is its own luma."""
    if images.shape[-1] == 1:
        return images
    return tf.reduce_sum(images * tf.constant(_LUMA), axis=-1, keepdims=True)


def _blend(degenerate, images, factor):
    """PIL's ImageEnhance: `degenerate + factor * (images - degenerate)`, clipped."""
    out = degenerate + _per_image(factor) * (images - degenerate)
    return tf.clip_by_value(out, 0.0, 255.0)


def color(images, factor):
    """Saturation: blends with the grayscale image (identity on 1-channel images)."""
    return _blend(_gray(images) + tf.zeros_like(images), images, factor)


def contrast(images, factor):
    """Blends with a flat image at the (rounded) mean luma."""
    mean = tf.round(tf.reduce_mean(_gray(images), axis=(1, 2, 3), keepdims=True))
    return _blend(mean + tf.zeros_like(images), images, factor)


def brightness(images, factor):
    """Blends with black, that is scales every pixel by `factor`."""
    return _blend(tf.zeros_like(images), images, factor)


def sharpness(images, factor):
    """Blends with PIL's SMOOTH-filtered image, whose border pixels are left as they were."""
    shape = tf.shape(images)
    n, h, w = shape[0], shape[1], shape[2]
    channels = images.shape[-1]
    # Each channel as its own 1-channel image, so one 3x3 kernel serves any channel count.
    planes = tf.reshape(tf.transpose(images, [0, 3, 1, 2]), [-1, h, w, 1])
    kernel = tf.reshape(tf.constant(_SMOOTH) / _SMOOTH_SUM, [3, 3, 1, 1])
    smooth = tf.nn.conv2d(planes, kernel, strides=1, padding="SAME")
    smooth = tf.transpose(tf.reshape(smooth, [n, channels, h, w]), [0, 2, 3, 1])
    rows, cols = tf.range(h), tf.range(w)
    inner = ((rows > 0) & (rows < h - 1))[:, None] & ((cols > 0) & (cols < w - 1))[None, :]
    degenerate = tf.where(inner[None, :, :, None], smooth, images)
    return _blend(degenerate, images, factor)


def auto_contrast(images, _=None):
    """Stretches each channel linearly so its minimum becomes 0 and its maximum 255."""
    low = tf.reduce_min(images, axis=(1, 2), keepdims=True)
    high = tf.reduce_max(images, axis=(1, 2), keepdims=True)
    spread = high - low
    stretched = (images - low) * (255.0 / tf.where(spread > 0, spread, 1.0))
    return tf.where(spread > 0, stretched, images)


def equalize(images, _=None):
    """Histogram equalization of each channel of each image, as PIL's ImageOps.equalize.

    A channel's lookup table maps level `i` to `(step // 2 + count below i) // step`, with
    `step = (pixels - count of the highest level present) // 255`; a channel with `step == 0`
    (a single level, or too few pixels) is left as it is.
    """
    shape = tf.shape(images)
    n, h, w = shape[0], shape[1], shape[2]
    channels = images.shape[-1]
    levels = tf.cast(tf.clip_by_value(tf.round(images), 0.0, 255.0), tf.int32)
    # (n * C, H * W): one row per channel of each image; offsets make one bincount do all rows.
    rows = tf.reshape(tf.transpose(levels, [0, 3, 1, 2]), [n * channels, h * w])
    offsets = 256 * tf.range(n * channels)[:, None]
    hist = tf.reshape(tf.math.bincount(rows + offsets, minlength=256 * n * channels,
                                       maxlength=256 * n * channels), [n * channels, 256])
    top_count = tf.gather(hist, tf.reduce_max(rows, axis=1), batch_dims=1)
    step = (h * w - top_count) // 255
    below = tf.cumsum(hist, axis=1, exclusive=True)
    safe_step = tf.maximum(step, 1)[:, None]
    lut = tf.minimum((safe_step // 2 + below) // safe_step, 255)
    out = tf.cast(tf.gather(lut, rows, batch_dims=1), images.dtype)
    out = tf.transpose(tf.reshape(out, [n, channels, h, w]), [0, 2, 3, 1])
    keep = tf.reshape(step > 0, [n, 1, 1, channels])
    return tf.where(keep, out, images)


def invert(images, _=None):
    """`255 - x`."""
    return 255.0 - images


def solarize(images, threshold):
    """Inverts the pixels at or above `threshold`, as PIL's ImageOps.solarize."""
    return tf.where(images >= _per_image(threshold), 255.0 - images, images)


def posterize(images, bits):
    """Keeps the top `bits` bits of each (rounded) 8-bit value."""
    bucket = tf.pow(2.0, 8.0 - _per_image(bits))
    return tf.floor(tf.round(images) / bucket) * bucket


# Name -> `fn(images, arg)`: `images` a float32 `(n, H, W, C)` batch in [0, 255], `arg` the
# signed per-image parameter `(n,)` (ignored by the ops that take none).
OPS = {
    "ShearX": shear_x,
    "ShearY": shear_y,
    "TranslateX": translate_x,
    "TranslateY": translate_y,
    "Rotate": rotate,
    "AutoContrast": auto_contrast,
    "Invert": invert,
    "Equalize": equalize,
    "Solarize": solarize,
    "Posterize": posterize,
    "Contrast": contrast,
    "Color": color,
    "Brightness": brightness,
    "Sharpness": sharpness,
}
