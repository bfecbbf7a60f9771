"""Candidate op layers: each a single lean Keras layer computing with raw tf.nn calls.

One Keras layer per op (rather than a stack of nested Relu/Conv/BatchNorm layers) keeps the
Python work per op small when the whole supernet is traced; see benchmarks/README.md.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from asap_keras.errors import ConfigError
from asap_keras.space import batch_norm, graph_cache
from asap_keras.space.primitives import NONE, SKIP


def _depthwise(x, kernel, stride=1):
    """An undilated depthwise convolution ("SAME"), the kernel called directly:
    `tf.nn.depthwise_conv2d` adds shape and rate constants that nothing reads."""
    return tf.raw_ops.DepthwiseConv2dNative(input=x, filter=kernel,
                                            strides=[1, stride, stride, 1], padding="SAME")


def _dilated_depthwise(x, kernel, dilation):
    """A "SAME" depthwise convolution dilated by `dilation` (stride 1), as
    `tf.nn.depthwise_conv2d` computes it (space-to-batch, a "VALID" convolution,
    batch-to-space) with the paddings worked out here from the static shape: its wrapper
    builds them from a dozen graph nodes per call. (The fused kernel's own `dilations`
    attribute is avoided: on CPU its registered gradient disagrees with this one.)
    """
    if dilation == 1:
        return _depthwise(x, kernel)
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


def _check_positive(name: str, value: int) -> None:
    if not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name} must be a positive integer. Received: {name}={value!r}")


class OpLayer(keras.layers.Layer):
    """Base of the candidate ops: channel count, stride, and BatchNorm helpers.

    Args:
        channels: input and output channels.
        stride: 1, or 2 in a reduction cell's edges from its inputs.
        affine: whether BatchNorm learns scale and offset (False in the search, as in DARTS).
    """

    def __init__(self, channels, stride=1, affine=False, **kwargs):
        super().__init__(**kwargs)
        _check_positive("channels", channels)
        if stride not in (1, 2):
            raise ConfigError(f"stride must be 1 or 2. Received: stride={stride!r}")
        self.channels = channels
        self.stride = stride
        self.affine = affine

    def get_config(self):
        config = super().get_config()
        config.update(channels=self.channels, stride=self.stride, affine=self.affine)
        return config

    def _kernel(self, name, shape):
        return self.add_weight(name=name, shape=shape, initializer="he_normal")

    def _bn(self, name, channels):
        """Creates BatchNorm state: moving statistics (mean-aggregated) and optional affine.

        All of it is read as float32 under a mixed dtype policy (`autocast=False`): the
        fused kernel takes float16/bfloat16 activations but float32 statistics and affine.
        """
        kw = {"shape": (channels,), "autocast": False}
        state = {
            "mean": self.add_weight(name=f"{name}_mean", initializer="zeros", trainable=False,
                                    aggregation="mean", **kw),
            "var": self.add_weight(name=f"{name}_var", initializer="ones", trainable=False,
                                   aggregation="mean", **kw),
        }
        if self.affine:
            state["gamma"] = self.add_weight(name=f"{name}_gamma", initializer="ones", **kw)
            state["beta"] = self.add_weight(name=f"{name}_beta", initializer="zeros", **kw)
        return state

    def _apply_bn(self, x, state, training):
        return batch_norm.apply(x, state, training)

    def compute_output_shape(self, input_shape):
        h, w = input_shape[1], input_shape[2]
        if self.stride == 2:
            h = None if h is None else (h + 1) // 2
            w = None if w is None else (w + 1) // 2
        return (input_shape[0], h, w, self.channels)


@keras.saving.register_keras_serializable(package="asap_keras")
class SepConv(OpLayer):
    """Separable convolution applied twice: (ReLU, depthwise kxk, pointwise 1x1, BN) x 2."""

    def __init__(self, channels, stride=1, affine=False, kernel_size=3, **kwargs):
        super().__init__(channels, stride, affine, **kwargs)
        _check_positive("kernel_size", kernel_size)
        self.kernel_size = kernel_size
        k, c = kernel_size, channels
        self.dw1 = self._kernel("dw1", (k, k, c, 1))
        self.pw1 = self._kernel("pw1", (1, 1, c, c))
        self.bn1 = self._bn("bn1", c)
        self.dw2 = self._kernel("dw2", (k, k, c, 1))
        self.pw2 = self._kernel("pw2", (1, 1, c, c))
        self.bn2 = self._bn("bn2", c)
        self.built = True

    def call(self, x, training=False):
        s = self.stride
        x = _depthwise(graph_cache.relu(x), self.dw1.value, s)
        x = self._apply_bn(tf.nn.conv2d(x, self.pw1.value, 1, "SAME"), self.bn1, training)
        x = _depthwise(graph_cache.relu(x), self.dw2.value)
        return self._apply_bn(tf.nn.conv2d(x, self.pw2.value, 1, "SAME"), self.bn2, training)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size}


@keras.saving.register_keras_serializable(package="asap_keras")
class DilConv(OpLayer):
    """Dilated separable convolution: ReLU, depthwise kxk with dilation 2, pointwise, BN."""

    def __init__(self, channels, stride=1, affine=False, kernel_size=3, dilation=2, **kwargs):
        super().__init__(channels, stride, affine, **kwargs)
        _check_positive("kernel_size", kernel_size)
        _check_positive("dilation", dilation)
        self.kernel_size = kernel_size
        self.dilation = dilation
        c = channels
        self.dw = self._kernel("dw", (kernel_size, kernel_size, c, 1))
        self.pw = self._kernel("pw", (1, 1, c, c))
        self.bn = self._bn("bn", c)
        self.built = True

    def call(self, x, training=False):
        s, d = self.stride, self.dilation
        # A depthwise convolution cannot stride and dilate at once: dilate, then subsample.
        x = _dilated_depthwise(graph_cache.relu(x), self.dw.value, d)
        if s == 2:
            x = x[:, ::2, ::2, :]
        return self._apply_bn(tf.nn.conv2d(x, self.pw.value, 1, "SAME"), self.bn, training)

    def get_config(self):
        return {**super().get_config(), "kernel_size": self.kernel_size,
                "dilation": self.dilation}


@keras.saving.register_keras_serializable(package="asap_keras")
class Pool(OpLayer):
    """3x3 max or average pooling (padding excluded from averages), optionally with BN.

    Args:
        mode: "max" or "avg".
        with_bn: append a BatchNorm, as DARTS does for pools inside a MixedOp.
    """

    def __init__(self, channels, stride=1, affine=False, mode="max", with_bn=True, **kwargs):
        super().__init__(channels, stride, affine, **kwargs)
        if mode not in ("max", "avg"):
            raise ConfigError(f"mode must be 'max' or 'avg'. Received: mode={mode!r}")
        self.mode = mode
        self.with_bn = with_bn
        self.bn = self._bn("bn", channels) if with_bn else None
        self.built = True

    def call(self, x, training=False):
        pool = tf.nn.max_pool2d if self.mode == "max" else tf.nn.avg_pool2d
        x = pool(x, 3, self.stride, "SAME")
        return self._apply_bn(x, self.bn, training) if self.with_bn else x

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "with_bn": self.with_bn}


@keras.saving.register_keras_serializable(package="asap_keras")
class Identity(OpLayer):
    """The skip connection of a normal edge."""

    def __init__(self, channels, stride=1, affine=False, **kwargs):
        super().__init__(channels, stride, affine, **kwargs)
        if stride != 1:
            raise ConfigError(f"Identity needs stride 1; use FactorizedReduce. "
                              f"Received: stride={stride}")
        self.built = True

    def call(self, x, training=False):
        return x


@keras.saving.register_keras_serializable(package="asap_keras")
class Zero(OpLayer):
    """The `none` op: zeros of the output shape."""

    def __init__(self, channels, stride=1, affine=False, **kwargs):
        super().__init__(channels, stride, affine, **kwargs)
        self.built = True

    def call(self, x, training=False):
        return tf.zeros_like(x[:, ::self.stride, ::self.stride, :])


@keras.saving.register_keras_serializable(package="asap_keras")
class FactorizedReduce(OpLayer):
    """Halves the resolution: ReLU, two offset 1x1 stride-2 convs concatenated, BN.

    Args:
        in_channels: input channels (defaults to `channels`).
    """

    def __init__(self, channels, stride=2, affine=False, in_channels=None, **kwargs):
        super().__init__(channels, stride, affine, **kwargs)
        if channels % 2:
            raise ConfigError(f"FactorizedReduce needs an even channel count. "
                              f"Received: channels={channels}")
        self.in_channels = in_channels or channels
        half = channels // 2
        self.conv1 = self._kernel("conv1", (1, 1, self.in_channels, half))
        self.conv2 = self._kernel("conv2", (1, 1, self.in_channels, half))
        self.bn = self._bn("bn", channels)
        self.built = True

    def call(self, x, training=False):
        x = graph_cache.relu(x)
        a = tf.nn.conv2d(x, self.conv1.value, 2, "SAME")
        # The offset branch: shift by one pixel, padding the far edge so odd sizes still match.
        shifted = tf.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))[:, 1:, 1:, :]
        b = tf.nn.conv2d(shifted, self.conv2.value, 2, "SAME")
        return self._apply_bn(tf.concat([a, b], axis=-1), self.bn, training)

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels}


@keras.saving.register_keras_serializable(package="asap_keras")
class ReLUConvBN(OpLayer):
    """ReLU, kxk convolution, BN: the cell preprocessing of DARTS.

    Args:
        in_channels: input channels.
        kernel_size: convolution size.
    """

    def __init__(self, channels, stride=1, affine=False, in_channels=None, kernel_size=1,
                 **kwargs):
        super().__init__(channels, stride, affine, **kwargs)
        self.in_channels = in_channels or channels
        self.kernel_size = kernel_size
        self.kernel = self._kernel("kernel", (kernel_size, kernel_size, self.in_channels,
                                              channels))
        self.bn = self._bn("bn", channels)
        self.built = True

    def call(self, x, training=False):
        x = tf.nn.conv2d(graph_cache.relu(x), self.kernel.value, self.stride, "SAME")
        return self._apply_bn(x, self.bn, training)

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels,
                "kernel_size": self.kernel_size}


def make_op(name, channels, stride, affine=False, pool_bn=True, layer_name=None):
    """Builds the candidate op `name` (see `primitives`) for `channels` at `stride`.

    Args:
        name: an op name such as "sep_conv_3x3".
        channels: channels in and out.
        stride: 1 or 2.
        affine: BatchNorm with learned scale/offset.
        pool_bn: follow pools with BatchNorm (DARTS does inside MixedOps).
        layer_name: the Keras layer name.

    Returns:
        An `OpLayer`.

    Raises:
        ConfigError: unknown op name.
    """
    kw = {"channels": channels, "stride": stride, "affine": affine, "name": layer_name}
    if name == NONE:
        return Zero(**kw)
    if name == SKIP:
        return Identity(**kw) if stride == 1 else FactorizedReduce(**kw)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        return Pool(mode=name[:3], with_bn=pool_bn, **kw)
    if name in ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7"):
        return SepConv(kernel_size=int(name[-1]), **kw)
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        return DilConv(kernel_size=int(name[-1]), **kw)
    raise ConfigError(f"unknown op. Received: op={name!r}")


@keras.saving.register_keras_serializable(package="asap_keras")
class Stem(OpLayer):
    """The network stem: a 3x3 convolution and an affine BatchNorm.

    Args:
        in_channels: image channels (1 for grayscale, 3 for RGB).
    """

    def __init__(self, channels, stride=1, affine=True, in_channels=3, **kwargs):
        super().__init__(channels, stride, affine, **kwargs)
        _check_positive("in_channels", in_channels)
        self.in_channels = in_channels
        self.kernel = self._kernel("kernel", (3, 3, in_channels, channels))
        self.bn = self._bn("bn", channels)
        self.built = True

    def call(self, x, training=False):
        x = tf.nn.conv2d(x, self.kernel.value, self.stride, "SAME")
        return self._apply_bn(x, self.bn, training)

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels}
