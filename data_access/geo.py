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
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
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
        """The indexed points within `radius_m` of any of the query points (sorted positions, each once)."""
        hits = self.tree.query_ball_point(unit_vectors(lat, lon), r=chord_of(radius_m))
        found = [np.asarray(h, dtype=np.int64) for h in hits]
        return np.unique(np.concatenate(found)) if found else np.array([], dtype=np.int64)


def dbscan(lat, lon, radius_m: float, min_samples: int) -> np.ndarray:
    """DBSCAN by great-circle distance; the labels scikit-learn's DBSCAN(metric="haversine") gives.

    A core point has at least `min_samples` points (itself included) within `radius_m`; clusters are the connected
    groups of core points, numbered in the order of their first point; a border point joins the lowest-numbered
    cluster among its core neighbours (the first to reach it when clusters are grown in that order); the rest is
    noise (-1).
    """
    points = unit_vectors(lat, lon)
    n = len(points)
    labels = np.full(n, -1, dtype=np.int64)
    if n == 0:
        return labels
    pairs = cKDTree(points).query_pairs(r=chord_of(radius_m), output_type="ndarray")
    first, second = pairs[:, 0], pairs[:, 1]
    core = 1 + np.bincount(first, minlength=n) + np.bincount(second, minlength=n) >= min_samples
    if not core.any():
        return labels
    linked = core[first] & core[second]
    graph = coo_matrix((np.ones(int(linked.sum()), dtype=np.int8), (first[linked], second[linked])), shape=(n, n))
    _, component = connected_components(graph, directed=False)
    core_positions = np.flatnonzero(core)
    # number the clusters by their first core point (connected_components numbers them its own way)
    found, first_seen = np.unique(component[core_positions], return_index=True)
    number = np.empty(component.max() + 1, dtype=np.int64)
    number[found[np.argsort(first_seen)]] = np.arange(len(found))
    labels[core_positions] = number[component[core_positions]]
    # border points: the lowest cluster number among their core neighbours
    border_pairs = np.concatenate([
        np.column_stack([second, first])[core[first] & ~core[second]],
        np.column_stack([first, second])[core[second] & ~core[first]],
    ])
    if len(border_pairs):
        best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best, border_pairs[:, 0], labels[border_pairs[:, 1]])
        border = best != np.iinfo(np.int64).max
        labels[border] = best[border]
    return labels


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
