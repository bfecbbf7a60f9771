"""`asap-keras search --dry-run`: what a search would do, without training."""

from __future__ import annotations

from asap_keras import config as config_lib
from asap_keras.space.primitives import op_set


def grace_epochs(method, epochs: int) -> int:
    """Leading epochs without architecture steps, as the method schedules them."""
    count = 0
    for epoch in range(epochs):
        if method.epoch_schedule(epoch).arch_steps:
            break
        count += 1
    return count


def describe_search(cfg: config_lib.Config) -> str:
    """The resolved config (TOML) followed by the search's shape as `# key: value` lines:
    data, steps per epoch, grace epochs, the supernet's parameters and multiply-adds.

    Reads the data (to know its size and shape) and builds the supernet (to count its
    parameters); traces nothing, trains nothing and writes no run directory.
    """
    from asap_keras.data.search_split import SearchData
    from asap_keras.data.sources import ImageSet, load_images
    from asap_keras.search.resource import Geometry, supernet_cost
    from asap_keras.search.runner import make_search_method
    from asap_keras.space.network import SearchNetwork

    d = cfg.data
    images = load_images(d.source, d.name, d.root, d.data_dir, d.image_size, d.limit,
                         cfg.run.seed, d.split, d.download, d.stream, d.memory_mb)
    method = make_search_method(cfg)
    data = SearchData(images, d.batch_size, d.val_fraction, cfg.run.seed, d.augment,
                      one_level=method.levels == "one", shuffle_block=d.shuffle_block)
    space = cfg.space
    ops = op_set(space.ops)
    network = SearchNetwork(data.num_classes, data.image_shape[-1], ops, space.channels,
                            space.cells, space.nodes, space.stem_multiplier,
                            temperature=cfg.search.anneal.t0, relaxation=method.relaxation,
                            name="supernet")
    arch = {id(v) for v in network.arch.weights}
    weights = sum(int(v.numpy().size) for v in network.weights if id(v) not in arch)
    alphas = sum(int(v.numpy().size) for v in network.arch.alpha_variables)
    cost = supernet_cost(Geometry.of(network, data.image_shape))
    every_op = {t: [[1] * len(ops)] * len(network.arch.masks[t].numpy())
                for t in network.cell_types}
    lines = [
        f"method: {cfg.search.method} ({method.levels}-level, {method.relaxation} op weights)",
        f"data: {images.count} images {tuple(data.image_shape)}"
        f"{' (streamed from disk)' if not isinstance(images, ImageSet) else ''}, "
        f"{data.num_classes} classes",
        f"steps per epoch: {data.steps_per_epoch} (batch {d.batch_size})",
        f"epochs: at most {cfg.search.epochs}, grace epochs: "
        f"{grace_epochs(method, cfg.search.epochs)}",
        f"supernet: {space.cells} cells, {len(ops)} candidate ops per edge, "
        f"{network.total_op_count()} ops in all",
        f"supernet parameters: {weights:,} weights + {alphas:,} architecture parameters",
        f"supernet multiply-adds per image: {cost.madds(every_op) / 1e6:,.2f} M",
    ]
    return (config_lib.dump_config(cfg).rstrip() + "\n\n"
            + "\n".join(f"# {line}" for line in lines) + "\n")
