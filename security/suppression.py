"""Small-cell suppression with complementary suppression (DESIGN §3 rule 4).

A patient count that includes patients the viewer may not see at row level is hidden when it is between 1 and
MIN_CELL_SIZE - 1. Hiding one cell is not enough when a total of its group can be computed from what is shown (a
published total, or the other cells plus a known total): the smallest other non-zero sensitive cell of that group is
hidden too, repeated until no group has exactly one hidden cell. Complementary cells are only chosen among sensitive
cells: hiding a count the viewer can compute from its own rows would protect nothing. Zero is shown: "nobody"
identifies nobody.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd


def suppression_mask(counts: Sequence[int], min_cell_size: int, sensitive: Sequence[bool],
                     groups: Iterable[Sequence[int]] = ()) -> list[bool]:
    """The cells to hide, on plain lists (the hot paths call this directly; `suppress` wraps it for frames).

    `groups`: each a list of cell positions whose total is known or derivable. Every group ends up with zero or
    at least two hidden cells; complementary cells are the smallest other non-zero sensitive cells."""
    mask = [bool(s) and 1 <= c < min_cell_size for c, s in zip(counts, sensitive)]
    groups = [list(group) for group in groups]
    changed = True
    while changed:
        changed = False
        for positions in groups:
            if sum(mask[p] for p in positions) != 1:
                continue
            candidates = [p for p in positions if not mask[p] and sensitive[p] and counts[p] > 0]
            if not candidates:
                continue  # no other sensitive non-zero cell: nothing left to combine the hidden one with
            mask[min(candidates, key=lambda p: (counts[p], p))] = True
            changed = True
    return mask


def group_positions(keys: Sequence[Sequence]) -> list[list[int]]:
    """Positions of the cells sharing each key (for `suppression_mask`): keys[i] is cell i's key in one grouping."""
    positions: dict = {}
    for index, key in enumerate(keys):
        positions.setdefault(key, []).append(index)
    return list(positions.values())


def suppress(
    frame: pd.DataFrame,
    count_column: str,
    min_cell_size: int,
    *,
    groups: Iterable[Sequence[str]] = (),
    sensitive: pd.Series | bool = True,
) -> pd.DataFrame:
    """Return a copy with `suppressed` (bool) set and `count_column` emptied (NA) where suppressed.

    `groups`: each a list of columns whose value combinations form a group whose total is known or derivable
    (for example ["client"] when a total per client is shown, or ["area"] when one area's cells across clients
    relate). Every group ends up with zero or at least two suppressed cells.
    """
    out = frame.reset_index(drop=True)
    counts = pd.to_numeric(out[count_column], errors="coerce").fillna(0).to_numpy()
    if isinstance(sensitive, pd.Series):
        eligible = sensitive.reset_index(drop=True).to_numpy(dtype=bool).tolist()
    else:
        eligible = [bool(sensitive)] * len(out)
    positions = [members for group in groups
                 for members in group_positions(list(zip(*(out[column].tolist() for column in group))))]
    mask = pd.Series(suppression_mask(counts.tolist(), min_cell_size, eligible, positions), index=out.index,
                     dtype=bool)
    out["suppressed"] = mask
    out[count_column] = pd.Series(counts, index=out.index).astype("Int64").mask(mask)
    return out


def display(value, suppressed: bool, min_cell_size: int) -> str:
    """How a count reads in a chart label or table: "<11" when suppressed."""
    if suppressed:
        return f"<{min_cell_size}"
    return f"{int(value):,}"
