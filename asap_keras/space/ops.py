"""Candidate op layers: each a single lean Keras layer owning its variables.

One Keras layer per op (rather than a stack of nested Relu/Conv/BatchNorm layers) keeps the
Python work per op small when the whole supernet is traced; see benchmarks/README.md. What an
op computes is a plain function in `op_kernels`, named by the layer's `spec()`.
"""

from __future__ import annotations

import keras

from asap_keras.errors import ConfigError
from asap_keras.space import batch_norm, graph_cache, op_kernels
from asap_keras.space.primitives import NONE, SKIP


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

    kind = None  # the computing function's name in `op_kernels.KERNELS`

    def _params(self):
        """The static arguments of the kernel (beyond input, values and mode)."""
        return {"stride": self.stride, "affine": self.affine}

    def _layout(self):
        """The kernel's weights in the order it takes them: variables and BatchNorm states."""
        return []

    def spec(self):
        """`(kind, ((name, value), ...))`: everything the computation depends on besides
        the input and the variables' values; equal specs compute alike."""
        return self.kind, tuple(sorted(self._params().items()))

    def reads_relu(self):
        """Whether the computation starts from the ReLU of its input."""
        return self.kind in op_kernels.READS_RELU

    def state_variables(self, bn_mode):
        """The variables the computation reads in `bn_mode`, in the kernel's order."""
        out = []
        for item in self._layout():
            out += batch_norm.variables(item, bn_mode) if isinstance(item, dict) else [item]
        return out

    def statistics(self, bn_mode):
        """The moving statistics the kernel's `updates` are for, in their order."""
        return [v for item in self._layout() if isinstance(item, dict)
                for v in batch_norm.statistics(item, bn_mode)]

    def call(self, x, training=False):
        bn_mode = batch_norm.mode(training)
        updates = []
        take = iter([v.value for v in self.state_variables(bn_mode)])
        relu_x = graph_cache.relu(x) if self.reads_relu() else None
        y = op_kernels.run(self.spec(), x, relu_x, take, bn_mode, updates)
        for variable, value in zip(self.statistics(bn_mode), updates):
            variable.assign(value)
        return y

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

    kind = "sep_conv"

    def _params(self):
        return {**super()._params(), "kernel_size": self.kernel_size}

    def _layout(self):
        return [self.dw1, self.pw1, self.bn1, self.dw2, self.pw2, self.bn2]

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

    kind = "dil_conv"

    def _params(self):
        return {**super()._params(), "kernel_size": self.kernel_size,
                "dilation": self.dilation}

    def _layout(self):
        return [self.dw, self.pw, self.bn]

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

    kind = "pool"

    def _params(self):
        return {**super()._params(), "pool_mode": self.mode, "with_bn": self.with_bn}

    def _layout(self):
        return [self.bn] if self.with_bn else []

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

    kind = "identity"

    def _params(self):
        return {}


@keras.saving.register_keras_serializable(package="asap_keras")
class Zero(OpLayer):
    """The `none` op: zeros of the output shape."""

    def __init__(self, channels, stride=1, affine=False, **kwargs):
        super().__init__(channels, stride, affine, **kwargs)
        self.built = True

    kind = "zero"

    def _params(self):
        return {"stride": self.stride}


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

    kind = "factorized_reduce"

    def _params(self):
        return {"affine": self.affine}

    def _layout(self):
        return [self.conv1, self.conv2, self.bn]

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

    kind = "relu_conv_bn"

    def _layout(self):
        return [self.kernel, self.bn]

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

    kind = "stem"

    def _layout(self):
        return [self.kernel, self.bn]

    def get_config(self):
        return {**super().get_config(), "in_channels": self.in_channels}
