"""Hand-written event logs of GOLD, NAP and an ASAP search from before either existed.

Small on purpose (2 ops, 1 node: 2 edges per cell type), so each test can state what the
monitor must show from the numbers written here, not from the monitor's own arithmetic.
"""

import json

T0 = 1_800_000_000.0
OPS = ["sep_conv_3x3", "skip_connect"]


def line(kind: str, when: float, **fields) -> str:
    """One event line as the search writes it (schema version 1), without a newline."""
    return json.dumps({"v": 1, "kind": kind, "time": when, **fields})


def run_start(method: str, epochs: int) -> str:
    return line("run_start", T0, run=f"{method}-run", seed=1, start_epoch=0, versions={},
                config={"search": {"method": method, "epochs": epochs}})


def free(*triples) -> dict:
    return {"topology": "free", "nodes": 1, "normal": [list(t) for t in triples],
            "normal_concat": [2], "reduce": [["sep_conv_3x3", 0, 2]], "reduce_concat": [2]}


def epoch(e: int, phi: dict, alive: dict, **fields) -> str:
    """An `epoch` event; `fields` add to or replace the defaults below."""
    record = dict(epoch=e, temperature=1.0, threshold=0.05, grace=False, sparsity=0.25,
                  entropy={}, ops=OPS, phi=phi, alive=alive,
                  metrics={"loss": 1.0 - 0.1 * e, "val_accuracy": 0.5 + 0.1 * e},
                  epoch_seconds=10.0, live_ops=6, total_ops=8)
    record.update(fields)
    return line("epoch", T0 + 10 * (e + 1), **record)


def run_end(e: int) -> str:
    return line("run_end", T0 + 10 * (e + 2), status="finished", epoch=e, reason="epoch_cap")


# GOLD's records: (multiply-adds, val accuracy, genotype, entered, front size after it).
# By hand: epoch 1 dominates epoch 0 (as cheap, more accurate); 3 is dominated by 2
# (cheaper and more accurate); 5 by 4 (cheaper, as accurate). The front: epochs 4, 2, 1.
GOLD_RECORDS = [
    (400_000, 0.30, free(("sep_conv_3x3", 0, 2), ("skip_connect", 1, 2)), True, 1),
    (400_000, 0.60, free(("sep_conv_3x3", 0, 2), ("sep_conv_3x3", 1, 2)), True, 1),
    (300_000, 0.50, free(("sep_conv_3x3", 1, 2)), True, 2),
    (350_000, 0.40, free(("skip_connect", 0, 2), ("sep_conv_3x3", 1, 2)), False, 2),
    (200_000, 0.45, free(("skip_connect", 1, 2)), True, 3),
    (250_000, 0.45, free(("skip_connect", 0, 2)), False, 3),
]
GOLD_FRONT = [(200_000, 0.45), (300_000, 0.50), (400_000, 0.60)]
GOLD_DOMINATED = [(400_000, 0.30), (350_000, 0.40), (250_000, 0.45)]
GOLD_LAMBDA = [0.0, 0.0, 1e-5, 3e-5, 7e-5, 3.5e-5]
GOLD_MADDS = [500_000, 480_000, 450_000, 420_000, 400_000, 380_000]
# Gates of the last epoch: normal edge 0 keeps both ops, edge 1 lost sep3.
GATES = {"normal": [[0.75, 0.5], [0.0, 0.625]], "reduce": [[0.875, 0.25], [0.5, 0.5]]}
GATES_ALIVE = {"normal": [[1, 1], [0, 1]], "reduce": [[1, 1], [1, 1]]}


def gold_lines() -> list[str]:
    """Six GOLD epochs, each with its `pareto` record before its `epoch` event."""
    lines = [run_start("gold", len(GOLD_RECORDS))]
    for e, (madds, accuracy, genotype, entered, size) in enumerate(GOLD_RECORDS):
        lines.append(line("pareto", T0 + 10 * (e + 1) - 1, epoch=e, genotype=genotype,
                          multiply_adds=madds, params=madds // 10, val_accuracy=accuracy,
                          entered=entered, front_size=size, stable_epochs=1, stable=False))
        lines.append(epoch(e, GATES, GATES_ALIVE, relaxation="sigmoid",
                           weight_entropy={"normal": 0.9 - 0.1 * e, "reduce": 0.8},
                           supernet_madds=GOLD_MADDS[e], **{"lambda": GOLD_LAMBDA[e]}))
        lines.append(line("genotype", T0 + 10 * (e + 1), epoch=e, genotype=genotype))
    return lines + [run_end(len(GOLD_RECORDS) - 1)]


# NAP's alphas are its op strengths: negative, or above 1. Edge 1 of normal lost sep3.
ALPHAS = {"normal": [[2.5, -0.75], [0.0, 1.25]], "reduce": [[-0.5, 0.25], [0.0, 0.0]]}
ALPHAS_ALIVE = {"normal": [[1, 1], [0, 1]], "reduce": [[1, 1], [1, 0]]}
# Epoch 2's reduce entropy is null: every op of an edge pruned leaves it undefined.
NAP_WEIGHT_ENTROPY = [{"normal": 0.9, "reduce": 0.8}, {"normal": 0.6, "reduce": 0.7},
                      {"normal": 0.3, "reduce": None}]
NAP_MADDS = [400_000, 300_000, 150_000]


def nap_lines() -> list[str]:
    lines = [run_start("nap", 3)]
    for e in range(3):
        lines.append(epoch(e, ALPHAS, ALPHAS_ALIVE, relaxation="identity", threshold=0.0,
                           weight_entropy=NAP_WEIGHT_ENTROPY[e], supernet_madds=NAP_MADDS[e]))
        lines.append(line("genotype", T0 + 10 * (e + 1), epoch=e,
                          genotype=free(("sep_conv_3x3", 0, 2), ("skip_connect", 1, 2))))
    return lines + [run_end(2)]


# A version-1 ASAP log from before GOLD and NAP: no relaxation, weight_entropy,
# supernet_madds or lambda; Phi sums to 1 over each edge's alive ops.
PHI = {"normal": [[0.75, 0.25], [0.0, 1.0]], "reduce": [[0.5, 0.5], [0.375, 0.625]]}
PHI_ALIVE = {"normal": [[1, 1], [0, 1]], "reduce": [[1, 1], [1, 1]]}
OLD_ENTROPY = [{"normal": 1.0, "reduce": 1.0}, {"normal": 0.5, "reduce": 0.75}]
OLD_TEMPERATURE = [1.3, 0.65]
DARTS = {"normal": [["sep_conv_3x3", 0], ["skip_connect", 1]], "normal_concat": [2],
         "reduce": [["sep_conv_3x3", 0], ["skip_connect", 1]], "reduce_concat": [2]}


def old_asap_lines() -> list[str]:
    lines = [run_start("asap", 4)]
    for e in range(2):
        lines.append(epoch(e, PHI, PHI_ALIVE, temperature=OLD_TEMPERATURE[e],
                           entropy=OLD_ENTROPY[e], threshold=0.2))
        lines.append(line("genotype", T0 + 10 * (e + 1), epoch=e, genotype=DARTS))
    return lines + [run_end(1)]


def write_run(directory, lines: list[str]):
    """A run directory holding `lines` as its events.jsonl; returns its path."""
    directory.mkdir(parents=True)
    (directory / "events.jsonl").write_text("".join(text + "\n" for text in lines))
    (directory / "run.json").write_text("{}")
    return directory
