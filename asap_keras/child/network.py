"""The evaluation network: the found cells stacked, with drop-path and an auxiliary tower."""

from __future__ import annotations

import keras
import tensorflow as tf

from asap_keras import precision
from asap_keras.child.cost import live_cells, reduction_positions
from asap_keras.errors import GenotypeError, quote
from asap_keras.replicas import (
    BuiltForWorkers,
    apply_summed,
    clip_by_global_norm,
    num_replicas,
    step_logs,
    sum_over_replicas,
)
from asap_keras.space.genotype import Genotype
from asap_keras.space.ops import FactorizedReduce, Identity, ReLUConvBN, Stem, make_op
from asap_keras.space.topology import FREE
from asap_keras.step_function import FlatStepFunctions


def drop_path(x, rate, training):
    """Zeroes whole examples of a branch with probability `rate` (a tensor), rescaling the rest.

    Off at inference; `rate` is a Variable ramped by a callback, so no retrace is needed.
    """
    if not training:
        return x
    keep = 1.0 - rate
    mask = tf.floor(keep + tf.random.uniform((tf.shape(x)[0], 1, 1, 1), dtype=x.dtype))
    return x / keep * mask


@keras.saving.register_keras_serializable(package="asap_keras")
class EvalCell(keras.layers.Layer):
    """One discrete cell: each node sums the ops of its incoming edges (DARTS `Cell`).

    Every `(op, source, node)` edge gets its own layer, so several ops on one edge are
    each applied to the source and summed into the node with the node's other edges.

    An input that no edge reads: a DARTS cell still builds its preprocessing layer (as
    DARTS does; the saved models and published parameter counts of DARTS cells keep it), a
    free cell (`skip_unused_inputs`) builds none, so each of its weights trains.

    Args:
        edges: `(op, source, node)` triples (`Genotype.edges`); a node is computed once
            every edge entering it is, so each source must be an input or an entered node.
        concat: nodes concatenated into the output, each entered by some edge.
        channels: channels per node.
        prev_prev_channels, prev_channels: channels of the two inputs.
        reduction: halves the resolution (stride 2 on edges from the inputs).
        reduction_prev: the previous cell reduced, so input 0 is reduced here too.
        skip_unused_inputs: build no preprocessing for an input that no edge reads.

    Raises:
        GenotypeError: an edge whose source is not before its node, or an edge or the
            concat naming a node that no edge enters.
    """

    def __init__(self, edges, concat, channels, prev_prev_channels, prev_channels,
                 reduction=False, reduction_prev=False, skip_unused_inputs=False, **kwargs):
        super().__init__(**kwargs)
        self.edges = [(str(op), int(src), int(dst)) for op, src, dst in edges]
        self.concat = [int(c) for c in concat]
        self.channels = channels
        self.prev_prev_channels = prev_prev_channels
        self.prev_channels = prev_channels
        self.reduction = reduction
        self.reduction_prev = reduction_prev
        self.skip_unused_inputs = bool(skip_unused_inputs)
        entered = {dst for _, _, dst in self.edges}
        wrong = [n for n in [src for _, src, _ in self.edges if src >= 2] + self.concat
                 if n not in entered]
        if wrong or any(not 0 <= src < dst for _, src, dst in self.edges):
            raise GenotypeError(f"EvalCell needs edges from an earlier state (an input or an "
                                f"entered node) and a concat of entered nodes. Received: "
                                f"edges={quote(self.edges, 200)}, concat={self.concat}")
        # Nodes in order; within a node its edges in the order given (their sum's order).
        self._incoming = tuple((dst, tuple(i for i, e in enumerate(self.edges) if e[2] == dst))
                               for dst in sorted(entered))
        read = {src for _, src, _ in self.edges}
        self.pre0 = self.pre1 = None
        if 0 in read or not self.skip_unused_inputs:
            if reduction_prev:
                self.pre0 = FactorizedReduce(channels, 2, True, in_channels=prev_prev_channels,
                                             name="pre0")
            else:
                self.pre0 = ReLUConvBN(channels, 1, True, in_channels=prev_prev_channels,
                                       name="pre0")
        if 1 in read or not self.skip_unused_inputs:
            self.pre1 = ReLUConvBN(channels, 1, True, in_channels=prev_channels, name="pre1")
        self.ops = [make_op(op, channels, 2 if reduction and src < 2 else 1, affine=True,
                            pool_bn=False, layer_name=f"{op}_{i}")
                    for i, (op, src, _) in enumerate(self.edges)]
        self.built = True

    @property
    def out_channels(self) -> int:
        return self.channels * len(self.concat)

    def call(self, s0, s1, drop_rate, training=False):
        states = {}
        for index, (pre, s) in enumerate(((self.pre0, s0), (self.pre1, s1))):
            if pre is not None:
                states[index] = pre(s, training=training)
        for node, incoming in self._incoming:
            total = 0
            for i in incoming:
                op = self.ops[i]
                h = op(states[self.edges[i][1]], training=training)
                if not isinstance(op, Identity):
                    h = drop_path(h, drop_rate, training)
                total = total + h
            states[node] = total
        return tf.concat([states[i] for i in self.concat], axis=-1)

    def get_config(self):
        return {**super().get_config(), "edges": [list(e) for e in self.edges],
                "concat": self.concat, "channels": self.channels,
                "prev_prev_channels": self.prev_prev_channels,
                "prev_channels": self.prev_channels, "reduction": self.reduction,
                "reduction_prev": self.reduction_prev,
                "skip_unused_inputs": self.skip_unused_inputs}


@keras.saving.register_keras_serializable(package="asap_keras")
class AuxiliaryHead(keras.layers.Layer):
    """The auxiliary classifier at 2/3 depth; its loss helps only in training.

    Args:
        num_classes: classes.
        spatial: the feature map's side at that depth (pooling adapts to small inputs).
        pool_stride: 3 for CIFAR-sized inputs, 2 for ImageNet (as in DARTS).
    """

    def __init__(self, num_classes, spatial, pool_stride=3, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        self.spatial = spatial
        self.pool_stride = pool_stride
        pool = min(5, spatial)
        self.pool = keras.layers.AveragePooling2D(pool, strides=pool_stride, padding="valid")
        pooled = (spatial - pool) // pool_stride + 1
        self.conv1 = keras.layers.Conv2D(128, 1, use_bias=False)
        self.bn1 = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
        self.conv2 = keras.layers.Conv2D(768, min(2, pooled), use_bias=False)
        self.bn2 = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
        self.classifier = keras.layers.Dense(num_classes)

    def build(self, input_shape):
        self.conv1.build((None, None, None, input_shape[-1]))
        self.bn1.build((None, None, None, 128))
        self.conv2.build((None, None, None, 128))
        self.bn2.build((None, None, None, 768))
        self.classifier.build((None, 768))
        self.built = True

    def call(self, x, training=False):
        x = self.pool(tf.nn.relu(x))
        x = tf.nn.relu(self.bn1(self.conv1(x), training=training))
        x = tf.nn.relu(self.bn2(self.conv2(x), training=training))
        return self.classifier(tf.reduce_mean(x, axis=(1, 2)))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "spatial": self.spatial, "pool_stride": self.pool_stride}


def _cross_entropy(labels, logits, smoothing=0.0):
    logits = tf.cast(logits, tf.float32)  # float16/bfloat16 under mixed precision
    num_classes = tf.shape(logits)[-1]
    targets = tf.one_hot(tf.cast(labels, tf.int32), num_classes)
    if smoothing:
        targets = targets * (1.0 - smoothing) + smoothing / tf.cast(num_classes, tf.float32)
    return tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(targets, logits))


@keras.saving.register_keras_serializable(package="asap_keras")
class EvalNetwork(FlatStepFunctions, BuiltForWorkers, keras.Model):
    """The paper's evaluation network built from a genotype alone.

    Inputs are images with values in [0, 255]; the model normalizes them with `mean` and
    `std` (per channel, on the [0, 1] scale), so an exported model needs no preprocessing.

    Args:
        genotype: the cell, as `Genotype.to_dict()`.
        num_classes: output classes.
        image_shape: `(H, W, C)` of the training images.
        channels: initial channels (CIFAR Small/Medium/Large: 36/44/50).
        layers: cells; reductions after 1/3 and 2/3 of them, channels doubled at each.
        auxiliary: attach the auxiliary tower after the 2/3 cell.
        drop_path: the largest drop-path rate (reached at the end of training).
        variant: "cifar" (one 3x3 stem) or "imagenet" (three strided 3x3 stem convolutions).
        mean, std: per-channel input statistics on the [0, 1] scale.

    A free genotype's cell may leave an input unread; a cell whose output then no built
    cell, nor the classifier or the auxiliary tower, reads is not built: `cells[i]` is None
    (`cost.live_cells`).

    Raises:
        GenotypeError: the genotype is malformed.
    """

    def __init__(self, genotype, num_classes, image_shape, channels=36, layers=20,
                 auxiliary=True, drop_path=0.2, variant="cifar", mean=None, std=None,
                 **kwargs):
        super().__init__(**kwargs)
        if isinstance(genotype, Genotype):
            genotype = genotype.to_dict()
        self.genotype = Genotype.from_dict(genotype).to_dict()
        self.num_classes = int(num_classes)
        self.image_shape = tuple(int(d) for d in image_shape)
        self.channels, self.num_layers, self.variant = channels, layers, variant
        self.auxiliary, self.max_drop_path = auxiliary, float(drop_path)
        in_ch = self.image_shape[-1]
        self.mean = [float(m) for m in (mean if mean is not None else [0.5] * in_ch)]
        self.std = [float(s) for s in (std if std is not None else [0.25] * in_ch)]
        if len(self.mean) != in_ch or len(self.std) != in_ch:
            raise GenotypeError(f"mean and std need one value per image channel ({in_ch}). "
                                f"Received: mean={self.mean}, std={self.std}")
        self.drop_path_rate = self.add_weight(name="drop_path_rate", shape=(),
                                              initializer="zeros", trainable=False)
        self._build_body()
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.accuracy_metric = keras.metrics.SparseCategoricalAccuracy(name="accuracy")
        self(tf.zeros((1, *self.image_shape)), training=False)

    def _build_body(self):
        genotype = Genotype.from_dict(self.genotype)
        c, in_ch = self.channels, self.image_shape[-1]
        side = self.image_shape[0]
        if self.variant == "imagenet":
            self.stems = [Stem(c // 2, 2, in_channels=in_ch, name="stem0a"),
                          Stem(c, 2, in_channels=c // 2, name="stem0b"),
                          Stem(c, 2, in_channels=c, name="stem1")]
            pp, p, cur, reduction_prev = c, c, c, True
            side = -(-side // 8)
        else:
            self.stems = [Stem(3 * c, 1, in_channels=in_ch, name="stem")]
            pp, p, cur, reduction_prev = 3 * c, 3 * c, c, False
        self.reduction_at = reduction_positions(self.num_layers)
        self.aux_index = 2 * self.num_layers // 3
        # A free cell may leave an input unread, so a whole cell may be read by none: it is
        # not built (None), as its weights would never train.
        built = live_cells(genotype, self.num_layers,
                           keep=(self.aux_index,) if self.auxiliary else ())
        self.cells = []
        self.aux_head = None
        for i in range(self.num_layers):
            reduction = i in self.reduction_at
            if reduction:
                cur *= 2
                side = -(-side // 2)
            kind = "reduce" if reduction else "normal"
            concat = getattr(genotype, f"{kind}_concat")
            cell = None
            if built[i]:
                cell = EvalCell(genotype.edges(kind), concat, cur, pp, p, reduction,
                                reduction_prev, skip_unused_inputs=genotype.topology == FREE,
                                name=f"cell_{i}")
            self.cells.append(cell)
            reduction_prev = reduction
            # Each cell type has its own concat, so its own output width.
            pp, p = p, cur * len(concat)
            if i == self.aux_index and self.auxiliary:
                self.aux_head = AuxiliaryHead(self.num_classes, side,
                                              2 if self.variant == "imagenet" else 3,
                                              name="auxiliary_head")
                self.aux_head.build((None, side, side, p))
        self.classifier = keras.layers.Dense(self.num_classes, name="classifier")

    def forward(self, x, training=False, with_auxiliary=True):
        """`(logits, auxiliary logits or None)`; the tower runs only in training."""
        # Images as decoded from files are uint8; the model takes any numeric dtype.
        x = (tf.cast(x, tf.float32) / 255.0 - tf.constant(self.mean)) / tf.constant(self.std)
        if self.variant == "imagenet":
            s0 = self.stems[0](x, training=training)
            s0 = self.stems[1](tf.nn.relu(s0), training=training)
            s1 = self.stems[2](tf.nn.relu(s0), training=training)
        else:
            s0 = s1 = self.stems[0](x, training=training)
        aux = None
        for i, cell in enumerate(self.cells):
            # A cell that is not built (None) is read by no built cell.
            s1_next = None if cell is None else cell(s0, s1, self.drop_path_rate, training=training)
            s0, s1 = s1, s1_next
            if i == self.aux_index and self.aux_head is not None and training and with_auxiliary:
                aux = self.aux_head(s1, training=training)
        return self.classifier(tf.reduce_mean(s1, axis=(1, 2))), aux

    def call(self, x, training=False):
        # Plain calls (inference, export endpoints) never compute the auxiliary tower.
        return self.forward(x, training, with_auxiliary=False)[0]

    def compile(self, optimizer, label_smoothing=0.1, auxiliary_weight=0.4, weight_decay=3e-4,
                grad_clip=5.0, **kwargs):
        """The paper's loss: smoothed cross-entropy plus the weighted auxiliary loss.

        Args:
            optimizer: e.g. SGD with Nesterov momentum on `PowerCosineRestarts`.
            label_smoothing: spread over all classes.
            auxiliary_weight: weight of the auxiliary tower's loss.
            weight_decay: coupled L2, added to the gradients after clipping (as DARTS).
            grad_clip: global-norm clip (0: none).
        """
        super().compile(optimizer=optimizer, **kwargs)
        self.label_smoothing = float(label_smoothing)
        self.auxiliary_weight = float(auxiliary_weight)
        self.weight_decay = float(weight_decay)
        self.grad_clip = float(grad_clip)

    def get_compile_config(self):
        # The optimizer and its schedule belong to the training run, not the saved model;
        # `asap-keras train` compiles again from its config.
        return None

    @property
    def metrics(self):
        return [self.loss_tracker, self.accuracy_metric]

    def train_step(self, data):
        x, y = data
        variables = self.trainable_variables
        with tf.GradientTape() as tape:
            logits, aux = self.forward(x, training=True)
            loss = _cross_entropy(y, logits, self.label_smoothing)
            if aux is not None and self.auxiliary_weight:
                loss += self.auxiliary_weight * _cross_entropy(y, aux, self.label_smoothing)
            scaled = precision.scale_loss(self.optimizer, loss) / num_replicas()
        grads = sum_over_replicas(tape.gradient(scaled, variables))
        grads = precision.unscale(self.optimizer, grads)  # before clipping and decay
        if self.grad_clip:
            grads = clip_by_global_norm(grads, self.grad_clip)
        decay = tf.constant(self.weight_decay, tf.float32)
        grads = [g + decay * v for g, v in zip(grads, variables)]
        apply_summed(self.optimizer, grads, variables)
        self.loss_tracker.update_state(loss)
        self.accuracy_metric.update_state(y, logits)
        return step_logs(self.metrics)

    def test_step(self, data):
        x, y = data
        logits = self(x, training=False)
        self.loss_tracker.update_state(_cross_entropy(y, logits))
        self.accuracy_metric.update_state(y, logits)
        return step_logs(self.metrics)

    def get_config(self):
        return {"genotype": self.genotype, "num_classes": self.num_classes,
                "image_shape": list(self.image_shape), "channels": self.channels,
                "layers": self.num_layers, "auxiliary": self.auxiliary,
                "drop_path": self.max_drop_path, "variant": self.variant,
                "mean": self.mean, "std": self.std, "name": self.name}


def count_parameters(model: EvalNetwork) -> int:
    """Trainable parameters of the inference network (the auxiliary tower excluded)."""
    aux = {id(v) for v in model.aux_head.trainable_variables} if model.aux_head else set()
    return int(sum(int(tf.size(v)) for v in model.trainable_variables if id(v) not in aux))
