"""A cell's edges at one epoch, with their ops and weights and the genotype's ops marked."""

from __future__ import annotations

from dataclasses import dataclass

from tui import state


@dataclass(frozen=True)
class OpCell:
    """One candidate op on one edge, as shown."""

    op: str
    weight: float | None  # None: logged as null (NaN or inf)
    alive: bool
    chosen: bool


@dataclass(frozen=True)
class EdgeRow:
    """One edge: its endpoints and its ops, strongest first."""

    source: int
    target: int
    ops: tuple

    @property
    def chosen(self) -> bool:
        return any(op.chosen for op in self.ops)


def chosen_ops(genotype: dict | None, cell_type: str) -> set[tuple[int, int, str]]:
    """`(source, node, op)` of each op a genotype dict keeps in one cell type.

    DARTS form: pair i feeds node i // 2 + 2. Free form (`"topology": "free"`): its
    `[op, source, node]` triples, several ops on one edge and dead nodes absent.
    """
    if not genotype:
        return set()
    cell = genotype.get(cell_type) or []
    if genotype.get("topology") == "free":
        return {(int(src), int(dst), str(op)) for op, src, dst in cell}
    return {(int(src), 2 + i // 2, str(op)) for i, (op, src) in enumerate(cell)}


def snapshot(view: state.RunView, epoch: int | None = None) -> state.CellSnapshot | None:
    """The op weights and masks of `epoch` (None: the latest epoch's)."""
    if epoch is None:
        return state.CellSnapshot(view.ops, view.phi, view.alive, view.relaxation)
    return view.history.get(epoch)


def genotype_at(view: state.RunView, epoch: int | None = None) -> dict | None:
    """The genotype derived at `epoch` (or the latest one before it; None: the latest)."""
    if epoch is None:
        return view.genotype
    earlier = [e for e in view.genotypes if e <= epoch]
    return view.genotypes[max(earlier)] if earlier else None


def concat_nodes(genotype: dict | None, cell_type: str) -> list | None:
    """The nodes a genotype joins into the cell's output (None: no genotype, all of them)."""
    if not genotype or not isinstance(genotype.get(f"{cell_type}_concat"), list):
        return None
    return [int(n) for n in genotype[f"{cell_type}_concat"]]


def edge_rows(view: state.RunView, cell_type: str, epoch: int | None = None) -> list[EdgeRow]:
    """The edges of `cell_type` at `epoch` (None: the latest), the genotype's ops marked."""
    shot = snapshot(view, epoch)
    phi = shot.phi.get(cell_type) if shot else None
    alive = shot.alive.get(cell_type) if shot else None
    if not phi or not alive:
        return []
    chosen = chosen_ops(genotype_at(view, epoch), cell_type)
    rows = []
    for e, (src, dst) in enumerate(state.edge_endpoints(min(len(phi), len(alive)))):
        ops = [OpCell(name, weight, bool(on), (src, dst, name) in chosen)
               for name, weight, on in zip(shot.ops, phi[e], alive[e])]
        ops.sort(key=lambda o: (not o.alive, o.weight is None, -(o.weight or 0.0)))
        rows.append(EdgeRow(src, dst, tuple(ops)))
    return rows
