"""The cost of an evaluation network, counted from its genotype: parameters and multiply-adds."""

from __future__ import annotations

from numbers import Integral

from asap_keras.errors import ConfigError
from asap_keras.space.genotype import Genotype
from asap_keras.space.topology import FREE

VARIANTS = ("cifar", "imagenet")
# The auxiliary tower's fixed widths (child/network.py `AuxiliaryHead`).
AUX_HIDDEN, AUX_FEATURES = 128, 768


def _ceil_half(side: int) -> int:
    """The side of a stride-2 'SAME' output."""
    return -(-side // 2)


def _bn(channels: int) -> int:
    """Trainable parameters of an affine BatchNorm (scale and offset)."""
    return 2 * channels


def conv_cost(in_channels, out_channels, kernel, out_h, out_w, depthwise=False):
    """Parameters and multiply-adds of one convolution without bias.

    Args:
        in_channels: input channels.
        out_channels: output channels (ignored when `depthwise`: one filter per channel).
        kernel: the kernel side (dilation changes neither count).
        out_h, out_w: the output's spatial size.
        depthwise: a depthwise convolution (channel multiplier 1).

    Returns:
        `(parameters, multiply_adds)`.
    """
    per_pixel = kernel * kernel * (in_channels if depthwise else in_channels * out_channels)
    return per_pixel, per_pixel * out_h * out_w


def op_cost(name, channels, stride, in_h, in_w):
    """Parameters and multiply-adds of one op of an evaluation cell (affine BN, pools bare).

    Args:
        name: the op, e.g. "sep_conv_3x3".
        channels: channels in and out.
        stride: 1, or 2 on a reduction cell's edges from its inputs.
        in_h, in_w: the input's spatial size.

    Returns:
        `(parameters, multiply_adds)`.

    Raises:
        ConfigError: an unknown op or stride.
    """
    if stride not in (1, 2):
        raise ConfigError(f"stride must be 1 or 2. Received: stride={stride!r}")
    c = channels
    out_h, out_w = (in_h, in_w) if stride == 1 else (_ceil_half(in_h), _ceil_half(in_w))
    if name in ("none", "max_pool_3x3", "avg_pool_3x3"):
        return 0, 0  # pooling is not counted; the evaluation cell's pools carry no BN
    if name == "skip_connect":
        return (0, 0) if stride == 1 else factorized_reduce_cost(c, c, in_h, in_w)
    if name in ("sep_conv_3x3", "sep_conv_5x5", "sep_conv_7x7"):
        k = int(name[-1])
        # (depthwise k x k at the stride, pointwise, BN) then (depthwise, pointwise, BN).
        dw = conv_cost(c, c, k, out_h, out_w, depthwise=True)
        pw = conv_cost(c, c, 1, out_h, out_w)
        return 2 * (dw[0] + pw[0] + _bn(c)), 2 * (dw[1] + pw[1])
    if name in ("dil_conv_3x3", "dil_conv_5x5"):
        k = int(name[-1])
        # At stride 2 the dilated depthwise runs at stride 1 and is subsampled after it.
        dw = conv_cost(c, c, k, in_h, in_w, depthwise=True)
        pw = conv_cost(c, c, 1, out_h, out_w)
        return dw[0] + pw[0] + _bn(c), dw[1] + pw[1]
    raise ConfigError(f"unknown op. Received: op={name!r}")


def factorized_reduce_cost(in_channels, channels, in_h, in_w):
    """`FactorizedReduce`: two 1x1 stride-2 convolutions to `channels / 2` each, and BN."""
    half = conv_cost(in_channels, channels // 2, 1, _ceil_half(in_h), _ceil_half(in_w))
    return 2 * half[0] + _bn(channels), 2 * half[1]


def live_states(edges, concat) -> set[int]:
    """The states of a cell whose value reaches its output (inputs 0, 1; node i is i + 2).

    A node left out of `concat` and read by no kept node is dead: a traced graph never runs
    it, so its multiply-adds are not counted (its parameters still are). A free cell has no
    such node (its concat is every node an edge enters), but may leave an input unread.

    Args:
        edges: `(op, source, node)` triples (`Genotype.edges`).
        concat: nodes concatenated into the output.
    """
    live = set(concat)
    for _, src, dst in sorted(edges, key=lambda edge: -edge[2]):  # readers before sources
        if dst in live:
            live.add(src)
    return live


def reduction_positions(layers: int) -> tuple[int, int]:
    """The reduction cells of an evaluation network of `layers` cells: at 1/3 and 2/3."""
    return layers // 3, 2 * layers // 3


def live_cells(genotype: Genotype, layers: int, keep=()) -> list[bool]:
    """Which cells of the evaluation network are built: those whose output is read.

    Cell i reads cell i - 1 as input 1 and cell i - 2 as input 0 (the stem before cell 0).
    The classifier reads the last cell, and cells in `keep` (the auxiliary tower's) count as
    read too. A free cell may leave an input unread; a cell that no built cell or head
    reads would never run or train, so it is not built. A DARTS network builds every cell,
    as DARTS does (its saved models keep them).

    In 3 cells (cell 0 normal, cells 1 and 2 reductions), a reduction cell that reads only
    input 0 leaves cell 1 dead: cell 2 reads cell 0, and nothing reads cell 1.

    Args:
        genotype: the `Genotype`.
        layers: cells in the network.
        keep: indices of cells read by something else (the auxiliary tower).

    Returns:
        One bool per cell.
    """
    if genotype.topology != FREE:
        return [True] * layers
    reads = {kind: {src for _, src, _ in genotype.edges(kind)} for kind in ("normal", "reduce")}
    reductions = reduction_positions(layers)
    live = [i == layers - 1 or i in keep for i in range(layers)]
    for i in range(layers - 1, -1, -1):
        if live[i]:
            read = reads["reduce" if i in reductions else "normal"]
            for offset, index in ((1, 1), (2, 0)):
                if index in read and i - offset >= 0:
                    live[i - offset] = True
    return live


def cell_cost(edges, concat, channels, s0, s1, reduction, reduction_prev,
              skip_unused_inputs=False):
    """One evaluation cell (`EvalCell`): its preprocessing and the ops of its edges.

    Args:
        edges: `(op, source, node)` triples (`Genotype.edges`).
        concat: nodes concatenated into the output.
        channels: channels per node.
        s0, s1: `(channels, h, w)` of the two inputs.
        reduction: stride 2 on the edges from the inputs.
        reduction_prev: s0 is reduced to s1's side by `FactorizedReduce`.
        skip_unused_inputs: an input no edge reads has no preprocessing (a free cell).

    Returns:
        `(parameters, multiply_adds, output)`, the output as `(channels, h, w)`.
    """
    live = live_states(edges, concat)
    read = {src for _, src, _ in edges}
    _, in_h, in_w = s1
    if reduction_prev:
        pre0 = factorized_reduce_cost(s0[0], channels, s0[1], s0[2])
    else:
        pre0 = _relu_conv_bn(s0[0], channels, in_h, in_w)
    pre1 = _relu_conv_bn(s1[0], channels, in_h, in_w)
    params = macs = 0
    for index, (p, m) in enumerate((pre0, pre1)):
        if index in read or not skip_unused_inputs:
            params, macs = params + p, macs + m * (index in live)
    out_h, out_w = (_ceil_half(in_h), _ceil_half(in_w)) if reduction else (in_h, in_w)
    for op, source, node in edges:
        strided = reduction and source < 2
        h, w = (in_h, in_w) if strided else (out_h, out_w)
        p, m = op_cost(op, channels, 2 if strided else 1, h, w)
        params, macs = params + p, macs + m * (node in live)
    return params, macs, (channels * len(concat), out_h, out_w)


def _relu_conv_bn(in_channels, channels, h, w):
    """The 1x1 preprocessing `ReLUConvBN` (stride 1)."""
    conv = conv_cost(in_channels, channels, 1, h, w)
    return conv[0] + _bn(channels), conv[1]


def _stems(variant, in_channels, channels, h, w):
    """The stem convolutions: `(parameters, multiply_adds, s0, s1)`, s = (channels, h, w)."""
    if variant == "cifar":
        p, m = conv_cost(in_channels, 3 * channels, 3, h, w)
        state = (3 * channels, h, w)
        return p + _bn(3 * channels), m, state, state
    params = macs = 0
    states = []
    for cin, cout in ((in_channels, channels // 2), (channels // 2, channels),
                      (channels, channels)):
        h, w = _ceil_half(h), _ceil_half(w)
        p, m = conv_cost(cin, cout, 3, h, w)
        params, macs = params + p + _bn(cout), macs + m
        states.append((cout, h, w))
    return params, macs, states[1], states[2]


def auxiliary_parameters(in_channels, side, num_classes):
    """Trainable parameters of the auxiliary tower (`AuxiliaryHead`) on a `side` map."""
    pool = min(5, side)
    pooled = (side - pool) // 3 + 1
    conv2 = min(2, pooled)
    return (in_channels * AUX_HIDDEN + _bn(AUX_HIDDEN)
            + conv2 * conv2 * AUX_HIDDEN * AUX_FEATURES + _bn(AUX_FEATURES)
            + AUX_FEATURES * num_classes + num_classes)


def _positive_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1


def _check(genotype, num_classes, image_shape, channels, layers, variant):
    """The validated genotype and `(H, W, C)`."""
    if isinstance(genotype, Genotype):
        genotype = genotype.to_dict()
    genotype = Genotype.from_dict(genotype)
    for name, value in (("num_classes", num_classes), ("channels", channels),
                        ("layers", layers)):
        if not _positive_int(value):
            raise ConfigError(f"{name} must be a positive integer. Received: {name}={value!r}")
    shape = tuple(image_shape) if isinstance(image_shape, (list, tuple)) else ()
    if len(shape) != 3 or not all(_positive_int(d) for d in shape):
        raise ConfigError(f"image_shape must be 3 positive integers (H, W, C). "
                          f"Received: image_shape={image_shape!r}")
    if variant not in VARIANTS:
        raise ConfigError(f"variant must be one of {VARIANTS}. Received: variant={variant!r}")
    return genotype, tuple(int(d) for d in shape)


def network_cost(genotype, num_classes, image_shape, channels=36, layers=20, auxiliary=False,
                 variant="cifar") -> dict:
    """Parameters and multiply-adds of the evaluation network (`EvalNetwork`) of a genotype.

    Pure arithmetic over the layer shapes, without building the model, so it needs neither
    TensorFlow nor Keras. `parameters` counts what `count_parameters` counts: the trainable
    weights of the inference network (the auxiliary tower excluded). `multiply_adds` counts,
    per image at inference, the multiply-accumulates of every convolution (stems, the 1x1
    preprocessing, `FactorizedReduce`, regular, depthwise, pointwise and dilated ones) and of
    the classifier; pooling, BatchNorm, ReLU, additions and biases are not counted (the usual
    NAS convention; `TF profiler FLOPs / 2` of the convolution and matmul ops). Ops of a node
    whose value never reaches the cell output are not run, so not counted (`live_states`).

    Args:
        genotype: a `Genotype` or its dict.
        num_classes: output classes.
        image_shape: `(H, W, C)` of the input images.
        channels: initial channels (the paper's CIFAR network: 36).
        layers: cells (the paper's: 20); reductions at 1/3 and 2/3, channels doubled there.
        auxiliary: also count the auxiliary tower's parameters (`auxiliary_parameters`);
            a free cell that only the tower reads is then built, so its parameters count
            (`live_cells`).
        variant: "cifar" (one 3x3 stem) or "imagenet" (three strided 3x3 stem convolutions).

    Returns:
        A dict with `parameters`, `multiply_adds` and `auxiliary_parameters` (0 without
        `auxiliary`), all ints.

    Raises:
        ConfigError: a bad size or variant. GenotypeError: a malformed genotype.

    Example:

    >>> from asap_keras.child.genotypes import BUILT_IN
    >>> cost = network_cost(BUILT_IN["darts_v2"], 10, (32, 32, 3))
    >>> round(cost["parameters"] / 1e6, 1)
    3.3
    """
    genotype, (h, w, in_channels) = _check(genotype, num_classes, image_shape, channels, layers,
                                           variant)
    channels, layers = int(channels), int(layers)
    params, macs, s0, s1 = _stems(variant, in_channels, channels, h, w)
    reduction_prev = variant == "imagenet"
    reduction_at = reduction_positions(layers)
    aux_index = 2 * layers // 3
    # Built cells hold parameters; only those the classifier reads run at inference.
    built = live_cells(genotype, layers, keep=(aux_index,) if auxiliary else ())
    running = live_cells(genotype, layers)
    cur, aux = channels, 0
    for i in range(layers):
        reduction = i in reduction_at
        cur = 2 * cur if reduction else cur
        kind = "reduce" if reduction else "normal"
        # Each cell type has its own concat, so its own output width.
        p, m, out = cell_cost(genotype.edges(kind), getattr(genotype, f"{kind}_concat"),
                              cur, s0, s1, reduction, reduction_prev,
                              skip_unused_inputs=genotype.topology == FREE)
        params, macs = params + p * built[i], macs + m * running[i]
        s0, s1 = s1, out
        reduction_prev = reduction
        if auxiliary and i == aux_index:
            aux = auxiliary_parameters(out[0], out[1], num_classes)
    num_classes = int(num_classes)
    params += s1[0] * num_classes + num_classes  # the classifier on the pooled features
    macs += s1[0] * num_classes
    return {"parameters": int(params), "multiply_adds": int(macs),
            "auxiliary_parameters": int(aux)}
