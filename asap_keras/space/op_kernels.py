"""The candidate ops' computations as plain functions of an input and weight values.

An op layer (`ops`) owns its variables; what it computes is here, as a function of its input,
the ReLU of that input (shared by every op reading the same tensor, see `graph_cache.relu`),
the values of its variables in the layer's `state_variables` order (`take`, an iterator), and
a BatchNorm mode (`batch_norm.TRAIN`, `FROZEN` or `INFER`). Nothing here reads a layer or a
variable: the same function serves every op of equal spec, which is what lets one traced
graph stand for all the edges of equal structure (`edge_function`).

A kernel appends a training BatchNorm's updated moving statistics to `updates` (mean, then
variance, BatchNorm by BatchNorm); its caller assigns them.
"""

from __future__ import annotations

import tensorflow as tf

from asap_keras.space import batch_norm


def depthwise(x, kernel, stride=1):
    """An undilated depthwise convolution ("SAME"), the kernel called directly:
    `tf.nn.depthwise_conv2d` adds shape and rate constants that nothing reads."""
    return tf.raw_ops.DepthwiseConv2dNative(input=x, filter=kernel,
                                            strides=[1, stride, stride, 1], padding="SAME")


def dilated_depthwise(x, kernel, dilation):
    """A "SAME" depthwise convolution dilated by `dilation` (stride 1), as
    `tf.nn.depthwise_conv2d` computes it (space-to-batch, a "VALID" convolution,
    batch-to-space) with the paddings worked out here from the static shape: its wrapper
    builds them from a dozen graph nodes per call. (The fused kernel's own `dilations`
    attribute is avoided: on CPU its registered gradient disagrees with this one.)
    """
    if dilation == 1:
        return depthwise(x, kernel)
    spatial = x.shape[1:3]
    if any(n is None for n in spatial):
        return tf.nn.depthwise_conv2d(x, kernel, (1, 1, 1, 1), "SAME",
                                      dilations=(dilation, dilation))
    paddings, crops = [], []
    for size, k in zip(spatial, kernel.shape[:2]):
        total = (k - 1) * dilation  # the dilated kernel's extent, less one
        start, end = total // 2, total - total // 2
        extra = -(size + start + end) % dilation  # to a multiple of the block
        paddings.append([start, end + extra])
        crops.append([0, extra])
    block = [dilation, dilation]
    x = tf.raw_ops.SpaceToBatchND(input=x, block_shape=block, paddings=paddings)
    x = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=kernel, strides=[1, 1, 1, 1],
                                         padding="VALID")
    return tf.raw_ops.BatchToSpaceND(input=x, block_shape=block, crops=crops)


def _pointwise_bn(x, take, affine, mode, updates):
    """A 1x1 convolution then BatchNorm, both from `take`."""
    x = tf.nn.conv2d(x, next(take), 1, "SAME")
    return batch_norm.normalize(x, take, affine, mode, updates)


def sep_conv(x, relu_x, take, mode, updates, *, stride, affine, kernel_size):
    """(ReLU, depthwise kxk, pointwise 1x1, BN) twice; the first depthwise strides."""
    del x, kernel_size  # the kernel values carry their size
    h = depthwise(relu_x, next(take), stride)
    h = _pointwise_bn(h, take, affine, mode, updates)
    h = depthwise(tf.nn.relu(h), next(take))
    return _pointwise_bn(h, take, affine, mode, updates)


def dil_conv(x, relu_x, take, mode, updates, *, stride, affine, kernel_size, dilation):
    """ReLU, depthwise kxk dilated, pointwise 1x1, BN. A depthwise convolution cannot stride
    and dilate at once: it dilates, then subsamples."""
    del x, kernel_size
    h = dilated_depthwise(relu_x, next(take), dilation)
    if stride == 2:
        h = h[:, ::2, ::2, :]
    return _pointwise_bn(h, take, affine, mode, updates)


def pool(x, relu_x, take, mode, updates, *, stride, affine, pool_mode, with_bn):
    """3x3 max or average pooling (padding excluded from averages), optionally then BN."""
    del relu_x
    pooling = tf.nn.max_pool2d if pool_mode == "max" else tf.nn.avg_pool2d
    h = pooling(x, 3, stride, "SAME")
    return batch_norm.normalize(h, take, affine, mode, updates) if with_bn else h


def identity(x, relu_x, take, mode, updates):
    """The skip connection of a normal edge."""
    return x


def zero(x, relu_x, take, mode, updates, *, stride):
    """The `none` op: zeros of the output shape."""
    return tf.zeros_like(x[:, ::stride, ::stride, :])


def factorized_reduce(x, relu_x, take, mode, updates, *, affine):
    """ReLU, two 1x1 stride-2 convolutions (the second offset by a pixel) concatenated, BN."""
    a = tf.nn.conv2d(relu_x, next(take), 2, "SAME")
    # The offset branch: shift by one pixel, padding the far edge so odd sizes still match.
    shifted = tf.pad(relu_x, ((0, 0), (0, 1), (0, 1), (0, 0)))[:, 1:, 1:, :]
    b = tf.nn.conv2d(shifted, next(take), 2, "SAME")
    return batch_norm.normalize(tf.concat([a, b], axis=-1), take, affine, mode, updates)


def relu_conv_bn(x, relu_x, take, mode, updates, *, stride, affine):
    """ReLU, kxk convolution, BN: DARTS' cell preprocessing."""
    h = tf.nn.conv2d(relu_x, next(take), stride, "SAME")
    return batch_norm.normalize(h, take, affine, mode, updates)


def stem(x, relu_x, take, mode, updates, *, stride, affine):
    """The network stem: a 3x3 convolution and BN (no ReLU first)."""
    h = tf.nn.conv2d(x, next(take), stride, "SAME")
    return batch_norm.normalize(h, take, affine, mode, updates)


KERNELS = {
    "sep_conv": sep_conv,
    "dil_conv": dil_conv,
    "pool": pool,
    "identity": identity,
    "zero": zero,
    "factorized_reduce": factorized_reduce,
    "relu_conv_bn": relu_conv_bn,
    "stem": stem,
}
# The kernels that read `relu_x` (the others take None there).
READS_RELU = frozenset({"sep_conv", "dil_conv", "factorized_reduce", "relu_conv_bn"})


def run(spec, x, relu_x, take, mode, updates):
    """Computes the op of `spec` (`(kind, ((name, value), ...))`, see `ops.OpLayer.spec`)."""
    kind, params = spec
    return KERNELS[kind](x, relu_x, take, mode, updates, **dict(params))
