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


def primary_mask(counts: pd.Series, min_cell_size: int, sensitive: pd.Series | bool = True) -> pd.Series:
    """Cells to hide on their own merit: sensitive counts in 1..min_cell_size-1."""
    small = (counts >= 1) & (counts < min_cell_size)
    return small & sensitive


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
        sensitive = sensitive.reset_index(drop=True)
    mask = primary_mask(pd.Series(counts), min_cell_size, sensitive).to_numpy(dtype=bool).copy()
    eligible = (pd.Series(sensitive, index=out.index) if not isinstance(sensitive, pd.Series)
                else sensitive).to_numpy(dtype=bool)
    groups = [list(group) for group in groups]
    # Positions of the cells of every group, computed once.
    members_of = [positions for group in groups
                  for positions in out.groupby(group, sort=False, dropna=False).indices.values()]
    changed = True
    while changed:
        changed = False
        for positions in members_of:
            hidden = mask[positions]
            if hidden.sum() != 1:
                continue
            candidates = [p for p in positions if not mask[p] and eligible[p] and counts[p] > 0]
            if not candidates:
                continue  # no other sensitive non-zero cell: nothing left to combine the hidden one with
            mask[min(candidates, key=lambda p: (counts[p], p))] = True
            changed = True
    mask = pd.Series(mask, index=out.index)
    out["suppressed"] = mask.astype(bool)
    out[count_column] = pd.Series(counts, index=out.index).astype("Int64").mask(mask)
    return out


def display(value, suppressed: bool, min_cell_size: int) -> str:
    """How a count reads in a chart label or table: "<11" when suppressed."""
    if suppressed:
        return f"<{min_cell_size}"
    return f"{int(value):,}"
