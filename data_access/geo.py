"""Geometry for the management analytics: great-circle distances, neighbour search and density clustering on the
sphere, and hexagonal binning.

Neighbour search works on points of the unit sphere in a k-d tree: the straight-line (chord) distance between two
such points grows with their great-circle distance, so "nearest" and "within r metres" are exact with the chord
of r. This needs only scipy.spatial, not scikit-learn (whose haversine BallTree and DBSCAN cost every worker 50 MB
and a second to import).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lat1, lon1, lat2, lon2):
    """Great-circle distance in metres (mean Earth radius)."""
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def unit_vectors(lat, lon) -> np.ndarray:
    """Points on the unit sphere, one row (x, y, z) per latitude/longitude in degrees."""
    lat, lon = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)]).reshape(-1, 3)


def chord_of(metres: float) -> float:
    """The chord of the unit sphere under a great-circle distance of `metres`."""
    return 2 * math.sin(min(metres / EARTH_RADIUS_M, math.pi) / 2)


def metres_of(chord) -> np.ndarray:
    """The great-circle distance in metres of chords of the unit sphere (inverse of `chord_of`)."""
    return 2 * EARTH_RADIUS_M * np.arcsin(np.clip(np.asarray(chord, dtype=float) / 2, 0, 1))


class SphereIndex:
    """Great-circle nearest-neighbour and radius queries over a fixed set of points."""

    def __init__(self, lat, lon):
        self.tree = cKDTree(unit_vectors(lat, lon))

    def nearest_m(self, lat, lon) -> np.ndarray:
        """Distance in metres from each query point to the nearest indexed point."""
        chord, _ = self.tree.query(unit_vectors(lat, lon), k=1)
        return metres_of(chord)

    def within(self, lat, lon, radius_m: float) -> np.ndarray:
        """The indexed points within `radius_m` of any of the query points (sorted positions, each once).

        Asked of the indexed points near the query points' box, each for its nearest query point: the work grows
        with the points near the box, not with every (query, indexed) pair within reach (a dense cluster of 15,000
        homes next to 20,000 client homes held tens of millions of such pairs at 100x the real data)."""
        query = unit_vectors(lat, lon)
        reach = chord_of(radius_m)
        if not len(query) or not self.tree.n:
            return np.array([], dtype=np.int64)
        indexed = self.tree.data
        near_box = np.flatnonzero(((indexed >= query.min(axis=0) - reach) &
                                   (indexed <= query.max(axis=0) + reach)).all(axis=1))
        if not len(near_box):
            return near_box.astype(np.int64)
        chord, _ = cKDTree(query).query(indexed[near_box], k=1, distance_upper_bound=np.nextafter(reach, 2))
        return near_box[chord <= reach].astype(np.int64)


def dbscan(lat, lon, radius_m: float, min_samples: int) -> np.ndarray:
    """DBSCAN by great-circle distance; the labels scikit-learn's DBSCAN(metric="haversine") gives.

    A core point has at least `min_samples` points (itself included) within `radius_m`; clusters are the connected
    groups of core points, numbered in the order of their first point; a border point joins the lowest-numbered
    cluster among its core neighbours (the first to reach it when clusters are grown in that order); the rest is
    noise (-1).

    Worked on a grid of cubes (`_Grid`) rather than on every pair of points within reach: homes come in dense
    groups, and at 100x the real data a 1,000 m radius joined 35 million pairs (a worker peaked at 2.1 GB, 5-9 s
    of clustering) where the grid has 366 cubes to settle (0.1 s).
    """
    points = unit_vectors(lat, lon)
    labels = np.full(len(points), -1, dtype=np.int64)
    if not len(points):
        return labels
    reach = chord_of(radius_m)
    grid = _Grid(points, reach)
    # A point whose cube holds min_samples points is core; only the others are counted one by one.
    core = grid.size_of_cell[grid.cell] >= min_samples
    unsure = np.flatnonzero(~core)
    if len(unsure):
        tree = cKDTree(points)
        core[unsure] = tree.query_ball_point(points[unsure], reach, return_length=True) >= min_samples
    core_positions = np.flatnonzero(core)
    if not len(core_positions):
        return labels
    component = grid.core_components(core)[grid.cell[core_positions]]
    # number the clusters by their first core point (the components come numbered their own way)
    found, first_seen = np.unique(component, return_index=True)
    number = np.empty(component.max() + 1, dtype=np.int64)
    number[found[np.argsort(first_seen)]] = np.arange(len(found))
    labels[core_positions] = number[component]
    # border points: the lowest cluster number among their core neighbours (fewer than min_samples each)
    others = np.flatnonzero(~core)
    if len(others):
        pairs = cKDTree(points[others]).sparse_distance_matrix(
            cKDTree(points[core_positions]), reach, output_type="ndarray")
        if len(pairs):
            best = np.full(len(others), np.iinfo(np.int64).max, dtype=np.int64)
            np.minimum.at(best, pairs["i"], labels[core_positions][pairs["j"]])
            border = best != np.iinfo(np.int64).max
            labels[others[border]] = best[border]
    return labels


class _Grid:
    """Points of the unit sphere in cubes whose diagonal is (just under) `reach`: any two points of one cube are
    within reach of each other, so a cube's core points are connected without looking at their pairs, and two
    cubes can only be connected if no more than one cube lies between them on any axis."""

    # room for cube coordinates on each of the three axes in one int64 key
    BITS = 21

    def __init__(self, points: np.ndarray, reach: float):
        self.points, self.reach = points, reach
        # a hair under reach / sqrt(3), so that rounding never puts two points of one cube out of reach
        side = reach / math.sqrt(3) * (1 - 1e-9)
        coordinates = np.floor(points / side).astype(np.int64)
        coordinates -= coordinates.min(axis=0) - 2
        if coordinates.max() >= (1 << self.BITS) - 2:
            raise ValueError(f"radius too small for the clustering grid ({reach!r} of the unit sphere)")
        keys = self._key(coordinates)
        self.keys, self.cell, self.size_of_cell = np.unique(keys, return_inverse=True, return_counts=True)
        self.cell = self.cell.reshape(-1)

    @classmethod
    def _key(cls, coordinates) -> np.ndarray:
        coordinates = np.asarray(coordinates, dtype=np.int64)
        return (coordinates[..., 0] << (2 * cls.BITS)) | (coordinates[..., 1] << cls.BITS) | coordinates[..., 2]

    def core_components(self, core: np.ndarray) -> np.ndarray:
        """The connected component of each cube (numbered from 0; cubes without core points get one each)."""
        count = len(self.keys)
        core_cells = np.unique(self.cell[core])
        members = np.flatnonzero(core)
        members = members[np.argsort(self.cell[members], kind="stable")]
        bounds = np.searchsorted(self.cell[members], np.arange(count + 1))
        firsts, seconds = [], []
        for offset in _OFFSETS:
            # keys are linear in the coordinates, which stay in range (see __init__)
            shift = (offset[0] << (2 * self.BITS)) + (offset[1] << self.BITS) + offset[2]
            position = np.searchsorted(self.keys, self.keys[core_cells] + shift)
            position = np.minimum(position, count - 1)
            hit = (self.keys[position] == self.keys[core_cells] + shift)
            hit &= np.isin(position, core_cells)
            firsts.append(core_cells[hit])
            seconds.append(position[hit])
        first, second = np.concatenate(firsts), np.concatenate(seconds)
        parent = np.arange(count)

        def root(cell: int) -> int:
            while parent[cell] != cell:
                parent[cell] = parent[parent[cell]]
                cell = parent[cell]
            return cell

        small = (bounds[first + 1] - bounds[first]) * (bounds[second + 1] - bounds[second]) <= SMALL_PAIR_POINTS
        joined = self._touching_small(first[small], second[small], members, bounds)
        for a, b in zip(first[small][joined].tolist(), second[small][joined].tolist()):
            parent[root(a)] = root(b)
        for a, b in zip(first[~small].tolist(), second[~small].tolist()):
            ra, rb = root(a), root(b)
            if ra != rb and self._touching(members[bounds[a]:bounds[a + 1]], members[bounds[b]:bounds[b + 1]]):
                parent[ra] = rb
        return np.array([root(cell) for cell in range(count)], dtype=np.int64)

    def _touching_small(self, first, second, members, bounds) -> np.ndarray:
        """For cube pairs with few core points: whether any core point of one is within reach of one of the other,
        all pairs of points at once."""
        if not len(first):
            return np.zeros(0, dtype=bool)
        a_count = bounds[first + 1] - bounds[first]
        b_count = bounds[second + 1] - bounds[second]
        pair_of = np.repeat(np.arange(len(first)), a_count * b_count)
        within_pair = np.arange(len(pair_of)) - np.repeat(np.cumsum(a_count * b_count) - a_count * b_count,
                                                          a_count * b_count)
        a_point = members[bounds[first][pair_of] + within_pair // b_count[pair_of]]
        b_point = members[bounds[second][pair_of] + within_pair % b_count[pair_of]]
        close = np.linalg.norm(self.points[a_point] - self.points[b_point], axis=1) <= self.reach
        return np.bincount(pair_of[close], minlength=len(first)) > 0

    def _touching(self, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether any point of `a` is within reach of a point of `b` (positions), asked only of the points of
        each near the other's box."""
        pa, pb = self.points[a], self.points[b]
        pa = pa[((pa >= pb.min(axis=0) - self.reach) & (pa <= pb.max(axis=0) + self.reach)).all(axis=1)]
        if not len(pa):
            return False
        pb = pb[((pb >= pa.min(axis=0) - self.reach) & (pb <= pa.max(axis=0) + self.reach)).all(axis=1)]
        if not len(pb):
            return False
        chord, _ = cKDTree(pb).query(pa, k=1, distance_upper_bound=np.nextafter(self.reach, 2))
        return bool((chord <= self.reach).any())


# Cube pairs holding at most this many pairs of core points are compared point by point, all at once.
SMALL_PAIR_POINTS = 64
# Neighbour cubes worth a look: offsets of at most 2 on each axis (their nearest corners lie within one diagonal,
# that of a cube of side reach / sqrt(3)), each pair of cubes once (the offsets above zero), nearest first so that
# most cubes are joined before the farther pairs come up.
_OFFSETS = sorted((tuple(int(v) for v in o) for o in np.array(list(np.ndindex(5, 5, 5))) - 2 if tuple(o) > (0, 0, 0)),
                  key=lambda o: sum(max(abs(v) - 1, 0) ** 2 for v in o))


# Latitude of the local plane the hexagons are laid on: fixed, so that cells are the same in every request.
REFERENCE_LAT = 42.36
_M_PER_DEG_LAT = 111_320.0


def _m_per_deg_lon() -> float:
    return _M_PER_DEG_LAT * math.cos(math.radians(REFERENCE_LAT))


def hex_cells(lat, lon, size_m: float) -> pd.DataFrame:
    """The flat-top hexagon (axial q, r; `size_m` centre to corner) holding each point."""
    x = np.asarray(lon, dtype=float) * _m_per_deg_lon() / size_m
    y = np.asarray(lat, dtype=float) * _M_PER_DEG_LAT / size_m
    cx = (2 / 3) * x
    cz = (-1 / 3) * x + (math.sqrt(3) / 3) * y
    cy = -cx - cz
    rx, ry, rz = np.round(cx), np.round(cy), np.round(cz)
    dx, dy, dz = np.abs(rx - cx), np.abs(ry - cy), np.abs(rz - cz)
    fix_x = (dx > dy) & (dx > dz)
    fix_z = ~fix_x & ~(dy > dz)
    rx = np.where(fix_x, -ry - rz, rx)
    rz = np.where(fix_z, -rx - ry, rz)
    return pd.DataFrame({"q": rx.astype(int), "r": rz.astype(int)})


def hex_centres(cells: pd.DataFrame, size_m: float) -> pd.DataFrame:
    """Latitude and longitude of the centres of `cells` (columns q, r)."""
    x = 1.5 * cells["q"].to_numpy()
    y = math.sqrt(3) * (cells["r"].to_numpy() + cells["q"].to_numpy() / 2)
    return pd.DataFrame({"lat": y * size_m / _M_PER_DEG_LAT, "lon": x * size_m / _m_per_deg_lon()},
                        index=cells.index)
